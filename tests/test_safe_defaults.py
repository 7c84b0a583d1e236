"""Safe defaults for operators: no real payment is ever faked by accident.

Outside DEBUG the demo gateway runs only with PAYMENTS_DEMO=true, every page
then says so, and the deploy check fails; `make demo` asks for it by name, with
DEBUG off and a secret key of its own."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import ERROR, run_checks
from django.test import Client
from rest_framework.test import APIClient

from payments.checks import DEMO_GATEWAY_ON
from tests.factories import ItemFactory, WindowFactory

ROOT = Path(__file__).resolve().parent.parent
BANNER_FR = "Démonstration : aucun paiement réel"
BANNER_EN = "Demo: no real payment"
# What a deployment sets; each test adds its payment settings.
PRODUCTION = {
    "SECRET_KEY": "a-long-random-production-like-secret-key-4f8e2b1c9d7a6e5f3b2a1c0d",
    "SITE_URL": "https://tremma.example",
    "ALLOWED_HOSTS": "tremma.example",
    "CSRF_TRUSTED_ORIGINS": "https://tremma.example",
    "SECURE_HSTS_PRELOAD": "true",
}
STRIPE = {
    "STRIPE_SECRET_KEY": "sk_test_safe_defaults",
    "STRIPE_WEBHOOK_SECRET": "whsec_safe_defaults",
    "STRIPE_CONNECT_WEBHOOK_SECRET": "whsec_safe_defaults_connect",
}


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python *args`` in a fresh process whose payment and debug settings are exactly ``env``."""
    ours = {
        "DEBUG",
        "PAYMENTS_DEMO",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_CONNECT_WEBHOOK_SECRET",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    }
    clean = {key: value for key, value in os.environ.items() if key not in ours}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**clean, **PRODUCTION, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- Start-up and the deploy check -------------------------------------------


def test_without_a_stripe_key_or_payments_demo_the_server_refuses_to_start() -> None:
    result = run("manage.py", "check")

    assert result.returncode != 0
    assert "STRIPE_SECRET_KEY must be set" in result.stderr and "PAYMENTS_DEMO=true" in result.stderr


def test_with_payments_demo_the_server_starts_but_the_deploy_check_fails_with_our_error() -> None:
    started = run("manage.py", "check", PAYMENTS_DEMO="true")
    deploy = run("manage.py", "check", "--deploy", PAYMENTS_DEMO="true")

    assert started.returncode == 0, started.stderr
    assert deploy.returncode != 0
    assert f"({DEMO_GATEWAY_ON}) The demo payment gateway is on" in deploy.stderr


def test_payments_demo_together_with_a_stripe_key_is_refused_as_ambiguous() -> None:
    result = run("-c", "import tremma.settings", PAYMENTS_DEMO="true", **STRIPE)

    assert result.returncode != 0
    assert "PAYMENTS_DEMO=true and STRIPE_SECRET_KEY are both set" in result.stderr


def test_with_debug_the_demo_gateway_needs_no_flag_for_local_runs() -> None:
    result = run("-c", "import tremma.settings as s; print(s.PAYMENT_GATEWAY)", DEBUG="true")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "demo"


def test_the_deploy_check_reports_the_demo_gateway_as_an_error_and_stripe_as_nothing(settings: Any) -> None:
    def ours() -> list[Any]:
        return [m for m in run_checks(include_deployment_checks=True) if m.id == DEMO_GATEWAY_ON]

    settings.PAYMENT_GATEWAY = "demo"
    (demo,) = ours()
    assert demo.level == ERROR and "STRIPE_SECRET_KEY" in demo.hint

    settings.PAYMENT_GATEWAY = "stripe"
    assert ours() == []


# --- The banner ----------------------------------------------------------------


@pytest.mark.django_db
def test_on_the_demo_gateway_every_page_says_no_payment_is_real(settings: Any, client: Client, api: APIClient) -> None:
    assert settings.DEBUG is False and settings.PAYMENT_GATEWAY == "demo"
    item = ItemFactory(title="Lampe en laiton")
    checkout = api.post(f"/api/items/{item.pk}/checkout/", {"email": "passant@example.org"}, format="json")
    demo_page = checkout.json()["checkout_url"].removeprefix("http://testserver")
    window_screen = f"/windows/{WindowFactory().pk}/screen/"  # shown in shop windows, outside base.html

    for path in ("/", item.get_absolute_url(), item.campaign.get_absolute_url(), demo_page, window_screen):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.content.decode().count(BANNER_FR) == 1, path
    assert BANNER_EN in client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


@pytest.mark.django_db
def test_with_stripe_no_page_carries_the_demo_banner(settings: Any, client: Client) -> None:
    settings.PAYMENT_GATEWAY = "stripe"
    item = ItemFactory()

    for path in ("/", item.get_absolute_url(), "/nulle-part/", f"/windows/{WindowFactory().pk}/screen/"):
        assert BANNER_FR not in client.get(path).content.decode(), path


@pytest.mark.django_db
def test_with_debug_off_a_missing_page_is_our_404_with_the_banner(settings: Any, client: Client) -> None:
    assert settings.DEBUG is False
    response = client.get("/nulle-part/")

    html = response.content.decode()
    assert response.status_code == 404
    assert "Page introuvable" in html and BANNER_FR in html
    assert "URLconf" not in html  # Django's debug page lists the URL patterns


@pytest.mark.django_db
def test_with_debug_off_a_server_error_is_our_500_with_the_banner(
    settings: Any, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr("pages.views.campaign_public_queryset", broken)
    client.raise_request_exception = False

    response = client.get("/")

    html = response.content.decode()
    assert settings.DEBUG is False and response.status_code == 500
    assert "Une erreur est survenue" in html and BANNER_FR in html
    assert "database went away" not in html and "Traceback" not in html


def test_with_debug_off_static_files_are_served_from_collectstatics_output(
    settings: Any, client: Client, tmp_path: Path
) -> None:
    # WhiteNoise without DEBUG serves STATIC_ROOT only (no finders), as the demo and production run.
    settings.STATIC_ROOT = tmp_path
    css = (ROOT / "frontend" / "static" / "frontend" / "site.css").read_bytes()
    (tmp_path / "frontend").mkdir()
    (tmp_path / "frontend" / "site.css").write_bytes(css)

    response = client.get("/static/frontend/site.css")

    assert settings.DEBUG is False
    assert response.status_code == 200 and b"".join(response.streaming_content) == css  # type: ignore[attr-defined]
    assert client.get("/static/frontend/absent.css").status_code == 404


# --- make demo --------------------------------------------------------------------

# Stands for the virtualenv's python, pip and uvicorn: records how it was called,
# with which settings and in which process group, and runs real Python for ``-c``
# (the key's creation). The worker starts in the background and is stopped when
# uvicorn ends: the fake uvicorn waits (at most 10 s) for the worker's record, the
# fake worker (at most 10 s) for its SIGTERM, which it records.
FAKE = """#!{python}
import json, os, signal, sys, time
if sys.argv[1:2] == ["-c"]:
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
def record(line):
    with open({log!r}, "a") as log:
        log.write(json.dumps(line) + "\\n")
def waiting(until):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not until():
        time.sleep(0.05)
if os.path.basename(sys.argv[0]) == "uvicorn":
    waiting(lambda: '"qcluster"' in (open({log!r}).read() if os.path.exists({log!r}) else ""))
keys = ("DEBUG", "PAYMENTS_DEMO", "SECRET_KEY", "SITE_URL")
call = [os.path.basename(sys.argv[0]), *sys.argv[1:]]
stopped = []
signal.signal(signal.SIGTERM, lambda signum, frame: stopped.append(signum))
record({{"argv": call, "env": {{key: os.environ.get(key) for key in keys}}, "pid": os.getpid(), "group": os.getpgrp()}})
if "qcluster" in call:
    waiting(lambda: stopped)
    record({{"stopped": call[2], "by": stopped}})
"""


def _make(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    ours = {"DEBUG", "PAYMENTS_DEMO", "SECRET_KEY", "SITE_URL", "MAKEFLAGS", "MAKELEVEL"}
    env = {key: value for key, value in os.environ.items() if key not in ours}
    return subprocess.run(
        ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), "-C", str(folder), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _calls(log: Path) -> list[dict[str, Any]]:
    return [line for line in _lines(log) if "argv" in line]


def _lines(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_make_demo_runs_without_debug_on_the_demo_gateway_with_a_kept_secret_key(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("python", "pip", "uvicorn"):
        (bin_dir / name).write_text(FAKE.format(python=sys.executable, log=str(log)))
        (bin_dir / name).chmod(0o755)
    (tmp_path / "pyproject.toml").touch()
    os.utime(tmp_path / "pyproject.toml", (0, 0))

    first = _make(tmp_path, "demo", "PORT=8765")
    assert first.returncode == 0, first.stdout + first.stderr
    key_file = tmp_path / "var" / "secret_key"
    key = key_file.read_text()
    calls = _calls(log)

    # Runtime dependencies only: the dev extras are for test, lint, typecheck and bench.
    (pip,) = [call["argv"] for call in calls if call["argv"][0] == "pip"]
    assert pip[-2:] == ["-e", "."]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(key) >= 50
    run = [call for call in calls if call["argv"][0] != "pip"]
    commands = [" ".join(call["argv"][:3]) for call in run]
    assert commands[:3] == ["python manage.py migrate", "python manage.py collectstatic", "python manage.py seed_demo"]
    assert sorted(commands[3:]) == ["python manage.py qcluster", "uvicorn tremma.asgi:application --ws"]
    # The worker leads a process group of its own, away from uvicorn's (make's): a signal to make's
    # group (Ctrl-C, kill) reaches django-q2's main process only through the recipe, which stops it
    # with one SIGTERM when uvicorn ends, and waits for it.
    worker = next(call for call in run if "qcluster" in call["argv"])
    web = next(call for call in run if call["argv"][0] == "uvicorn")
    assert worker["group"] == worker["pid"] != web["group"]
    assert {"stopped": "qcluster", "by": [signal.SIGTERM]} in _lines(log)
    for call in run:
        assert call["env"] == {
            "DEBUG": "false",
            "PAYMENTS_DEMO": "true",
            "SECRET_KEY": key,
            "SITE_URL": "http://127.0.0.1:8765",
        }

    # The next run keeps the key (sessions survive) and installs nothing.
    log.unlink()
    second = _make(tmp_path, "demo", "PORT=8765")
    assert second.returncode == 0, second.stdout + second.stderr
    assert key_file.read_text() == key
    assert all(call["argv"][0] != "pip" and call["env"]["SECRET_KEY"] == key for call in _calls(log))

    # make test after make demo still installs the dev extras.
    assert "-e '.[dev]'" in _make(tmp_path, "-n", "test").stdout
