"""The demo carrier: relay points near any postal code, a tariff by weight,
labels and tracking, all offline (``make demo`` and the tests). Tracking is
played by ``POST /delivery/demo/track/`` (delivery.views), which hands the same
``TrackingUpdate`` to the same processing as a real carrier's.

Like a real carrier, it keeps its own books (``Shipment``: reference → tracking
number) and never reads the rooms above it."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from delivery.carriers import (
    HOME,
    RELAY,
    TRACKING_STATUSES,
    CarrierError,
    Label,
    ParcelRequest,
    RelayPoint,
    TrackingRefused,
    TrackingUpdate,
    UnknownParcel,
)
from delivery.models import Shipment
from kernel.places import department_name, department_of

NAME = "demo"
TRACKING_PREFIX = "DEMO"

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
        # No town names offline: the department's name says where the demo's points stand.
        city=department_name(department_of(postal_code)) or postal_code,
        carrier=NAME,
        hours=("lun.–sam. 9h–19h",),
    )


def tracking_number_new() -> str:
    # Unguessable (64 random bits): knowing one parcel's number tells nothing of another's,
    # and the demo's tracking endpoint answers only for numbers it issued.
    return TRACKING_PREFIX + secrets.token_hex(8).upper()


def track_body_errors(data: Any) -> dict[str, list[str]]:
    """What is wrong with a demo tracking call's body ``{tracking_number, status}``, per field (translated)."""
    if not isinstance(data, dict):
        return {"non_field_errors": [_("Le corps doit être un objet JSON.")]}
    errors: dict[str, list[str]] = {}
    number = data.get("tracking_number")
    if not isinstance(number, str) or not number.strip():
        errors["tracking_number"] = [_("Indiquez le numéro de suivi du colis.")]
    elif len(number) > 64 or not number.isascii() or not number.isalnum():
        errors["tracking_number"] = [_("Ce numéro de suivi n'est pas valide.")]
    status = data.get("status")
    if status not in TRACKING_STATUSES:
        errors["status"] = [
            _("Statut inconnu : choisissez parmi %(choices)s.") % {"choices": ", ".join(TRACKING_STATUSES)}
        ]
    return errors


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
        """A 10×15 cm label; the same reference always gets the same tracking number."""
        from delivery.labels import label_pdf  # WeasyPrint is loaded only by who draws labels

        relay_point = None
        if parcel.method == RELAY:
            relay_point = self.relay_point(parcel.relay_point_id)
            if relay_point is None:
                raise CarrierError(f"unknown relay point {parcel.relay_point_id!r}")
        elif parcel.method != HOME or parcel.recipient is None:
            raise CarrierError(f"a {parcel.method!r} parcel needs a home address")
        if parcel.weight_grams <= 0 or not parcel.reference:
            raise CarrierError("a parcel needs a reference and a weight")
        # Heavier than the tariff's last step: no carrier takes it.
        self.quote_cents(method=parcel.method, weight_grams=parcel.weight_grams, origin_postal_code="", postal_code="")
        shipment = self._shipment(parcel)
        pdf = label_pdf(
            parcel=parcel, tracking_number=shipment.tracking_number, carrier_name="Trëmma démo", relay_point=relay_point
        )
        return Label(carrier=NAME, tracking_number=shipment.tracking_number, pdf=pdf)

    def _shipment(self, parcel: ParcelRequest) -> Shipment:
        found = Shipment.objects.filter(carrier=NAME, reference=parcel.reference).first()
        if found is not None:
            return found
        number = tracking_number_new()
        try:
            with transaction.atomic():
                return Shipment.objects.create(
                    carrier=NAME,
                    reference=parcel.reference,
                    tracking_number=number,
                    method=parcel.method,
                    weight_grams=parcel.weight_grams,
                )
        except IntegrityError:
            # Another request labelled the same parcel at the same moment: its number is the one.
            return Shipment.objects.get(carrier=NAME, reference=parcel.reference)

    def tracking_parse(self, request: HttpRequest) -> list[TrackingUpdate]:
        """The demo's tracking call, ``{tracking_number, status}`` in JSON: one new event per call
        (as a carrier's every scan is one), about a parcel this carrier labelled."""
        try:
            data = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise TrackingRefused(
                "body is not JSON", fields={"non_field_errors": [_("Le corps doit être un objet JSON.")]}
            ) from None
        errors = track_body_errors(data)
        if errors:
            raise TrackingRefused("malformed tracking call", fields=errors)
        number = data["tracking_number"].strip()
        if not Shipment.objects.filter(carrier=NAME, tracking_number=number).exists():
            raise UnknownParcel(f"no demo parcel {number!r}")
        return [
            TrackingUpdate(
                carrier=NAME,
                event_id=f"demo-{uuid.uuid4().hex}",
                tracking_number=number,
                status=data["status"],
                payload={"tracking_number": number, "status": data["status"]},
            )
        ]
