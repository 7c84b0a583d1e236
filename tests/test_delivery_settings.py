"""The carrier is configured from the environment only, and a half configuration
stops the process at start-up, as STRIPE_* do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tremma.env import ImproperEnvironment, env_steps

ROOT = Path(__file__).resolve().parent.parent
MONDIAL = {
    "DELIVERY_CARRIER": "mondialrelay",
    "MONDIAL_RELAY_ENSEIGNE": "BDTEST13",
    "MONDIAL_RELAY_PRIVATE_KEY": "PrivateK",
    "MONDIAL_RELAY_SENDER_PHONE": "+33482538457",
}


def load(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("MONDIAL_RELAY_", "DELIVERY_"))}
    clean.update(DEBUG="true", **env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import tremma.settings as s; print(s.DELIVERY_CARRIER, s.MONDIAL_RELAY_TARIFF_RELAY[0])",
        ],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_demo_carrier_needs_nothing() -> None:
    result = load()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "demo"


def test_mondial_relay_starts_with_its_account_key_and_phone() -> None:
    result = load(**MONDIAL, MONDIAL_RELAY_TARIFF_RELAY="250:399,30000:2500")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "mondialrelay (250, 399)"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({**MONDIAL, "MONDIAL_RELAY_PRIVATE_KEY": ""}, "MONDIAL_RELAY_PRIVATE_KEY"),
        ({**MONDIAL, "MONDIAL_RELAY_ENSEIGNE": ""}, "MONDIAL_RELAY_ENSEIGNE"),
        ({**MONDIAL, "MONDIAL_RELAY_SENDER_PHONE": ""}, "MONDIAL_RELAY_SENDER_PHONE"),
        ({"MONDIAL_RELAY_ENSEIGNE": "BDTEST13", "MONDIAL_RELAY_PRIVATE_KEY": "k"}, "DELIVERY_CARRIER"),
        ({"DELIVERY_CARRIER": "pigeon"}, "DELIVERY_CARRIER"),
        ({**MONDIAL, "MONDIAL_RELAY_TARIFF_HOME": "1000:890,500:300"}, "MONDIAL_RELAY_TARIFF_HOME"),
        ({**MONDIAL, "MONDIAL_RELAY_TARIFF_RELAY": "1kg:4.50"}, "MONDIAL_RELAY_TARIFF_RELAY"),
        ({**MONDIAL, "MONDIAL_RELAY_TIMEOUT_SECONDS": "600"}, "MONDIAL_RELAY_TIMEOUT_SECONDS"),
        ({**MONDIAL, "MONDIAL_RELAY_API_URL": "ftp://x"}, "MONDIAL_RELAY_API_URL"),
    ],
)
def test_a_half_or_wrong_configuration_stops_start_up_naming_the_variable(env: dict[str, str], named: str) -> None:
    result = load(**env)
    assert result.returncode != 0
    assert named in result.stderr


def test_tariff_steps_are_read_and_refused_when_not_increasing() -> None:
    assert env_steps("T", "500:390,1000:490", environ={}) == ((500, 390), (1000, 490))
    assert env_steps("T", "x", environ={"T": " 2000:590 "}) == ((2000, 590),)
    for wrong in ("0:100", "500:-1", "500", "500:390,500:400", ""):
        with pytest.raises(ImproperEnvironment):
            env_steps("T", "500:390", environ={"T": wrong} if wrong else {"T": ",,"})
