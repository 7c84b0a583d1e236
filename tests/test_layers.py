"""The rooms' layer order (docs/architecture.md) holds: import-linter checks the
contracts of pyproject.toml in `make lint` and `make test`; these tests keep the
contracts complete and forbid the function-level imports that used to hide
circles between rooms."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

from django.apps import apps
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def _contracts() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def _rooms() -> list[str]:
    return list(_contracts()["root_packages"])


def test_every_room_of_the_project_has_its_place_in_the_layers() -> None:
    ours = {config.name for config in apps.get_app_configs() if (ROOT / config.name).is_dir()}
    layered = {room for layer in _contracts()["contracts"][0]["layers"] for room in layer.split(" | ")}
    assert ours <= layered, f"apps missing from the layers: {sorted(ours - layered)}"
    assert {"kernel", "tremma"} <= layered
    assert set(_rooms()) == layered
    assert settings.ROOT_URLCONF.split(".")[0] in layered


def _imports_inside_functions(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.append((node.lineno, node.module))
            elif isinstance(node, ast.Import):
                found += [(node.lineno, alias.name) for alias in node.names]
    return found


def test_no_room_imports_another_inside_a_function() -> None:
    """Only AppConfig.ready (apps.py), Django's own place for wiring once every app is loaded, may."""
    rooms = set(_rooms())
    offenders = []
    for room in rooms:
        for path in (ROOT / room).rglob("*.py"):
            if "migrations" in path.parts or path.name == "apps.py":
                continue
            for line, module in _imports_inside_functions(path):
                top = module.split(".")[0]
                if top in rooms and top != room:
                    offenders.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert offenders == []


def test_the_layer_contracts_are_kept() -> None:
    """The same check as `make lint`, so that a plain pytest run says it too."""
    linter = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(linter), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout
