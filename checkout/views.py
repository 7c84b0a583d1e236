"""The buyer's and giver's pages of the order lifecycle: the item page's "buy"
form and the campaign page's gift form (reserve or record, then the provider's
checkout), the return pages (success / cancel), the buyer's claim page with its
QR code, and the hand-over a manager records when the buyer collects the object."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import User
from accounts.requests import signed_in
from campaigns.models import Campaign, Organisation
from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may
from checkout.basket import basket_forget_order, basket_ids
from checkout.emails import gift_receipt_sentence
from checkout.forms import BuyForm, ClaimCodeForm, GiveForm
from checkout.parcels import parcel_context
from checkout.selectors import (
    fulfilment_claim_url,
    fulfilment_for_claim,
    fulfilment_for_claim_code,
    fulfilment_for_hand_over,
    fulfilment_hand_over_url,
    fulfilment_lines,
    pickup_deadline,
    pickups_managed,
)
from checkout.services import claim_code_normalise, fulfilment_hand_over, gift_start, order_cancel, order_start
from checkout.services.orders import RETURN_SALT
from checkout.services.recurring import recurring_manage_url
from checkout.throttles import payment_attempt_check
from donations.models import PUBLIC_STATUSES, Fulfilment, Gift, Order, OrderLine, PaymentStatus
from kernel.errors import DomainError
from kernel.net import client_key
from payments.events import event_receive
from payments.gateways import GatewayError, gateway
from qr.rendering import render_qr
from receipts.delivery import receipt_pdf_link
from receipts.selectors import gift_receipt

logger = logging.getLogger(__name__)


def _pickup_rule(fulfilment: Fulfilment) -> dict[str, Any]:
    """The never-collected rule, as the claim part of a page states it (checkout.services.pickups)."""
    return {"pickup_deadline": pickup_deadline(fulfilment), "pickup_deadline_days": settings.PICKUP_DEADLINE_DAYS}


def _return_target(request: HttpRequest) -> Order | Gift:
    try:
        ref = signing.loads(request.GET.get("ref", ""), salt=RETURN_SALT, max_age=7 * 24 * 3600)
    except signing.BadSignature:
        raise Http404 from None
    model = Order if ref.get("kind") == "order" else Gift
    related = () if model is Order else ("campaign__organisation",)
    target = model.objects.select_related(*related).filter(pk=ref.get("id")).first()  # type: ignore[attr-defined]
    if target is None:
        raise Http404
    return target  # type: ignore[no-any-return]


@require_safe
def checkout_success(request: HttpRequest) -> HttpResponse:
    """Shows "processing" until the payment is confirmed (the webhook), then the receipt."""
    target = _return_target(request)
    if target.status == PaymentStatus.PENDING and target.provider_session_id:
        # The buyer may be back before the webhook: refetch the session and fulfil
        # through the same idempotent processing.
        try:
            event = gateway().checkout_paid_event(target.provider_session_id)
        except GatewayError:
            logger.warning("success page: session of %s not refetched", target, exc_info=True)
            event = None
        if event is not None and event.provider == target.provider:
            event_receive(event=event)
            target.refresh_from_db()
    paid = target.status == PaymentStatus.PAID
    context: dict[str, Any] = {"target": target, "is_order": isinstance(target, Order), "paid": paid}
    if isinstance(target, Order):
        # One part per organisation, each with its claim code; each claim page is the lasting
        # copy of its part of this one: their addresses go in the email too.
        parts = [
            {
                "fulfilment": fulfilment,
                "organisation": fulfilment.organisation,
                "lines": list(fulfilment_lines(fulfilment)),
                "claim_url": fulfilment_claim_url(fulfilment),
                **_pickup_rule(fulfilment),
            }
            for fulfilment in target.fulfilments.select_related("organisation", "order").order_by("pk")
        ]
        lines = [line for part in parts for line in part["lines"]]
        context.update(
            order=target,
            parts=parts,
            # Some part is collected (a claim code to keep), not only parcels.
            collected=any(not part["fulfilment"].is_parcel for part in parts),
            line_count=len(lines),
            first_title=lines[0].item.title if lines else "",
            # Not paid: back to the basket, which kept its objects (or to the one object bought alone).
            back_url=lines[0].item.get_absolute_url()
            if len(lines) == 1 and lines[0].item_id not in basket_ids(request.session)
            else reverse("checkout:basket"),
        )
        if target.status != PaymentStatus.PENDING:
            basket_forget_order(request.session, target)
    else:
        context["back_url"] = target.campaign.get_absolute_url()
    if isinstance(target, Gift) and paid:
        # A gift's tax receipt may already be issued (the giver's details were complete).
        receipt = gift_receipt(gift=target)
        context["receipt_url"] = receipt_pdf_link(receipt=receipt) if receipt else ""
        # Else what the thanks email says too, word for word.
        context["receipt_sentence"] = gift_receipt_sentence(gift=target)
        # A monthly gift: where to change or stop it (the link of every month's email too).
        context["manage_url"] = recurring_manage_url(target.recurring) if target.recurring else ""
    response = render(request, "checkout/success.html", context)
    # It shows the claim code: no shared cache may keep it.
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_safe
def checkout_cancel(request: HttpRequest) -> HttpResponse:
    """Where the provider's "cancel" (or "back") returns. For an order, its objects are available
    again at once (``order_cancel``), not when the hold would have ended; the basket kept them."""
    target = _return_target(request)
    context: dict[str, Any] = {"target": target, "is_order": isinstance(target, Order)}
    if isinstance(target, Order):
        # GET only: a HEAD (a link checker, a preview) cancels nothing.
        if request.method == "GET" and target.status == PaymentStatus.PENDING:
            order_cancel(order_id=target.pk)
            target.refresh_from_db()
        if target.status == PaymentStatus.PAID:
            # Paid meanwhile (in another tab, or just before pressing "back"): nothing to cancel.
            return redirect(f"{reverse('checkout:success')}?{request.GET.urlencode()}")
        basket_forget_order(request.session, target)
        lines = list(target.lines.select_related("item"))
        if len(lines) == 1 and lines[0].item.status in PUBLIC_STATUSES:
            context["item_url"] = lines[0].item.get_absolute_url()
    response = render(request, "checkout/cancel.html", context)
    patch_cache_control(response, private=True, no_store=True)
    return response


def _problem(request: HttpRequest, messages: list[str], back_url: str, status: int) -> HttpResponse:
    return render(request, "checkout/problem.html", {"messages_list": messages, "back_url": back_url}, status=status)


@require_POST
def item_buy(request: HttpRequest, pk: int) -> HttpResponse:
    """The item page's "buy" form: reserve, then go to the provider's checkout."""
    back = reverse("pages:item", kwargs={"pk": pk})
    form = BuyForm(request.POST)
    if not form.is_valid():
        return _problem(request, [str(e) for errors in form.errors.values() for e in errors], back, 400)
    user = signed_in(request)
    try:
        payment_attempt_check(client_key=client_key(request), email=form.cleaned_data["email"])
        order = order_start(
            item_ids=[pk],
            email=form.cleaned_data["email"],
            user=user,
            client_key=client_key(request),
        )
    except DomainError as error:
        return _problem(request, [str(error.detail)], back, error.status_code)
    return HttpResponseRedirect(order.checkout_url, status=303)


@require_POST
def campaign_give(request: HttpRequest, slug: str) -> HttpResponse:
    """The campaign page's gift form: record the gift, then go to the provider's checkout."""
    back = reverse("pages:campaign", kwargs={"slug": slug})
    form = GiveForm(request.POST)
    if not form.is_valid():
        # The form again, as typed, each error beside its field; nothing is recorded.
        campaign = Campaign.objects.filter(slug=slug, status=Campaign.Status.LIVE).first()
        if campaign is None:
            return _problem(request, form.error_messages_labelled(), back, 400)
        return render(request, "checkout/give.html", {"campaign": campaign, "form": form}, status=400)
    user = signed_in(request)
    data = form.cleaned_data
    try:
        payment_attempt_check(client_key=client_key(request), email=data["email"])
        gift = gift_start(
            campaign_slug=slug,
            amount_cents=data["amount"],
            email=data["email"],
            name=data["name"],
            anonymous=data["anonymous"],
            message=data["message"],
            user=user,
            receipt=data["receipt_details"],
            interval=data["interval"] or None,
            news=data["news"],
            tip_cents=data["tip"],
        )
    except DomainError as error:
        return _problem(request, [str(error.detail)], back, error.status_code)
    return HttpResponseRedirect(gift.checkout_url, status=303)


# --- The buyer's claim page and the organisation's hand-over ------------------------------------


def _private(response: HttpResponse) -> HttpResponse:
    # The address is the secret: no shared cache keeps the page, no search engine lists it.
    patch_cache_control(response, private=True, no_store=True)
    response["X-Robots-Tag"] = "noindex"
    return response


@require_safe
def claim(request: HttpRequest, token: str) -> HttpResponse:
    """The buyer's page for one organisation's part of an order: what they bought there, the
    claim code, the QR the organisation scans, and where to go."""
    fulfilment = fulfilment_for_claim(token=token)
    if fulfilment is None:
        raise Http404
    context = {
        "fulfilment": fulfilment,
        "order": fulfilment.order,
        "lines": list(fulfilment_lines(fulfilment)),
        "organisation": fulfilment.organisation,
        "paid": fulfilment.order.status == PaymentStatus.PAID,
        "claim_url": fulfilment_claim_url(fulfilment),
        **_pickup_rule(fulfilment),
        **parcel_context(fulfilment),
    }
    return _private(render(request, "checkout/claim.html", context))


@require_safe
def claim_qr(request: HttpRequest, token: str) -> HttpResponse:
    """The claim QR as SVG, drawn once by the qr app's renderer and then taken from the cache."""
    fulfilment = fulfilment_for_claim(token=token)
    if fulfilment is None or fulfilment.order.status != PaymentStatus.PAID:
        raise Http404
    image = render_qr(fulfilment_hand_over_url(fulfilment), fmt="svg")
    response = HttpResponse(image.content, content_type=image.content_type)
    response["ETag"] = image.etag
    return _private(response)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def hand_over(request: HttpRequest, token: str) -> HttpResponse:
    """What the claim QR opens on a manager's phone: the organisation's part of the order (its
    objects listed), and one button that records its hand-over (the same service as the API).
    Another organisation's part of the same basket is not shown, and stays as it is."""
    user: User = request.user  # type: ignore[assignment]
    fulfilment = fulfilment_for_hand_over(token=token, user=user)
    if fulfilment is None:
        # Not the organisation's part, or no such token: the same answer, so nothing leaks.
        raise Http404
    error, status = "", 200
    if request.method == "POST":
        try:
            # The QR stands for the claim code: whoever shows it holds the buyer's page.
            fulfilment_hand_over(fulfilment=fulfilment, claim_code=fulfilment.claim_code, actor=user)
        except DomainError as refused:
            # Already handed over (a second scan, a double tap) or not paid: said plainly, nothing changes.
            error, status = str(refused.detail), refused.status_code
        else:
            messages.success(
                request, _("Remise enregistrée : %(titles)s.") % {"titles": _titles(_part_lines(fulfilment))}
            )
            return redirect("checkout:hand-over", token=token)
    lines = _part_lines(fulfilment)
    context = {
        "fulfilment": fulfilment,
        "order": fulfilment.order,
        "organisation": fulfilment.organisation,
        "lines": lines,
        "amount_cents": sum(line.amount_cents for line in lines),
        "error": error,
    }
    return _private(render(request, "checkout/hand_over.html", context, status=status))


# --- Objects waiting to be collected: the counter's list and its typed code ---------------------

PICKUPS_SHOWN = 500


def _part_lines(fulfilment: Fulfilment) -> list[OrderLine]:
    """The part's lines with their objects, in the order they were bought: as the selector
    prefetched them, else read now (one query)."""
    if "lines" in getattr(fulfilment, "_prefetched_objects_cache", {}):
        return sorted(fulfilment.lines.all(), key=lambda line: line.pk)
    return list(fulfilment_lines(fulfilment))


def _titles(lines: list[OrderLine]) -> str:
    """The objects of a part, each in the language's quotes: « Lampe », « Vélo »."""
    return ", ".join(_("« %(title)s »") % {"title": line.item.title} for line in lines)


def _code_refusal(fulfilment: Fulfilment) -> str:
    """Why a known code hands nothing over, in the manager's words (before asking the service)."""
    lines = _part_lines(fulfilment)
    titles = _titles(lines)
    order = fulfilment.order
    if fulfilment.handed_over_at is not None:
        return _("Déjà remis le %(date)s : %(titles)s.") % {
            "date": date_format(timezone.localtime(fulfilment.handed_over_at), "DATETIME_FORMAT"),
            "titles": titles,
        }
    refunded = all(line.refunded_cents >= line.amount_cents for line in lines)
    if fulfilment.pickup_expired_at is not None or order.status == PaymentStatus.REFUNDED or refunded:
        return _("Commande remboursée : ne remettez pas %(titles)s.") % {"titles": titles}
    if order.status != PaymentStatus.PAID:
        return _("Commande non payée : ne remettez pas %(titles)s.") % {"titles": titles}
    return ""


def _pickup_groups(user: User, organisations: list[Organisation]) -> list[dict[str, Any]]:
    now = timezone.now()
    rows: dict[int, list[dict[str, Any]]] = {organisation.pk: [] for organisation in organisations}
    for fulfilment in pickups_managed(user=user)[:PICKUPS_SHOWN]:
        order = fulfilment.order
        lines = _part_lines(fulfilment)
        rows[fulfilment.organisation_id].append(
            {
                "fulfilment": fulfilment,
                "order": order,
                "lines": lines,
                "amount_cents": sum(line.amount_cents for line in lines),
                "days": (now - order.paid_at).days if order.paid_at else 0,
                "reminders": sum(
                    1 for at in (fulfilment.pickup_reminded_at, fulfilment.pickup_reminded_again_at) if at
                ),
                "deadline": pickup_deadline(fulfilment),
            }
        )
    return [{"organisation": organisation, "rows": rows[organisation.pk]} for organisation in organisations]


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def pickups(request: HttpRequest) -> HttpResponse:
    """``/gestion/retraits/``: the organisations' parts of orders paid and waiting for their
    buyers (each with its objects), oldest first, and a field for the code the buyer says (the
    same hand-over as scanning the claim QR). A basket of two organisations has a code at each."""
    user: User = request.user  # type: ignore[assignment]
    organisations = list(organisations_user_may(user, Permission.HAND_OVER).order_by("name"))
    if not organisations:
        raise PermissionDenied
    form = ClaimCodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            code = claim_code_normalise(form.cleaned_data["code"]) or ""
            # Another organisation's code finds nothing, exactly as a code that does not exist.
            fulfilment = fulfilment_for_claim_code(code=code, user=user) if code else None
            if fulfilment is None:
                form.add_error(
                    "code",
                    _(
                        "Code inconnu : vérifiez-le avec la personne "
                        "(il est sur sa page de retrait et dans son e-mail)."
                    ),
                )
            elif refusal := _code_refusal(fulfilment):
                form.add_error("code", refusal)
            else:
                try:
                    fulfilment_hand_over(fulfilment=fulfilment, claim_code=code, actor=user)
                except DomainError as refused:
                    form.add_error("code", str(refused.detail))
                else:
                    messages.success(
                        request,
                        _("Remise enregistrée : %(titles)s remis à %(email)s.")
                        % {"titles": _titles(_part_lines(fulfilment)), "email": fulfilment.order.email},
                    )
                    return redirect("checkout:pickups")
        status = 400
    context = {
        "form": form,
        "groups": _pickup_groups(user, organisations),
        "several": len(organisations) > 1,
        "deadline_days": settings.PICKUP_DEADLINE_DAYS,
        "reminder_days": (settings.PICKUP_REMINDER_DAYS, settings.PICKUP_SECOND_REMINDER_DAYS),
    }
    response = render(request, "checkout/pickups.html", context, status=status)
    # Buyers' emails: no shared cache keeps the page.
    patch_cache_control(response, private=True, no_store=True)
    return response
