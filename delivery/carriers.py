"""The carrier interface: our own small dataclasses, whatever the carrier, shaped
like ``payments.gateways``. ``carrier()`` returns the configured one (a real
carrier's API when its credentials are set, else the demo carrier, which works
offline). Nothing above this room sees a carrier's own vocabulary: tracking
calls become ``TrackingUpdate`` objects handed to ``delivery.events``.

The adapter knows nothing of orders, items or their books (import-linter's
``delivery-adapter`` contract): it is told weights, places and references."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.http import HttpRequest


class CarrierError(Exception):
    """The carrier could not do what we asked (network, refusal, unknown relay point)."""


class TrackingRefused(Exception):
    """A tracking call that is not the carrier's (bad or missing signature, stale, malformed).
    ``fields``: what was wrong with each field of a malformed body, for the caller to show."""

    def __init__(self, internal: str = "", *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(internal or "tracking call refused")
        self.fields = fields or {}


class UnknownParcel(TrackingRefused):
    """A tracking call about a tracking number this carrier never issued."""


# How a parcel travels (``collection`` is not the carrier's business).
RELAY = "relay"
HOME = "home"
PARCEL_METHODS = (RELAY, HOME)

# A shipment's status as the carrier reports it, in our words.
IN_TRANSIT = "in_transit"
DELIVERED = "delivered"  # at the relay point and collected, or handed at the door
RETURNED = "returned"  # never collected at the relay point (or refused): back to its sender
TRACKING_STATUSES = (IN_TRANSIT, DELIVERED, RETURNED)


@dataclass(frozen=True)
class RelayPoint:
    id: str
    name: str
    address_line1: str
    postal_code: str
    city: str
    carrier: str
    # Opening hours as the carrier gives them, one line per day when known.
    hours: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "address_line1": self.address_line1,
            "postal_code": self.postal_code,
            "city": self.city,
            "carrier": self.carrier,
        }


@dataclass(frozen=True)
class Address:
    """A home address (a buyer's) or a sender's address (an organisation's, or only a private giver's postal code)."""

    name: str
    address_line1: str
    postal_code: str
    city: str
    country: str = "FR"
    address_line2: str = ""
    # A sender's phone, which some carriers require on a label (Mondial Relay's ``Expe_Tel1``).
    phone: str = ""


@dataclass(frozen=True)
class ParcelRequest:
    """One parcel to label: from ``sender`` to a relay point (``relay_point_id``) or a home (``recipient``)."""

    reference: str  # ours, e.g. "fulfilment-12" (the carrier returns the same label on a retry)
    method: str  # RELAY or HOME
    weight_grams: int
    sender: Address
    recipient_name: str
    recipient_email: str
    relay_point_id: str = ""
    recipient: Address | None = None


@dataclass(frozen=True)
class Label:
    carrier: str
    tracking_number: str
    pdf: bytes  # a 10×15 cm label, one page


@dataclass(frozen=True)
class TrackingUpdate:
    """One tracking event, whatever the carrier: recorded once per (carrier, event_id)."""

    carrier: str
    event_id: str
    tracking_number: str
    status: str  # one of TRACKING_STATUSES
    payload: dict[str, Any]


class Carrier(Protocol):
    name: str

    def quote_cents(self, *, method: str, weight_grams: int, origin_postal_code: str, postal_code: str) -> int:
        """The price of one parcel of ``weight_grams`` (VAT included), in cents. CarrierError when not served."""
        ...

    def relay_points(self, *, postal_code: str, limit: int = 20) -> list[RelayPoint]:
        """The relay points nearest ``postal_code`` (a valid French postal code), nearest first."""
        ...

    def relay_point(self, relay_point_id: str) -> RelayPoint | None:
        """The relay point of that id (to check a buyer's choice), or None."""
        ...

    def label_create(self, parcel: ParcelRequest) -> Label:
        """Register the parcel with the carrier and return its label. CarrierError on failure."""
        ...

    def tracking_parse(self, request: HttpRequest) -> list[TrackingUpdate]:
        """Verify a tracking call (signature, freshness) and translate it; TrackingRefused otherwise."""
        ...


class PolledCarrier(Carrier, Protocol):
    """A carrier that does not push tracking: delivery.services.shipments_track asks it about each parcel."""

    def tracking_fetch(self, tracking_number: str) -> TrackingUpdate | None:
        """The parcel's current status as an update (None while there is nothing to report). CarrierError on failure."""
        ...


def carrier() -> Carrier:
    """The configured carrier, read from the settings at call time."""
    if settings.DELIVERY_CARRIER != "demo":
        from delivery.real import real_carrier

        return real_carrier(settings.DELIVERY_CARRIER)
    from delivery.demo_carrier import DemoCarrier

    return DemoCarrier()
