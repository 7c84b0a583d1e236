from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.legal import LEGAL_ENV
from tremma.env import ImproperEnvironment, env_bool, env_int, env_list, env_url

ROOT = Path(__file__).resolve().parent.parent


def test_env_bool_reads_usual_spellings_and_refuses_others() -> None:
    assert env_bool("X", environ={"X": "Yes"}) is True
    assert env_bool("X", environ={"X": "0"}) is False
    assert env_bool("X", default=True, environ={}) is True
    with pytest.raises(ImproperEnvironment, match="X must be one of"):
        env_bool("X", environ={"X": "maybe"})


def test_env_int_refuses_non_integers_and_out_of_range_values() -> None:
    assert env_int("N", 5, environ={}) == 5
    assert env_int("N", 5, environ={"N": "7"}) == 7
    with pytest.raises(ImproperEnvironment, match="integer"):
        env_int("N", 5, environ={"N": "7.5"})
    with pytest.raises(ImproperEnvironment, match="at least 1"):
        env_int("N", 5, minimum=1, environ={"N": "0"})


def test_env_list_and_url() -> None:
    assert env_list("L", ["a"], environ={"L": " x, y ,,"}) == ["x", "y"]
    assert env_url("U", environ={"U": "https://tremma.example/"}) == "https://tremma.example"
    with pytest.raises(ImproperEnvironment):
        env_url("U", environ={"U": "tremma.example"})
    with pytest.raises(ImproperEnvironment):
        env_url("U", schemes=("redis",), environ={"U": "http://127.0.0.1:6379"})


def _load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    ours = {
        "SECRET_KEY",
        "DEBUG",
        "PAYMENTS_DEMO",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_CONNECT_WEBHOOK_SECRET",
    }
    clean = {key: value for key, value in os.environ.items() if key not in ours}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import tremma.settings as s; print(s.DEBUG, s.PAYMENT_GATEWAY)"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_settings_refuse_to_start_without_secret_key_outside_debug() -> None:
    result = _load_settings()
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_debug_is_off_unless_asked_for() -> None:
    result = _load_settings(SECRET_KEY="x" * 60, PAYMENTS_DEMO="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "demo"]


def test_a_typo_in_a_variable_stops_start_up() -> None:
    result = _load_settings(SECRET_KEY="x" * 60, DEBUG="ture")
    assert result.returncode != 0
    assert "DEBUG must be one of" in result.stderr


def test_stripe_key_without_webhook_secret_is_refused() -> None:
    result = _load_settings(SECRET_KEY="x" * 60, STRIPE_SECRET_KEY="sk_test_x", STRIPE_WEBHOOK_SECRET="")
    assert result.returncode != 0
    assert "STRIPE_WEBHOOK_SECRET" in result.stderr


def test_stripe_key_without_connect_webhook_secret_is_refused() -> None:
    result = _load_settings(
        SECRET_KEY="x" * 60,
        STRIPE_SECRET_KEY="sk_test_x",
        STRIPE_WEBHOOK_SECRET="whsec_platform",
        STRIPE_CONNECT_WEBHOOK_SECRET="",
    )
    assert result.returncode != 0
    assert "STRIPE_CONNECT_WEBHOOK_SECRET must be set" in result.stderr


def test_the_connect_endpoint_secret_must_differ_from_the_platform_endpoints() -> None:
    result = _load_settings(
        SECRET_KEY="x" * 60,
        STRIPE_SECRET_KEY="sk_test_x",
        STRIPE_WEBHOOK_SECRET="whsec_same",
        STRIPE_CONNECT_WEBHOOK_SECRET="whsec_same",
    )
    assert result.returncode != 0
    assert "STRIPE_CONNECT_WEBHOOK_SECRET must differ" in result.stderr


def test_stripe_starts_with_both_endpoint_secrets() -> None:
    result = _load_settings(
        SECRET_KEY="x" * 60,
        STRIPE_SECRET_KEY="sk_test_x",
        STRIPE_WEBHOOK_SECRET="whsec_platform",
        STRIPE_CONNECT_WEBHOOK_SECRET="whsec_connect",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "stripe"]


def test_deploy_check_is_clean_with_production_settings() -> None:
    skip = {"DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE", "PAYMENTS_DEMO"}
    env = {key: value for key, value in os.environ.items() if key not in skip}
    env.update(
        SECRET_KEY="a-long-random-production-like-secret-key-4f8e2b1c9d7a6e5f3b2a1c0d",
        STRIPE_SECRET_KEY="sk_test_deploy_check",
        STRIPE_WEBHOOK_SECRET="whsec_deploy_check",
        STRIPE_CONNECT_WEBHOOK_SECRET="whsec_deploy_check_connect",
        SITE_URL="https://tremma.example",
        ALLOWED_HOSTS="tremma.example",
        CSRF_TRUSTED_ORIGINS="https://tremma.example",
        SECURE_HSTS_PRELOAD="true",
        **LEGAL_ENV,  # the operator's legal details: unset, the deploy check warns (tests/test_legal_pages.py)
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_body_limits_are_the_ones_the_environment_sets() -> None:
    """DATA_UPLOAD_MAX_MEMORY_SIZE comes from the environment (README's settings table) and nothing overrides it."""
    script = "import tremma.settings as s; print(s.DATA_UPLOAD_MAX_MEMORY_SIZE, s.FILE_UPLOAD_MAX_MEMORY_SIZE)"
    env = {**os.environ, "DEBUG": "true", "DATA_UPLOAD_MAX_MEMORY_SIZE": "131072"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split() == ["131072", str(1024 * 1024)], result.stderr
