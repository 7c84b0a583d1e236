"""Paid parcels for the tests of what follows the payment (labels, the parcels page, tracking,
the ship-by rule, withdrawals): an order paid as the basket makes one with delivery (each
organisation's part a parcel to a relay point, its shipping in the one payment), and a fake
carrier satisfying delivery.carriers.Carrier that makes real one-page PDF labels."""

from __future__ import annotations

import io
import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from pypdf import PdfWriter

from checkout.services import order_start
from delivery.carriers import (
    CarrierError,
    Label,
    ParcelRequest,
    RelayPoint,
    TrackingUpdate,
)
from delivery.events import tracking_receive
from donations.models import RELAY, Fulfilment, Item, Order, ShipmentStatus
from payments.models import DemoSession
from tests.receipts_support import pay

SHIPPING_CENTS = 390
RELAY_POINT = {
    "id": "DEMO-75004-00",
    "name": "Tabac de la Gare (1)",
    "address_line1": "12 rue de la République",
    "postal_code": "75004",
    "city": "Paris",
    "carrier": "fake",
}


def blank_pdf(text: str = "") -> bytes:
    """A one-page 10×15 cm PDF (what a carrier's label is)."""
    writer = PdfWriter()
    writer.add_blank_page(width=283, height=425)
    writer.add_metadata({"/Title": text})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


class FakeCarrier:
    """A carrier in memory: the same label for the same reference (as a real one answers a retry),
    and ``down`` to play a carrier that cannot be reached."""

    name = "fake"

    def __init__(self) -> None:
        self.down = False
        self.requests: list[ParcelRequest] = []
        self.labels: dict[str, Label] = {}

    def quote_cents(self, *, method: str, weight_grams: int, origin_postal_code: str, postal_code: str) -> int:
        return SHIPPING_CENTS

    def relay_points(self, *, postal_code: str, limit: int = 20) -> list[RelayPoint]:
        return []

    def relay_point(self, relay_point_id: str) -> RelayPoint | None:
        return None

    def label_create(self, parcel: ParcelRequest) -> Label:
        if self.down:
            raise CarrierError("connection refused")
        self.requests.append(parcel)
        if parcel.reference not in self.labels:
            number = "FK" + secrets.token_hex(6).upper()
            self.labels[parcel.reference] = Label(carrier=self.name, tracking_number=number, pdf=blank_pdf(number))
        return self.labels[parcel.reference]

    def tracking_parse(self, request: HttpRequest) -> list[TrackingUpdate]:
        return []


def parcel_basket(items: Sequence[Item], *, commits: Any, email: str = "buyer@example.org", paid: bool = True) -> Order:
    """One payment for ``items``, each organisation's part a parcel to a relay point with its
    shipping, to ship within SHIP_BY_DAYS (the state a paid parcel has). ``commits``: pytest-django's
    django_capture_on_commit_callbacks (what the payment records runs after commit, as in production)."""
    order = order_start(item_ids=[item.pk for item in items], email=email)
    parts = list(order.fulfilments.all())
    shipping = SHIPPING_CENTS * len(parts)
    Fulfilment.objects.filter(order=order).update(
        method=RELAY,
        shipping_cents=SHIPPING_CENTS,
        relay_point=RELAY_POINT,
        shipment_status=ShipmentStatus.TO_SHIP,
        ship_by=timezone.now() + timedelta(days=settings.SHIP_BY_DAYS),
    )
    Order.objects.filter(pk=order.pk).update(amount_cents=order.amount_cents + shipping, shipping_cents=shipping)
    DemoSession.objects.filter(session_id=order.provider_session_id).update(amount_cents=order.amount_cents + shipping)
    order.refresh_from_db()
    if paid:
        with commits(execute=True):
            pay(order)
    return Order.objects.get(pk=order.pk)


def track(fulfilment: Fulfilment, status: str, *, commits: Any, event_id: str = "") -> bool:
    """The carrier reports ``status`` for the parcel (through delivery.events, as its webhook does)."""
    fulfilment.refresh_from_db()
    with commits(execute=True):
        return tracking_receive(
            update=TrackingUpdate(
                carrier=fulfilment.carrier,
                event_id=event_id or f"{fulfilment.tracking_number}-{status}",
                tracking_number=fulfilment.tracking_number,
                status=status,
                payload={"status": status},
            )
        )


def fake_carrier(monkeypatch: Any) -> FakeCarrier:
    fake = FakeCarrier()
    monkeypatch.setattr("checkout.services.parcels.carrier", lambda: fake)
    return fake
