"""The real carrier's adapter (configured by ``DELIVERY_CARRIER``)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from delivery.carriers import Carrier

REAL_CARRIERS = ("mondialrelay",)


def real_carrier(name: str) -> Carrier:
    if name == "mondialrelay":
        from delivery.mondial_relay import MondialRelay  # httpx and defusedxml, loaded only where used

        return MondialRelay()
    raise ImproperlyConfigured(f"unknown carrier {name!r}")
