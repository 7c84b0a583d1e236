"""Small typed readers for the environment.

Each one refuses a value it cannot understand instead of guessing: a typo in a
deployment should stop the process at start-up, not change its behaviour.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlparse


class ImproperEnvironment(ValueError):
    """An environment variable holds a value we refuse to guess about."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "", environ: Mapping[str, str] | None = None) -> str:
    source = os.environ if environ is None else environ
    return source.get(name, default).strip()


def env_bool(name: str, default: bool = False, environ: Mapping[str, str] | None = None) -> bool:
    source = os.environ if environ is None else environ
    if name not in source:
        return default
    value = source[name].strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperEnvironment(f"{name} must be one of true/false/1/0/yes/no/on/off, not {value!r}")


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    raw = env_str(name, "", environ)
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperEnvironment(f"{name} must be an integer, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperEnvironment(f"{name} must be at least {minimum}, not {value}")
    if maximum is not None and value > maximum:
        raise ImproperEnvironment(f"{name} must be at most {maximum}, not {value}")
    return value


def env_list(name: str, default: list[str], environ: Mapping[str, str] | None = None) -> list[str]:
    raw = env_str(name, "", environ)
    if raw == "":
        return list(default)
    return [part.strip() for part in raw.split(",") if part.strip()]


def env_url(
    name: str,
    default: str = "",
    *,
    schemes: tuple[str, ...] = ("http", "https"),
    environ: Mapping[str, str] | None = None,
) -> str:
    """A URL with one of ``schemes`` and a host, without a trailing slash."""
    raw = env_str(name, default, environ)
    if raw == "":
        return ""
    parsed = urlparse(raw)
    if parsed.scheme not in schemes or not (parsed.netloc or (parsed.path and parsed.scheme == "sqlite")):
        raise ImproperEnvironment(f"{name} must be a URL with scheme {'/'.join(schemes)}, not {raw!r}")
    return raw.rstrip("/")


def env_email(name: str, default: str = "", environ: Mapping[str, str] | None = None) -> str:
    """An email address (or empty): a typo here would publish a contact nobody reads."""
    raw = env_str(name, default, environ)
    if raw == "":
        return ""
    # Django's own validator, so the check matches the one on every form.
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    try:
        validate_email(raw)
    except ValidationError:
        raise ImproperEnvironment(f"{name} must be an email address, not {raw!r}") from None
    return raw


def env_steps(name: str, default: str, environ: Mapping[str, str] | None = None) -> tuple[tuple[int, int], ...]:
    """A grid of ``limit:value`` steps, limits increasing: ``"500:450,1000:520"`` → ((500, 450), (1000, 520))
    (a carrier's tariff: grams up to and including, cents)."""
    raw = env_str(name, "", environ) or default
    steps: list[tuple[int, int]] = []
    for part in raw.split(","):
        limit, _sep, value = part.strip().partition(":")
        if not limit.isdigit() or not value.isdigit():
            raise ImproperEnvironment(f"{name} must be limit:value steps separated by commas, not {part.strip()!r}")
        steps.append((int(limit), int(value)))
    limits = [limit for limit, _value in steps]
    if limits != sorted(set(limits)) or limits[0] == 0:
        raise ImproperEnvironment(f"{name}: the steps' limits must be positive and increasing")
    return tuple(steps)
