"""docs/architecture.md is drawn from the code as it stands: its layers, rooms,
event catalogues and periodic jobs are checked against the code here, and every
file it (or README.md) names exists in the repository."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from django.conf import settings

from payments.gateways import PAYMENT_EVENT_TYPES
from realtime.events import CATALOGUE

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "architecture.md").read_text()


def _section(title: str) -> str:
    start = DOC.index(title)
    following = re.search(r"^#{2,3} ", DOC[start + len(title) :], flags=re.M)
    return DOC[start : start + len(title) + following.start()] if following else DOC[start:]


def _table(section: str) -> list[list[str]]:
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| ---")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[1:]]


def _layers() -> list[str]:
    return list(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]["layers"])


def test_the_layers_drawn_are_the_enforced_ones() -> None:
    drawn = re.search(r"```text\n(.*?)```", _section("## The rooms, in layers"), flags=re.S)
    assert drawn is not None
    assert drawn.group(1).strip().splitlines() == _layers()


def test_every_room_is_described() -> None:
    rooms = {room for layer in _layers() for room in layer.split(" | ")}
    described = {row[0].strip("`") for row in _table(_section("## The rooms, in layers"))}
    assert described >= rooms


def test_the_payment_event_types_are_the_adapters_vocabulary() -> None:
    listed = {row[0].strip("`") for row in _table(_section("### Payment events"))}
    assert listed == set(PAYMENT_EVENT_TYPES)


def test_the_live_events_are_the_declared_ones_with_their_fields() -> None:
    rows = _table(_section("### Live events"))
    listed = {row[0].strip("`"): row for row in rows}
    assert set(listed) == set(CATALOGUE)
    for name, declaration in CATALOGUE.items():
        public = {field.strip() for field in listed[name][1].split(",") if field.strip()}
        private = {field.strip() for field in listed[name][2].split(",") if field.strip()}
        assert public == set(declaration.public), name
        assert private == set(declaration.private), name


def test_the_periodic_jobs_are_the_settings_ones() -> None:
    listed = [(row[0].strip("`"), int(row[1])) for row in _table(_section("### Periodic jobs"))]
    assert listed == list(settings.PERIODIC_JOBS)


@pytest.mark.parametrize("document", ["docs/architecture.md", "docs/api.md", "README.md"])
def test_every_file_a_document_names_is_in_the_repository(document: str) -> None:
    path = ROOT / document
    named = set(re.findall(r"`([a-z_]+(?:/[A-Za-z0-9_.\-]+)+\.(?:py|md|toml|html|js|css|txt))`", path.read_text()))
    missing = sorted(name for name in named if not (ROOT / name).exists())
    assert missing == []
