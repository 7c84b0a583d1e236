"""How an object can reach its buyer, as its page says it: collected at the organisation,
handed over in person by the private giver who keeps it (their town only), or sent as a
parcel to a relay point or a home, "dès X €" from the carrier's tariff for its weight.

The tariff is asked of the configured carrier once per (carrier, method, weight) and kept in
the shared cache for a day; a carrier that is down or slow costs the page nothing but the
price (the way stays, without "dès"), and the failure is remembered for a minute so that a
busy page does not knock on a closed door at every view."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.cache import cache
from django.utils.translation import gettext as _

from delivery.carriers import carrier
from donations.models import COLLECTION, HOME, RELAY, Item, giver_town
from donations.services import item_stays_with_giver

logger = logging.getLogger(__name__)

QUOTE_SECONDS = 24 * 3600
# Remembered when the carrier could not answer: no price shown meanwhile.
QUOTE_FAILED_SECONDS = 60
_FAILED = -1


@dataclass(frozen=True)
class Way:
    method: str
    title: str
    detail: str
    # The lowest price of a parcel of this weight, in cents; None for collection or when unknown.
    from_cents: int | None = None


def parcel_from_cents(*, method: str, weight_grams: int, origin_postal_code: str) -> int | None:
    """The carrier's price of one parcel of ``weight_grams`` (cached), or None when it cannot say."""
    chosen = carrier()
    key = f"tremma:parcel-from:{chosen.name}:{method}:{weight_grams}"
    cached = cache.get(key)
    if isinstance(cached, int):
        return None if cached == _FAILED else cached
    try:
        cents = chosen.quote_cents(
            method=method,
            weight_grams=weight_grams,
            origin_postal_code=origin_postal_code,
            postal_code=origin_postal_code,
        )
    except Exception:
        # CarrierError, a timeout, a refused connection: the page still answers, without a price.
        logger.warning("parcel quote failed (%s, %s g)", method, weight_grams, exc_info=True)
        cache.set(key, _FAILED, QUOTE_FAILED_SECONDS)
        return None
    cache.set(key, cents, QUOTE_SECONDS)
    return cents


def item_ways(item: Item) -> list[Way]:
    """The ways ``item`` can reach its buyer (``Item.delivery_methods``), in the page's words."""
    organisation = item.campaign.organisation
    ways: list[Way] = []
    with_giver = item_stays_with_giver(item)
    for method in item.delivery_methods:
        if method == COLLECTION and with_giver:
            town = giver_town(giver=item.owner, postal_code=item.postal_code)
            ways.append(
                Way(
                    method,
                    _("Remise en main propre par le donateur à %(town)s") % {"town": town},
                    _(
                        "Après le paiement, le donateur vous écrit pour convenir du rendez-vous ; "
                        "vous lui donnez votre code de retrait."
                    ),
                )
            )
        elif method == COLLECTION:
            ways.append(
                Way(
                    method,
                    _("Retrait à %(name)s (%(city)s)") % {"name": organisation.name, "city": organisation.city},
                    _(
                        "Après le paiement, vous recevez par e-mail un code et un QR code de retrait "
                        "à présenter à l'association."
                    ),
                )
            )
        elif method in (RELAY, HOME) and item.weight_grams:
            origin = item.postal_code or organisation.postal_code
            cents = parcel_from_cents(method=method, weight_grams=item.weight_grams, origin_postal_code=origin)
            title = _("Envoi en point relais") if method == RELAY else _("Livraison à domicile")
            detail = (
                _("frais de port payés avec l'objet, selon le poids")
                if cents is not None
                else _("frais de port calculés dans le panier")
            )
            ways.append(Way(method, title, detail, cents))
    return ways
