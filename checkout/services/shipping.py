"""How a basket's objects travel, and what that costs, before anything is held.

An order has one part (a ``Fulfilment``) per *sender*: the organisation, for the
objects standing there, or a private giver, for the objects they keep at home
(``Item.kept_by_giver``; the giver is the item's ``owner``, else its ``donor``).
Each part travels one way: collected (no charge), or as one parcel to a relay
point or to the buyer's home. ``delivery_plan`` checks the buyer's choice for
every part against what each of its objects allows (``Item.delivery_methods``:
never home from a private giver), checks the relay point with the carrier,
cleans a home address, and asks the carrier for each parcel's price.

It reads and calls the carrier only: ``order_start`` calls it *before* the
transaction that holds the items, as the payment provider is never called while
rows are locked, then checks that the held items are still the ones quoted."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from campaigns.models import Organisation
from delivery.carriers import Address, Carrier, CarrierError, RelayPoint, carrier
from donations.models import COLLECTION, HOME, RELAY, Item
from kernel.errors import Conflict, DomainError
from kernel.places import normalise_postal_code
from receipts.details import NOT_A_TEXT, no_control_characters, posted_text

logger = logging.getLogger(__name__)

# (organisation id, private giver's id or None): who sends one part of an order.
SenderKey = tuple[int, int | None]

METHODS = (COLLECTION, RELAY, HOME)
# What a home address may hold (those of delivery.carriers.Address); France only for now.
ADDRESS_FIELDS: tuple[tuple[str, int, bool], ...] = (
    ("name", 120, True),
    ("address_line1", 200, True),
    ("address_line2", 200, False),
    ("postal_code", 5, True),
    ("city", 100, True),
    ("country", 2, True),
)
ADDRESS_COUNTRIES = ("FR",)
RELAY_POINT_ID_MAX = 64


class DeliveryRefused(DomainError):
    """The buyer's delivery choice cannot be honoured; ``field`` names what to correct."""

    code = "invalid"
    field = "delivery.method"
    default_detail = _("Ce mode de livraison n'est pas possible pour ces objets.")


class ShippingUnavailable(DomainError):
    status_code = 503
    code = "carrier_unavailable"
    default_detail = _(
        "Le calcul des frais de port est momentanément indisponible : rien n'a été réservé. "
        "Réessayez dans un instant, ou choisissez le retrait sur place."
    )


class QuoteStale(Conflict):
    code = "delivery_changed"
    default_detail = _(
        "Un objet de votre panier a changé pendant le paiement (poids ou mode d'envoi) : rien n'a été réservé. "
        "Vérifiez le panier, puis payez de nouveau."
    )


class ShippingChanged(Conflict):
    """The shipping the buyer was shown is no longer the carrier's price: shown again, nothing held."""

    code = "shipping_changed"
    default_detail = _("Les frais de port ont changé : vérifiez le nouveau total, puis payez.")


@dataclass(frozen=True)
class DeliveryChoice:
    """How the buyer wants one part (or, from the API, every part) to reach them."""

    method: str = COLLECTION
    relay_point_id: str = ""
    address: Address | None = None


@dataclass(frozen=True)
class Part:
    """One part of an order as quoted: its sender, objects, way and price."""

    organisation: Organisation
    giver_id: int | None
    items: tuple[Item, ...]
    method: str
    shipping_cents: int = 0
    carrier: str = ""
    relay_point: RelayPoint | None = None
    address: Address | None = None

    @property
    def key(self) -> SenderKey:
        return (self.organisation.pk, self.giver_id)

    @property
    def weight_grams(self) -> int:
        return sum(item.weight_grams or 0 for item in self.items)

    @property
    def items_cents(self) -> int:
        return sum(item.price_cents or 0 for item in self.items)

    def address_dict(self) -> dict[str, str]:
        if self.address is None:
            return {}
        return {name: getattr(self.address, name) for name, _max, _required in ADDRESS_FIELDS}


@dataclass(frozen=True)
class Plan:
    parts: list[Part] = field(default_factory=list)

    @property
    def shipping_cents(self) -> int:
        return sum(part.shipping_cents for part in self.parts)

    @property
    def items_cents(self) -> int:
        return sum(part.items_cents for part in self.parts)

    def by_organisation(self) -> list[tuple[Organisation, int]]:
        """Shipping per organisation (its own parcel and its givers' added up), in the parts' order."""
        totals: dict[int, tuple[Organisation, int]] = {}
        for part in self.parts:
            organisation, cents = totals.get(part.organisation.pk, (part.organisation, 0))
            totals[part.organisation.pk] = (organisation, cents + part.shipping_cents)
        return list(totals.values())


def item_giver_id(item: Item) -> int | None:
    """The private person who keeps ``item`` and sends or hands it over themselves, if any.

    An object at a giver's home (a postal code of its own) is theirs to send: its ``owner``
    (who listed it and keeps it), or, when the owner left, its ``donor``. An object standing
    at the organisation (no postal code: received, or the organisation's own stock) has none."""
    if not item.kept_by_giver:
        return None
    return item.owner_id or item.donor_id


def item_sender(item: Item) -> SenderKey:
    return (item.campaign.organisation_id, item_giver_id(item))


def sender_slug(key: SenderKey) -> str:
    """A sender's name in a form (``o12``, ``o12-g5``): the basket page's field prefixes."""
    organisation_id, giver_id = key
    return f"o{organisation_id}" if giver_id is None else f"o{organisation_id}-g{giver_id}"


def parts_of(items: Iterable[Item]) -> list[tuple[SenderKey, list[Item]]]:
    """The items grouped by sender, in the order each sender first appears."""
    groups: dict[SenderKey, list[Item]] = {}
    for item in items:
        groups.setdefault(item_sender(item), []).append(item)
    return list(groups.items())


def methods_allowed(items: Iterable[Item]) -> list[str]:
    """The ways every one of ``items`` may travel (in METHODS' order): what one part may choose."""
    allowed = set(METHODS)
    for item in items:
        allowed &= set(item.delivery_methods)
    return [method for method in METHODS if method in allowed]


def address_clean(raw: object) -> tuple[Address | None, dict[str, list[str]]]:
    """A home address as received (form or JSON) → the address, or the errors per field in
    the active language. Every value is a trimmed string, bounded, without control characters;
    the country is France for now, the postal code five digits."""
    if not isinstance(raw, Mapping):
        return None, {"non_field_errors": [str(_("Indiquez l'adresse de livraison, champ par champ."))]}
    values: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for name, max_length, required in ADDRESS_FIELDS:
        value = posted_text(raw, name)
        if value is None:
            errors[name] = [str(NOT_A_TEXT)]
            continue
        if name == "postal_code":
            value = normalise_postal_code(value)
        if name == "country":
            value = value.upper()
        try:
            no_control_characters(value)
        except ValidationError as error:
            errors[name] = [str(message) for message in error.messages]
            continue
        if required and not value:
            errors[name] = [str(_("Ce champ est nécessaire pour livrer le colis."))]
        elif name == "postal_code" and not (len(value) == 5 and value.isascii() and value.isdigit()):
            errors[name] = [str(_("Un code postal français a cinq chiffres, par exemple 64000."))]
        elif name == "country" and value not in ADDRESS_COUNTRIES:
            errors[name] = [str(_("Les colis partent en France seulement pour l'instant (« FR »)."))]
        elif len(value) > max_length:
            errors[name] = [str(_("Pas plus de %(max)s caractères.") % {"max": max_length})]
        else:
            values[name] = value
    if errors:
        return None, errors
    return Address(**values), {}


def relay_point_id_clean(value: object) -> str | None:
    """A relay point's id as received, trimmed; None when it cannot be one (not a short printable text)."""
    if not isinstance(value, str):
        return None
    cleaned = value.strip()
    if not cleaned or len(cleaned) > RELAY_POINT_ID_MAX or not cleaned.isprintable():
        return None
    return cleaned


def _refused(detail: Any, field: str = "delivery.method") -> DeliveryRefused:
    refused = DeliveryRefused(str(detail), detail=detail)
    refused.field = field
    return refused


def _method_check(method: str, items: list[Item], giver_id: int | None) -> None:
    if method not in METHODS:
        raise _refused(_("Choisissez le retrait, un point relais ou la livraison à domicile."))
    if method in methods_allowed(items):
        return
    if method == HOME and giver_id is not None:
        raise _refused(
            _("Un objet gardé par un particulier part en point relais seulement : choisissez un point relais.")
        )
    titles = ", ".join(f"« {item.title} »" for item in items if method not in item.delivery_methods)
    raise _refused(_("Ces objets ne peuvent pas être envoyés ainsi : %(titles)s.") % {"titles": titles})


def _relay_point(service: Carrier, relay_point_id: str) -> RelayPoint:
    cleaned = relay_point_id_clean(relay_point_id)
    field = "delivery.relay_point_id"
    if cleaned is None:
        raise _refused(_("Choisissez un point relais dans la liste."), field)
    try:
        point = service.relay_point(cleaned)
    except CarrierError:
        logger.warning("delivery: relay point %r not checked, carrier down", cleaned, exc_info=True)
        raise ShippingUnavailable("relay point check") from None
    if point is None:
        raise _refused(_("Ce point relais n'existe pas ou n'est plus ouvert : choisissez-en un autre."), field)
    return point


def _quote(service: Carrier, *, method: str, weight_grams: int, origin: str, destination: str) -> int:
    try:
        cents = service.quote_cents(
            method=method, weight_grams=weight_grams, origin_postal_code=origin, postal_code=destination
        )
    except CarrierError:
        logger.warning("delivery: no quote (%s, %s g, %s → %s)", method, weight_grams, origin, destination)
        raise ShippingUnavailable("quote") from None
    if not isinstance(cents, int) or isinstance(cents, bool) or not 0 <= cents <= settings.GIFT_MAX_CENTS:
        # A carrier's answer is an outside input too: never a float or an absurd price in our books.
        logger.error("delivery: carrier quoted %r; refused", cents)
        raise ShippingUnavailable("quote out of bounds")
    return cents


def _origin(organisation: Organisation, items: list[Item], giver_id: int | None) -> str:
    if giver_id is not None:
        return items[0].postal_code
    return normalise_postal_code(organisation.postal_code)


def part_quote(
    *,
    organisation: Organisation,
    giver_id: int | None,
    items: list[Item],
    choice: DeliveryChoice,
    estimate_to: str | None = None,
) -> Part:
    """One part's way and price. ``estimate_to`` (the quote endpoint, before any relay point or
    address is chosen): the destination's postal code, or "" for a parcel that stays near its origin."""
    method = choice.method
    _method_check(method, items, giver_id)
    if method == COLLECTION:
        return Part(organisation=organisation, giver_id=giver_id, items=tuple(items), method=method)
    weight = sum(item.weight_grams or 0 for item in items)
    if weight > settings.PARCEL_MAX_GRAMS:
        raise _refused(
            _(
                "Ces objets pèsent ensemble plus de %(max)s kg, le poids d'un colis : choisissez le retrait, "
                "ou achetez-les en plusieurs fois."
            )
            % {"max": settings.PARCEL_MAX_GRAMS // 1000}
        )
    origin = _origin(organisation, items, giver_id)
    service = carrier()
    point, address = None, None
    if method == RELAY and (choice.relay_point_id or estimate_to is None):
        point = _relay_point(service, choice.relay_point_id)
        destination = point.postal_code
    elif method == HOME and (choice.address is not None or estimate_to is None):
        if choice.address is None:
            raise _refused(_("Indiquez l'adresse de livraison."), "delivery.address")
        address = choice.address
        destination = address.postal_code
    else:
        destination = estimate_to or origin
    cents = _quote(service, method=method, weight_grams=weight, origin=origin, destination=destination)
    return Part(
        organisation=organisation,
        giver_id=giver_id,
        items=tuple(items),
        method=method,
        shipping_cents=cents,
        carrier=service.name,
        relay_point=point,
        address=address,
    )


def delivery_plan(
    *,
    items: list[Item],
    choices: Mapping[SenderKey, DeliveryChoice] | DeliveryChoice | None = None,
    estimate_to: str | None = None,
) -> Plan:
    """Every part of a basket of ``items`` (each with its campaign's organisation loaded), its
    way and its price: ``choices`` per sender, or one choice for all (the API), or collection
    for all (None; a sender missing from the mapping is collected too); ``estimate_to``: see
    ``part_quote``. Calls the carrier: never
    inside a transaction that holds rows. DeliveryRefused / ShippingUnavailable otherwise."""
    parts = []
    for key, group in parts_of(items):
        choice = choices if isinstance(choices, DeliveryChoice) else (choices or {}).get(key, DeliveryChoice())
        organisation = group[0].campaign.organisation
        parts.append(
            part_quote(organisation=organisation, giver_id=key[1], items=group, choice=choice, estimate_to=estimate_to)
        )
    return Plan(parts=parts)


def _fingerprint(item: Item) -> tuple[Any, ...]:
    return (item.pk, item_sender(item), item.weight_grams, tuple(item.delivery_methods), item.price_cents)


def quoted_columns(item: Item) -> dict[str, Any]:
    """The columns ``_fingerprint`` is made of (sender: campaign, postal code, owner, donor; weight;
    ways: ships and postal code; price), as read for the quote: a hold whose UPDATE also asks for
    them holds the row as quoted, without reading it again."""
    return {
        "campaign_id": item.campaign_id,
        "postal_code": item.postal_code,
        "owner_id": item.owner_id,
        "donor_id": item.donor_id,
        "weight_grams": item.weight_grams,
        "ships": item.ships,
        "price_cents": item.price_cents,
    }


def plan_check(plan: Plan, held: list[Item]) -> None:
    """The items held (read under their holds) are the ones the plan quoted: same sender, weight,
    ways and price. Otherwise QuoteStale, and the caller's transaction lets every hold go."""
    quoted = sorted(_fingerprint(item) for part in plan.parts for item in part.items)
    if quoted != sorted(_fingerprint(item) for item in held):
        raise QuoteStale("items changed between quote and hold")
