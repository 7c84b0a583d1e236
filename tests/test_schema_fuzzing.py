"""Schemathesis fuzzes the whole JSON API from its own OpenAPI schema, against a real
server (the Procfile's web line) on a database with the demo data: anonymous, then as
a signed-in manager. No answer may be a server error, and every answer must be one the
schema documents (status code, content type, body).

Heavy (a few minutes): marked ``fuzz``, left out of ordinary runs and run once in CI
(``pytest -m fuzz``). Its budget is fixed: a fixed seed (``FUZZ_SEED`` to explore another),
``FUZZ_MAX_EXAMPLES`` cases per operation (default 10) and a wall-clock cap per run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import global_settings
from django.core.management import call_command

from tests.support.servers import asgi_servers

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db(transaction=True)]

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
SEED = "20261130"
WALL_CLOCK_CAP_SECONDS = 900  # per run; a run takes about a minute and a half on two shared cores
DEMO_PASSWORD = "fuzzing-demo-password-7c1e"
MANAGER = "claire@emmaus-lescar.example"  # seed_demo's manager of Emmaüs Lescar-Pau


def _config(directory: Path) -> Path:
    """Real ids and slugs of the demo data, used for most path parameters (a random one
    still comes up now and then), so the operations reach past their 404."""
    from campaigns.models import Campaign
    from donations.models import Item

    ids = sorted({*Item.objects.values_list("pk", flat=True), *range(1, 6)})
    slugs = sorted(Campaign.objects.values_list("slug", flat=True))
    config = directory / "schemathesis.toml"
    config.write_text(
        f"[dictionaries.ids]\nvalues = {json.dumps(ids)}\n"
        f"[dictionaries.slugs]\nvalues = {json.dumps(slugs)}\n"
        "[parameters]\n"
        '"path.id" = { dictionary = "ids", probability = 0.8 }\n'
        '"path.slug" = { dictionary = "slugs", probability = 0.8 }\n'
    )
    return config


def _fuzz(server: str, directory: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    max_examples = os.environ.get("FUZZ_MAX_EXAMPLES", "10")
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(_config(directory)),
        "run",
        f"{server}/api/schema/",
        f"--checks={CHECKS}",
        f"--max-examples={max_examples}",
        f"--seed={os.environ.get('FUZZ_SEED', SEED)}",
        "--generation-database=none",
        "--request-timeout=20",
        "--workers=1",
        "--no-color",
        *extra,
    ]
    # Its working folder (.schemathesis/ and reports) is the test's own, never the repository.
    try:
        return subprocess.run(
            command, cwd=directory, capture_output=True, text=True, timeout=WALL_CLOCK_CAP_SECONDS, check=False
        )
    except subprocess.TimeoutExpired as late:
        pytest.fail(f"fuzzing took more than {WALL_CLOCK_CAP_SECONDS} s: {str(late.stdout or '')[-3000:]}")


def _report(run: subprocess.CompletedProcess[str]) -> str:
    return f"schemathesis exited {run.returncode}\n{run.stdout[-12000:]}\n{run.stderr[-3000:]}"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, settings: Any) -> object:
    monkeypatch.setenv("DEMO_PASSWORD", DEMO_PASSWORD)
    # The server checks passwords with the real hashers, not the tests' fast one.
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    with asgi_servers(1, redis=False) as (base,):
        yield base


def test_the_api_answers_every_anonymous_case_as_its_schema_says(server: str, tmp_path: Path) -> None:
    run = _fuzz(server, tmp_path)
    assert run.returncode == 0, _report(run)


def test_the_api_answers_every_case_of_a_signed_in_manager_as_its_schema_says(server: str, tmp_path: Path) -> None:
    signed_in = httpx.post(f"{server}/api/auth/token/", json={"email": MANAGER, "password": DEMO_PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    token = signed_in.json()["token"]
    # Signing out would end the run's identity: that operation is fuzzed anonymously only.
    run = _fuzz(server, tmp_path, f"--header=Authorization: Token {token}", "--exclude-path=/api/auth/logout/")
    assert run.returncode == 0, _report(run)
    assert httpx.get(f"{server}/api/me/", headers={"Authorization": f"Token {token}"}).status_code == 200
