"""The buyer's basket: the objects a person means to buy together, paid in one
payment (checkout.services.order_start holds them all or none).

It lives in the session, as item ids only, so a guest needs no account, and a
guest who signs in keeps it (Django's ``login`` keeps the session's data when
nobody was signed in). What the objects are, what they cost and whether they
can still be bought is read from the database each time the basket is shown:
an object sold meanwhile is shown as such, never paid for.

While its payment is open, the session also remembers that order, so that the
basket page can say until when the objects are held, resume or cancel the
payment, and empty itself of what was bought."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.sessions.backends.base import SessionBase
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.requests import signed_in
from campaigns.models import Organisation
from checkout.forms import BuyForm
from checkout.services import ItemUnavailable, order_cancel, order_start
from checkout.services.orders import RETURN_SALT
from checkout.services.shipping import (
    DeliveryChoice,
    DeliveryRefused,
    SenderKey,
    ShippingChanged,
    ShippingUnavailable,
    address_clean,
    item_sender,
    methods_allowed,
    part_quote,
    relay_point_id_clean,
    sender_slug,
)
from checkout.throttles import payment_attempt_check
from delivery.carriers import Address, CarrierError, RelayPoint, carrier
from donations.models import (
    COLLECTION,
    HOME,
    PUBLIC_STATUSES,
    RELAY,
    Item,
    ItemStatus,
    Order,
    PaymentStatus,
    Reservation,
)
from kernel.errors import DomainError
from kernel.net import client_key
from kernel.places import normalise_postal_code

logger = logging.getLogger(__name__)

SESSION_KEY = "basket"
ORDER_KEY = "basket_order"


def basket_max() -> int:
    """How many objects a basket holds at most: what ``order_start`` accepts in one payment."""
    return int(settings.BASKET_MAX_ITEMS)


# --- The session's list -----------------------------------------------------------------------


def basket_ids(session: SessionBase) -> list[int]:
    """The basket's item ids, in the order they were added. Anything else the session holds
    under the key (an older shape, a store edited by hand) reads as nothing."""
    raw = session.get(SESSION_KEY)
    if not isinstance(raw, list):
        return []
    ids: list[int] = []
    for value in raw:
        if type(value) is int and value > 0 and value not in ids:
            ids.append(value)
    return ids[: basket_max()]


def _ids_keep(session: SessionBase, ids: list[int]) -> None:
    session[SESSION_KEY] = ids


def basket_discard(session: SessionBase, item_ids: Iterable[int]) -> None:
    """Take ``item_ids`` out of the basket (bought, removed, or no longer existing)."""
    gone = set(item_ids)
    ids = basket_ids(session)
    if gone & set(ids):
        _ids_keep(session, [pk for pk in ids if pk not in gone])


def basket_summary(request: HttpRequest) -> dict[str, Any]:
    """Context processor: ``basket_ids`` and ``basket_count`` for the header's link and the
    item pages' "add" button. No query of its own: the session is read once per request
    anyway (the header asks who is signed in), and a visitor without one has nothing to read."""
    session = getattr(request, "session", None)
    ids = basket_ids(session) if session is not None else []
    return {"basket_ids": ids, "basket_count": len(ids)}


# --- What the basket shows --------------------------------------------------------------------

AVAILABLE, YOURS, RESERVED, SOLD, GONE = "available", "yours", "reserved", "sold", "gone"

# A home address on the basket page: field, label, autocomplete token (after "shipping").
ADDRESS_LABELS = (
    ("name", gettext_lazy("Nom et prénom"), "name"),
    ("address_line1", gettext_lazy("Adresse"), "address-line1"),
    ("address_line2", gettext_lazy("Complément d'adresse (facultatif)"), "address-line2"),
    ("postal_code", gettext_lazy("Code postal"), "postal-code"),
    ("city", gettext_lazy("Ville"), "address-level2"),
)
ADDRESS_NAMES = tuple(name for name, _label, _autocomplete in ADDRESS_LABELS)

STATE_NOTES = {
    YOURS: gettext_lazy("Réservé pour vous pendant le paiement."),
    RESERVED: gettext_lazy(
        "Réservé : quelqu'un est en train de le payer. S'il ne va pas au bout, "
        "l'objet sera de nouveau disponible dans quelques minutes."
    ),
    SOLD: gettext_lazy("Vendu : cet objet n'est plus disponible."),
    GONE: gettext_lazy("Retiré de la vente : cet objet n'est plus disponible."),
}


@dataclass(frozen=True)
class BasketLine:
    item: Item
    state: str
    # The payment was just refused because of this object (someone held or bought it first).
    refused: bool = False

    @property
    def payable(self) -> bool:
        return self.state == AVAILABLE

    @property
    def note(self) -> str:
        return str(STATE_NOTES.get(self.state, ""))


@dataclass
class BasketGroup:
    """The objects of one sender (an organisation, or a private giver who keeps them): one part
    of the order, collected with one claim code or sent as one parcel, as the buyer chooses here."""

    organisation: Organisation
    giver_id: int | None = None
    lines: list[BasketLine] = field(default_factory=list)
    # The buyer's delivery choice for this part, as ``basket_delivery_resolve`` read it.
    methods: list[str] = field(default_factory=list)
    method: str = COLLECTION
    relay_postal_code: str = ""
    relay_points: list[RelayPoint] = field(default_factory=list)
    relay_point: RelayPoint | None = None
    address: dict[str, str] = field(default_factory=dict)
    # What this parcel costs (0 when collected); None while it cannot be quoted yet.
    shipping_cents: int | None = 0
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def key(self) -> SenderKey:
        return (self.organisation.pk, self.giver_id)

    @property
    def slug(self) -> str:
        return sender_slug(self.key)

    @property
    def postal_code(self) -> str:
        """Where a private giver keeps the objects (their postal code)."""
        return self.lines[0].item.postal_code if self.giver_id is not None and self.lines else ""

    @property
    def payable_lines(self) -> list[BasketLine]:
        return [line for line in self.lines if line.payable]

    @property
    def total_cents(self) -> int:
        return sum(line.item.price_cents or 0 for line in self.lines if line.payable or line.state == YOURS)

    @property
    def address_rows(self) -> list[dict[str, Any]]:
        """The home address's fields as the page shows them: name, label, autocomplete, value, errors."""
        return [
            {
                "name": name,
                "label": label,
                "autocomplete": autocomplete,
                "value": self.address.get(name, ""),
                "errors": self.errors.get(name, []),
                "required": name != "address_line2",
            }
            for name, label, autocomplete in ADDRESS_LABELS
        ]

    @property
    def choice(self) -> DeliveryChoice:
        address = Address(**self.address) if self.method == HOME and self.address else None
        relay_point_id = self.relay_point.id if self.relay_point is not None else ""
        return DeliveryChoice(method=self.method, relay_point_id=relay_point_id, address=address)


@dataclass(frozen=True)
class Basket:
    groups: list[BasketGroup]
    # The basket's payment while it is open (its objects are held for this person).
    pending: Order | None = None
    # Ids in the session that no longer exist.
    missing: tuple[int, ...] = ()

    @property
    def lines(self) -> list[BasketLine]:
        return [line for group in self.groups for line in group.lines]

    @property
    def count(self) -> int:
        return len(self.lines)

    @property
    def payable_ids(self) -> list[int]:
        return [line.item.pk for line in self.lines if line.payable]

    @property
    def total_cents(self) -> int:
        return sum(group.total_cents for group in self.groups)

    @property
    def unavailable_count(self) -> int:
        return sum(1 for line in self.lines if line.state not in (AVAILABLE, YOURS))

    @property
    def shipping_cents(self) -> int:
        return sum(group.shipping_cents or 0 for group in self.groups if group.payable_lines)

    @property
    def shipping_known(self) -> bool:
        return all(group.shipping_cents is not None for group in self.groups if group.payable_lines)

    @property
    def pay_cents(self) -> int:
        """What "Payer" charges: the objects available and their shipping."""
        return self.total_cents + self.shipping_cents

    @property
    def has_errors(self) -> bool:
        return any(group.errors for group in self.groups)


def _for_sale(item: Item) -> bool:
    return item.status == ItemStatus.LISTED and bool(item.price_cents) and item.kind == Item.Kind.SALE


def basket_read(ids: list[int], *, pending: Order | None = None, refused: Iterable[int] = ()) -> Basket:
    """The basket's objects grouped by sender (in the order each was first added),
    each with what can be done with it now. Three queries (items, their photos, the holds
    of the reserved ones), whatever the size."""
    items = {
        item.pk: item
        for item in Item.objects.filter(pk__in=ids).select_related("campaign__organisation").prefetch_related("photos")
    }
    reserved = [pk for pk, item in items.items() if item.status == ItemStatus.RESERVED]
    holds = (
        Reservation.objects.filter(item_id__in=reserved, status=Reservation.Status.HELD).values_list(
            "item_id", "order_id", "expires_at"
        )
        if reserved
        else []
    )
    now = timezone.now()
    yours = {item_id for item_id, order_id, _until in holds if pending is not None and order_id == pending.pk}
    # A hold past its end is void (order_start releases it as soon as someone asks for the item).
    lapsed = {item_id for item_id, order_id, until in holds if until <= now and item_id not in yours}
    refused_ids = set(refused)
    groups: dict[SenderKey, BasketGroup] = {}
    for pk in ids:
        item = items.get(pk)
        if item is None:
            continue
        if pk in yours:
            state = YOURS
        elif _for_sale(item) or (pk in lapsed and bool(item.price_cents)):
            state = AVAILABLE
        elif item.status == ItemStatus.RESERVED:
            state = RESERVED
        elif item.status in (ItemStatus.SOLD, ItemStatus.HANDED_OVER):
            state = SOLD
        else:
            state = GONE
        key = item_sender(item)
        group = groups.setdefault(key, BasketGroup(organisation=item.campaign.organisation, giver_id=key[1]))
        group.lines.append(BasketLine(item=item, state=state, refused=pk in refused_ids and state != YOURS))
    return Basket(groups=list(groups.values()), pending=pending, missing=tuple(pk for pk in ids if pk not in items))


# --- Delivery, chosen per part before paying -----------------------------------------------------

DELIVERY_KEY = "basket_delivery"
# One part's choice as posted (``<slug>-<name>``, slug: ``shipping.sender_slug``) and kept in the session.
DELIVERY_FIELDS = ("method", "relay_postal_code", "relay_point_id", *ADDRESS_NAMES)
DELIVERY_VALUE_MAX = 300
RELAY_POINTS_SHOWN = 10


def _delivery_kept(session: SessionBase) -> dict[str, dict[str, str]]:
    """The choices kept in the session, per part; anything of another shape reads as nothing."""
    raw = session.get(DELIVERY_KEY)
    if not isinstance(raw, dict):
        return {}
    return {
        slug: {name: value for name, value in fields.items() if name in DELIVERY_FIELDS and isinstance(value, str)}
        for slug, fields in raw.items()
        if isinstance(slug, str) and isinstance(fields, dict)
    }


def _delivery_keep(request: HttpRequest, basket: Basket) -> dict[str, dict[str, str]]:
    """Keep the posted choice of each part of ``basket`` (strings, bounded) in the session, so that it
    stays while the basket changes; the parts no longer in the basket are forgotten."""
    kept = _delivery_kept(request.session)
    for group in basket.groups:
        posted = {
            name: value[:DELIVERY_VALUE_MAX]
            for name in DELIVERY_FIELDS
            if isinstance(value := request.POST.get(f"{group.slug}-{name}"), str)
        }
        if posted:
            kept[group.slug] = posted
    kept = {slug: fields for slug, fields in kept.items() if slug in {group.slug for group in basket.groups}}
    request.session[DELIVERY_KEY] = kept
    return kept


def _relay_resolve(group: BasketGroup, raw: dict[str, str], *, check: bool) -> None:
    service = carrier()
    typed = raw.get("relay_postal_code", "").strip()
    postal_code = normalise_postal_code(typed)
    group.relay_postal_code = postal_code if postal_code.isascii() else typed
    if postal_code:
        if not (len(postal_code) == 5 and postal_code.isascii() and postal_code.isdigit()):
            group.errors["relay_postal_code"] = [_("Un code postal français a cinq chiffres, par exemple 64000.")]
        else:
            try:
                group.relay_points = service.relay_points(postal_code=postal_code, limit=RELAY_POINTS_SHOWN)
            except CarrierError:
                logger.warning("basket: relay points near %s not found, carrier down", postal_code, exc_info=True)
                group.errors["relay_postal_code"] = [str(ShippingUnavailable.default_detail)]
    chosen = relay_point_id_clean(raw.get("relay_point_id"))
    if chosen is not None:
        point = next((point for point in group.relay_points if point.id == chosen), None)
        if point is None:
            try:
                point = service.relay_point(chosen)
            except CarrierError:
                group.errors["relay_point_id"] = [str(ShippingUnavailable.default_detail)]
                return
            if point is None:
                group.errors["relay_point_id"] = [
                    _("Ce point relais n'existe pas ou n'est plus ouvert : choisissez-en un autre.")
                ]
                return
            group.relay_points = [point, *group.relay_points]
        group.relay_point = point
    elif check and not group.errors:
        if not group.relay_points:
            group.errors["relay_postal_code"] = [_("Indiquez un code postal pour trouver les points relais proches.")]
        else:
            group.errors["relay_point_id"] = [_("Choisissez un point relais dans la liste.")]


def _home_resolve(group: BasketGroup, raw: dict[str, str], *, check: bool) -> None:
    typed = {name: raw.get(name, "") for name in ADDRESS_NAMES}
    group.address = typed
    if not check and not any(value.strip() for value in typed.values()):
        return
    address, errors = address_clean({**typed, "country": "FR"})
    if address is None:
        for name, messages in errors.items():
            group.errors[name if name in ADDRESS_NAMES else "name"] = messages
        return
    group.address = {**{name: getattr(address, name) for name in ADDRESS_NAMES}, "country": address.country}


def basket_delivery_resolve(basket: Basket, kept: dict[str, dict[str, str]], *, check: bool) -> None:
    """Read each part's kept choice into the basket: the ways all its available objects allow,
    the relay points near the postal code typed, the address, and the carrier's price of the
    parcel when it can be quoted. ``check`` (paying): a choice left incomplete is an error
    beside its field; otherwise only what was typed wrong is. The carrier down is said beside
    the part, never a 500."""
    for group in basket.groups:
        items = [line.item for line in group.payable_lines]
        if not items:
            continue
        group.methods = methods_allowed(items)
        raw = kept.get(group.slug, {})
        method = raw.get("method", "")
        if method and method not in group.methods:
            group.errors["method"] = [_("Ce mode de livraison n'est pas possible pour ces objets.")]
        group.method = method if method in group.methods else COLLECTION
        if group.method == RELAY:
            _relay_resolve(group, raw, check=check)
        elif group.method == HOME:
            _home_resolve(group, raw, check=check)
        ready = (group.method == RELAY and group.relay_point is not None) or (
            group.method == HOME and "country" in group.address
        )
        if group.method == COLLECTION:
            group.shipping_cents = 0
        elif group.errors or not ready:
            group.shipping_cents = None
        else:
            try:
                part = part_quote(
                    organisation=group.organisation, giver_id=group.giver_id, items=items, choice=group.choice
                )
            except (DeliveryRefused, ShippingUnavailable) as refused:
                name = (refused.field or "method").rsplit(".", 1)[-1]
                group.errors[name if name in DELIVERY_FIELDS else "method"] = [str(refused.detail)]
                group.shipping_cents = None
            else:
                group.shipping_cents = part.shipping_cents


def _shown_cents(value: str | None) -> int | None:
    """The shipping the page showed (its hidden field); None when absent or not a small whole number."""
    if value is None or not (value.isascii() and value.isdigit() and len(value) <= 9):
        return None
    return int(value)


# --- The basket's open payment ----------------------------------------------------------------


def order_return_ref(order: Order) -> str:
    """The signed reference the provider's return pages take (checkout.services.orders)."""
    return signing.dumps({"kind": "order", "id": order.pk}, salt=RETURN_SALT)


def _pending_order(request: HttpRequest) -> tuple[Order | None, Order | None]:
    """The basket's open payment, and the one just paid (its objects are then taken out of
    the basket, once). Anything else (expired, cancelled, failed) is forgotten."""
    session = request.session
    order_id = session.get(ORDER_KEY)
    if order_id is None:
        return None, None
    order = Order.objects.filter(pk=order_id).first() if type(order_id) is int else None
    if (
        order is not None
        and order.status == PaymentStatus.PENDING
        and order.expires_at > timezone.now()
        and order.reservations.filter(status=Reservation.Status.HELD).exists()
    ):
        return order, None
    del session[ORDER_KEY]
    if order is not None and order.status == PaymentStatus.PAID:
        basket_discard(session, order.lines.values_list("item_id", flat=True))
        return None, order
    return None, None


def basket_forget_order(session: SessionBase, order: Order) -> None:
    """The return pages: this order is over (paid: its objects leave the basket) or cancelled."""
    if session.get(ORDER_KEY) == order.pk:
        del session[ORDER_KEY]
    if order.status == PaymentStatus.PAID:
        basket_discard(session, order.lines.values_list("item_id", flat=True))


# --- Pages ------------------------------------------------------------------------------------


def _back_to(request: HttpRequest, default: str) -> str:
    """Where the "add" and "remove" buttons return: the page they were on (``next``), on this site only."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _page(
    request: HttpRequest,
    basket: Basket,
    *,
    form: BuyForm | None = None,
    errors: list[str] | None = None,
    paid: Order | None = None,
    status: int = 200,
) -> HttpResponse:
    user = signed_in(request)
    context = {
        "basket": basket,
        "form": form or BuyForm(initial={"email": user.email if user else ""}),
        "errors": errors or [],
        "basket_max": basket_max(),
        "paid_url": f"{reverse('checkout:success')}?ref={order_return_ref(paid)}" if paid else "",
    }
    response = render(request, "checkout/basket.html", context, status=status)
    # Someone's own objects and email: no shared cache keeps the page.
    patch_cache_control(response, private=True, no_store=True)
    return response


def _read(request: HttpRequest, *, refused: Iterable[int] = ()) -> tuple[Basket, Order | None]:
    pending, paid = _pending_order(request)
    basket = basket_read(basket_ids(request.session), pending=pending, refused=refused)
    if basket.missing:
        basket_discard(request.session, basket.missing)
    return basket, paid


def _unavailable(request: HttpRequest, form: BuyForm, item_ids: list[int]) -> HttpResponse:
    basket = basket_read(basket_ids(request.session), refused=item_ids)
    basket_delivery_resolve(basket, _delivery_kept(request.session), check=False)
    count = sum(1 for line in basket.lines if line.refused)
    message = (
        _("Un objet de votre panier n'est plus disponible : rien n'a été réservé ni payé.")
        if count <= 1
        else _("%(count)d objets de votre panier ne sont plus disponibles : rien n'a été réservé ni payé.")
        % {"count": count}
    )
    return _page(request, basket, form=form, errors=[message], status=409)


@require_http_methods(["GET", "HEAD", "POST"])
def basket_page(request: HttpRequest) -> HttpResponse:
    """``/panier/``: the objects, grouped by sender, each part's delivery (collection, a relay
    point found by postal code, or home) with its price, and one payment for all of them.
    Every choice is a plain form round trip (``action=update``), so it works with a keyboard and
    without JavaScript. "Payer" holds them all or none (``order_start``), then goes to the provider."""
    basket, paid = _read(request)
    if request.method != "POST":
        basket_delivery_resolve(basket, _delivery_kept(request.session), check=False)
        return _page(request, basket, paid=paid)
    if basket.pending is not None:
        # A payment is already open for these objects: resume it or cancel it first.
        return HttpResponseRedirect(reverse("checkout:basket"), status=303)
    kept = _delivery_keep(request, basket)
    paying = request.POST.get("action", "pay") == "pay"
    basket_delivery_resolve(basket, kept, check=paying)
    if not paying:
        # "Chercher" or "Mettre à jour": the relay points near a postal code, a way's fields, the new total.
        email = request.POST.get("email", "")
        return _page(request, basket, form=BuyForm(initial={"email": email[:254] if isinstance(email, str) else ""}))
    form = BuyForm(request.POST)
    # What the page showed as payable is what is paid: never an object added meanwhile in
    # another tab, never one the basket no longer holds.
    in_basket = {str(line.item.pk): line for line in basket.lines}
    shown = {value.strip() for value in request.POST.getlist("items")}
    payable = {str(pk) for pk in basket.payable_ids}
    if not form.is_valid():
        return _page(request, basket, form=form, status=400)
    if not shown or shown - set(in_basket) or payable - shown:
        message = _("Votre panier a changé pendant que vous le regardiez : vérifiez-le, puis payez de nouveau.")
        return _page(request, basket, form=form, errors=[message], status=409)
    taken = [in_basket[pk].item.pk for pk in shown - payable]
    if taken:
        # Held or sold by someone else since the page was shown: said beside each, nothing held.
        return _unavailable(request, form, taken)
    if basket.has_errors:
        message = _("Vérifiez la livraison : ce qui manque est indiqué à côté de chaque champ.")
        return _page(request, basket, form=form, errors=[message], status=400)
    shipping_shown = _shown_cents(request.POST.get("shipping_cents"))
    if shipping_shown is not None and shipping_shown != basket.shipping_cents:
        # The buyer pays only a total they saw: the page shows the new one, nothing is held.
        return _page(request, basket, form=form, errors=[str(ShippingChanged.default_detail)], status=409)
    ids = [pk for pk in basket.payable_ids if str(pk) in shown]
    email = form.cleaned_data["email"]
    key = client_key(request)
    try:
        payment_attempt_check(client_key=key, email=email)
        order = order_start(
            item_ids=ids,
            email=email,
            user=signed_in(request),
            client_key=key,
            delivery={group.key: group.choice for group in basket.groups if group.payable_lines},
            shipping_cents_shown=basket.shipping_cents if shipping_shown is not None else None,
        )
    except ItemUnavailable as refused:
        return _unavailable(request, form, getattr(refused, "unavailable", None) or ids)
    except DomainError as error:
        return _page(request, basket, form=form, errors=[str(error.detail)], status=error.status_code)
    request.session[ORDER_KEY] = order.pk
    return HttpResponseRedirect(order.checkout_url, status=303)


@require_POST
def basket_add(request: HttpRequest, pk: int) -> HttpResponse:
    """The item pages' "Ajouter au panier": back to the page, which now says it is in the basket."""
    item = Item.objects.filter(pk=pk, status__in=PUBLIC_STATUSES).first()
    if item is None:
        raise Http404
    back = _back_to(request, item.get_absolute_url())
    ids = basket_ids(request.session)
    if pk in ids:
        messages.info(request, _("« %(title)s » est déjà dans votre panier.") % {"title": item.title})
    elif not _for_sale(item):
        messages.error(
            request,
            _("« %(title)s » n'est pas disponible en ce moment : il ne peut pas aller dans le panier.")
            % {"title": item.title},
        )
    elif len(ids) >= basket_max():
        messages.error(
            request,
            _("Votre panier est plein (%(max)d objets au plus par paiement) : payez-le ou retirez-en un objet.")
            % {"max": basket_max()},
        )
    else:
        _ids_keep(request.session, [*ids, pk])
        messages.success(request, _("« %(title)s » est dans votre panier.") % {"title": item.title})
    return HttpResponseRedirect(back, status=303)


@require_POST
def basket_remove(request: HttpRequest, pk: int) -> HttpResponse:
    ids = basket_ids(request.session)
    if pk in ids:
        basket_discard(request.session, [pk])
        title = Item.objects.filter(pk=pk).values_list("title", flat=True).first()
        if title is not None:
            messages.success(request, _("« %(title)s » est retiré de votre panier.") % {"title": title})
    return HttpResponseRedirect(_back_to(request, reverse("checkout:basket")), status=303)


@require_POST
def basket_cancel(request: HttpRequest) -> HttpResponse:
    """The basket page's "Annuler le paiement": the objects are available again at once
    (``order_cancel``) and stay in the basket."""
    order_id = request.session.get(ORDER_KEY)
    if order_id is None:
        return HttpResponseRedirect(reverse("checkout:basket"), status=303)
    del request.session[ORDER_KEY]
    order = Order.objects.filter(pk=order_id).first() if type(order_id) is int else None
    if order is None:
        return HttpResponseRedirect(reverse("checkout:basket"), status=303)
    if order_cancel(order_id=order.pk):
        messages.success(request, _("Paiement annulé : rien n'a été payé, et les objets restent dans votre panier."))
        return HttpResponseRedirect(reverse("checkout:basket"), status=303)
    order.refresh_from_db()
    if order.status == PaymentStatus.PAID:
        # Paid a moment before: nothing to cancel, the claim codes are ready.
        basket_forget_order(request.session, order)
        return HttpResponseRedirect(f"{reverse('checkout:success')}?ref={order_return_ref(order)}", status=303)
    return HttpResponseRedirect(reverse("checkout:basket"), status=303)
