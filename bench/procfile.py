"""The server the benchmarks measure is whatever the Procfile says: its
``web`` (or ``worker``) line, with the shell-style ``$PORT`` and
``${WEB_CONCURRENCY:-$(nproc)}`` filled in for one worker on a free loopback port.

Only the small part of the shell syntax that Procfiles use is understood:
``$NAME``, ``${NAME}`` and ``${NAME:-default}``, the command substitution
``$(nproc)`` (the number of cores, as the shell's ``nproc`` prints it) and
quoting as ``shlex`` splits it; any other ``$(…)`` is refused rather than
guessed."""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_VARIABLE = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def procfile_lines(text: str) -> dict[str, str]:
    """``{"web": "uvicorn …", …}`` from a Procfile's text (comments and blank lines skipped)."""
    lines: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        name, command = line.split(":", 1)
        lines[name.strip()] = command.strip()
    return lines


def expand(command: str, env: Mapping[str, str]) -> str:
    """Fill in ``$NAME`` / ``${NAME:-default}`` from ``env`` as a POSIX shell would."""

    def value(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("bare")
        if name in env and (env[name] != "" or match.group("default") is None):
            return env[name]
        return match.group("default") or ""

    return _substitute(_VARIABLE.sub(value, command))


def _substitute(command: str) -> str:
    """``$(nproc)`` as the shell runs it: the cores this process may use."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    expanded = command.replace("$(nproc)", str(cores))
    if "$(" in expanded or "`" in expanded:
        raise ValueError(f"the bench understands no command substitution but $(nproc): {command!r}")
    return expanded


def command_for(
    process: str,
    *,
    port: int,
    env: Mapping[str, str],
    text: str | None = None,
    bin_dir: Path | None = None,
    workers: int | None = 1,
) -> list[str]:
    """The argv of a Procfile process for the bench: ``workers`` worker(s) (None: the Procfile's own
    default, as a deployment runs it), on ``port``, bound to 127.0.0.1 (never 0.0.0.0: the bench sends
    traffic only to the loopback), with the programs taken from this Python's environment."""
    lines = procfile_lines(text if text is not None else (ROOT / "Procfile").read_text())
    if process not in lines:
        raise KeyError(f"the Procfile has no {process!r} line")
    variables = {**env, "PORT": str(port)}
    variables.pop("WEB_CONCURRENCY", None)
    if workers is not None:
        variables["WEB_CONCURRENCY"] = str(workers)
    argv = [arg.replace("0.0.0.0", "127.0.0.1") for arg in shlex.split(expand(lines[process], variables))]
    folder = bin_dir if bin_dir is not None else Path(sys.executable).parent
    if argv[0] in {"python", "python3"}:
        argv[0] = sys.executable
    elif "/" not in argv[0] and (folder / argv[0]).exists():
        argv[0] = str(folder / argv[0])
    return argv
