"""The real carrier's adapter (configured by ``DELIVERY_CARRIER``)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from delivery.carriers import Carrier


def real_carrier(name: str) -> Carrier:
    raise ImproperlyConfigured(f"unknown carrier {name!r}")
