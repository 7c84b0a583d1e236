"""The demo carrier: relay points near any postal code, a tariff by weight,
labels and tracking, all offline (``make demo`` and the tests). Tracking is
played by ``POST /delivery/demo/track/`` (delivery.views)."""

from __future__ import annotations

import hashlib

from django.http import HttpRequest

from delivery.carriers import HOME, RELAY, CarrierError, Label, ParcelRequest, RelayPoint, TrackingUpdate

NAME = "demo"

# Price of one parcel by weight (grams, up to and including) and method, VAT included, in cents.
TARIFF: dict[str, tuple[tuple[int, int], ...]] = {
    RELAY: ((500, 390), (1_000, 490), (2_000, 590), (5_000, 890), (10_000, 1_290), (20_000, 1_890), (30_000, 2_490)),
    HOME: ((500, 590), (1_000, 690), (2_000, 890), (5_000, 1_290), (10_000, 1_790), (20_000, 2_490), (30_000, 3_290)),
}

_SHOPS = ("Tabac de la Gare", "Épicerie du Marché", "Librairie des Halles", "Pressing Central", "Fleurs & Co")
_STREETS = ("rue de la République", "avenue Jean Jaurès", "place du Marché", "rue Victor Hugo", "boulevard Gambetta")


def _relay_point(postal_code: str, rank: int) -> RelayPoint:
    digest = hashlib.sha256(f"{postal_code}:{rank}".encode()).digest()
    return RelayPoint(
        id=f"DEMO-{postal_code}-{rank:02d}",
        name=f"{_SHOPS[digest[0] % len(_SHOPS)]} ({rank + 1})",
        address_line1=f"{1 + digest[1] % 120} {_STREETS[digest[2] % len(_STREETS)]}",
        postal_code=postal_code,
        city=f"Ville {postal_code}",
        carrier=NAME,
        hours=("lun.–sam. 9h–19h",),
    )


class DemoCarrier:
    name = NAME

    def quote_cents(self, *, method: str, weight_grams: int, origin_postal_code: str, postal_code: str) -> int:
        for up_to, cents in TARIFF.get(method, ()):
            if weight_grams <= up_to:
                return cents
        raise CarrierError(f"no {method} tariff for {weight_grams} g")

    def relay_points(self, *, postal_code: str, limit: int = 20) -> list[RelayPoint]:
        return [_relay_point(postal_code, rank) for rank in range(min(limit, 20))]

    def relay_point(self, relay_point_id: str) -> RelayPoint | None:
        parts = relay_point_id.split("-")
        if len(parts) != 3 or parts[0] != "DEMO" or not parts[1].isdigit() or len(parts[1]) != 5:
            return None
        if not parts[2].isdigit() or int(parts[2]) >= 20 or relay_point_id != f"DEMO-{parts[1]}-{int(parts[2]):02d}":
            return None
        return _relay_point(parts[1], int(parts[2]))

    def label_create(self, parcel: ParcelRequest) -> Label:
        raise CarrierError("labels: not yet")

    def tracking_parse(self, request: HttpRequest) -> list[TrackingUpdate]:
        raise CarrierError("tracking: not yet")
