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
from checkout.throttles import payment_attempt_check
from donations.models import PUBLIC_STATUSES, Item, ItemStatus, Order, PaymentStatus, Reservation
from kernel.errors import DomainError
from kernel.net import client_key

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
    """The objects of one organisation: collected there together, with one claim code."""

    organisation: Organisation
    lines: list[BasketLine] = field(default_factory=list)

    @property
    def total_cents(self) -> int:
        return sum(line.item.price_cents or 0 for line in self.lines if line.payable or line.state == YOURS)


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


def _for_sale(item: Item) -> bool:
    return item.status == ItemStatus.LISTED and bool(item.price_cents) and item.kind == Item.Kind.SALE


def basket_read(ids: list[int], *, pending: Order | None = None, refused: Iterable[int] = ()) -> Basket:
    """The basket's objects grouped by organisation (in the order each was first added),
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
    groups: dict[int, BasketGroup] = {}
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
        organisation = item.campaign.organisation
        group = groups.setdefault(organisation.pk, BasketGroup(organisation=organisation))
        group.lines.append(BasketLine(item=item, state=state, refused=pk in refused_ids and state != YOURS))
    return Basket(groups=list(groups.values()), pending=pending, missing=tuple(pk for pk in ids if pk not in items))


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
    """``/panier/``: the objects, grouped by where they are collected, and one payment for all
    of them. "Payer" holds them all or none (``order_start``), then goes to the provider."""
    basket, paid = _read(request)
    if request.method != "POST":
        return _page(request, basket, paid=paid)
    if basket.pending is not None:
        # A payment is already open for these objects: resume it or cancel it first.
        return HttpResponseRedirect(reverse("checkout:basket"), status=303)
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
    ids = [pk for pk in basket.payable_ids if str(pk) in shown]
    email = form.cleaned_data["email"]
    key = client_key(request)
    try:
        payment_attempt_check(client_key=key, email=email)
        order = order_start(item_ids=ids, email=email, user=signed_in(request), client_key=key)
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
