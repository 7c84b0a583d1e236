"""Emails after a payment, sent after commit (checkout.services schedules
them with ``transaction.on_commit``), once per payment since the payment is
processed once, in the language the person used. A buyer gets a receipt with
one claim code per organisation whose objects they bought (each organisation's
part of the order is collected on its own), never a tax receipt: a purchase
is not a gift."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from checkout.selectors import (
    fulfilment_awaiting_collection,
    fulfilment_claim_url,
    fulfilment_lines,
    pickup_deadline,
)
from checkout.services.recurring import recurring_manage_url
from donations.models import COLLECTION, Fulfilment, Gift, Order, OrderLine, Refund
from kernel.money import format_money
from kernel.tasks import task
from receipts.issuing import ReceiptOutlook, gift_receipt_outlook


@task(timeout=60)
def order_receipt_send(*, order_id: int) -> None:
    order = Order.objects.get(pk=order_id)
    fulfilments = list(order.fulfilments.select_related("organisation").order_by("pk"))
    lines = list(order.lines.select_related("item", "campaign").order_by("pk"))
    with translation.override(order.language):
        context = {
            "order": order,
            "amount": format_money(order.amount_cents, order.currency, order.language),
            "parts": [
                {
                    "fulfilment": fulfilment,
                    "organisation": fulfilment.organisation,
                    "claim_url": fulfilment_claim_url(fulfilment),
                    "lines": [line for line in lines if line.fulfilment_id == fulfilment.pk],
                }
                for fulfilment in fulfilments
            ],
            # The withdrawal right and its model form, on a durable medium (Code de la consommation L221-13).
            "terms_url": settings.SITE_URL + reverse("pages:terms") + "#retractation",
            "deadline_days": settings.PICKUP_DEADLINE_DAYS,
        }
        send_mail(
            _("Votre achat sur Trëmma : %(title)s") % {"title": _order_title(lines)},
            render_to_string("checkout/email/order_receipt.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            [order.email],
        )


def _order_title(lines: list[OrderLine]) -> str:
    """The subject's name of an order: its object, or how many objects."""
    if len(lines) == 1:
        return lines[0].item.title
    return _("%(count)d objets") % {"count": len(lines)}


@task(timeout=60)
def seller_sold_send(*, line_id: int) -> None:
    """The person who listed the object learns it was sold (the price goes to the campaign)."""
    line = OrderLine.objects.select_related("item__owner", "campaign", "order", "fulfilment").get(pk=line_id)
    owner = line.item.owner
    if owner is None or not owner.email:
        return
    # A private giver who keeps the object hands it over themselves, against the buyer's code.
    keeps_it = line.fulfilment.giver_id == owner.pk and line.fulfilment.method == COLLECTION
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "line": line,
            "item": line.item,
            "campaign": line.campaign,
            "owner": owner,
            "amount": format_money(line.amount_cents, line.order.currency, settings.LANGUAGE_CODE),
            "hand_over_url": settings.SITE_URL + reverse("pages:account") + "#remettre" if keeps_it else "",
        }
        send_mail(
            _("Votre objet « %(title)s » a été vendu") % {"title": line.item.title},
            render_to_string("checkout/email/seller_sold.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            [owner.email],
        )


# What a giver is told about the tax receipt of a gift: the same sentence on the
# success page and in the thanks email (receipts.issuing.gift_receipt_outlook).
RECEIPT_OUTLOOK_SENTENCES = {
    ReceiptOutlook.DETAILS: gettext_lazy(
        "Votre reçu fiscal sera établi aux nom et adresse que vous avez indiqués, "
        "et vous sera envoyé par e-mail une fois le paiement confirmé."
    ),
    ReceiptOutlook.ACCOUNT: gettext_lazy(
        "Votre reçu fiscal sera établi aux nom et adresse de votre compte Trëmma, et vous sera envoyé par e-mail "
        "une fois le paiement confirmé. S'il y manque une information, nous vous dirons laquelle par e-mail."
    ),
    ReceiptOutlook.YEARLY: gettext_lazy(
        "Votre reçu fiscal récapitulera vos dons de l'année à cette organisation : "
        "il vous sera envoyé par e-mail au début de l'année prochaine."
    ),
    ReceiptOutlook.NONE: gettext_lazy("Vous n'avez pas demandé de reçu fiscal pour ce don."),
}


def gift_receipt_sentence(*, gift: Gift) -> str:
    """In the active language."""
    return str(RECEIPT_OUTLOOK_SENTENCES[gift_receipt_outlook(gift=gift)])


@task(timeout=60)
def gift_thanks_send(*, gift_id: int) -> None:
    gift = Gift.objects.select_related("campaign__organisation", "recurring").get(pk=gift_id)
    with translation.override(gift.language):
        context = {
            "gift": gift,
            "amount": format_money(gift.amount_cents, gift.currency, gift.language),
            "tip": format_money(gift.tip_cents, gift.currency, gift.language) if gift.tip_cents else "",
            "campaign_url": settings.SITE_URL + gift.campaign.get_absolute_url(),
            "receipt_sentence": gift_receipt_sentence(gift=gift),
            # A month of a monthly gift: the link to change or stop it, no account needed.
            "manage_url": recurring_manage_url(gift.recurring) if gift.recurring else "",
        }
        send_mail(
            _("Merci pour votre don à « %(title)s »") % {"title": gift.campaign.title},
            render_to_string("checkout/email/gift_thanks.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            [gift.email],
        )


@task(timeout=60)
def pickup_reminder_send(*, fulfilment_id: int, again: bool = False) -> None:
    """The buyer has not collected their objects yet (checkout.services.pickups): where, with which
    code, and until when before that part of the order is refunded. Nothing if collected in between."""
    fulfilment = Fulfilment.objects.select_related("order", "organisation", "giver").get(pk=fulfilment_id)
    order = fulfilment.order
    if not fulfilment_awaiting_collection(fulfilment) or order.paid_at is None:
        return
    lines = list(fulfilment_lines(fulfilment))
    with translation.override(order.language):
        context = {
            "order": order,
            "fulfilment": fulfilment,
            "lines": lines,
            "organisation": fulfilment.organisation,
            "claim_url": fulfilment_claim_url(fulfilment),
            "deadline": pickup_deadline(fulfilment),
            "deadline_days": settings.PICKUP_DEADLINE_DAYS,
        }
        if len(lines) == 1:
            subject = (
                _("Dernier rappel : « %(title)s » vous attend") if again else _("Rappel : « %(title)s » vous attend")
            )
        elif again:
            subject = _("Dernier rappel : vos %(count)d objets vous attendent chez %(name)s")
        else:
            subject = _("Rappel : vos %(count)d objets vous attendent chez %(name)s")
        send_mail(
            subject
            % {
                "title": _order_title(lines),
                "count": len(lines),
                "name": fulfilment.giver.first_name if fulfilment.giver else fulfilment.organisation.name,
            },
            render_to_string("checkout/email/pickup_reminder.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            [order.email],
        )


def _refunded_before(fulfilment: Fulfilment) -> dict[int, int]:
    """What was refunded of each line of ``fulfilment`` before the never-collected rule took it
    (a manager's refund of one line, say), by line id. The rule's own refunds come after
    ``pickup_expired_at``, whether they ran before this email or not."""
    refunds = Refund.objects.filter(line__fulfilment=fulfilment).exclude(status=Refund.Status.FAILED)
    if fulfilment.pickup_expired_at is not None:
        refunds = refunds.filter(created_at__lt=fulfilment.pickup_expired_at)
    totals: dict[int, int] = {}
    for line_id, amount in refunds.values_list("line_id", "amount_cents"):
        totals[line_id] = totals.get(line_id, 0) + amount
    return totals


@task(timeout=60)
def order_uncollected_send(*, fulfilment_id: int) -> None:
    """The buyer never came: that part of the order is refunded and its objects back on sale."""
    fulfilment = Fulfilment.objects.select_related("order", "organisation").get(pk=fulfilment_id)
    order = fulfilment.order
    # What this refund gives back: each line's remainder (a line refunded in full before is not told again).
    before = _refunded_before(fulfilment)
    remainders = {
        line: line.amount_cents - before.get(line.pk, 0)
        for line in fulfilment_lines(fulfilment)
        if line.amount_cents > before.get(line.pk, 0)
    }
    lines = list(remainders)
    if not lines:
        return
    with translation.override(order.language):
        context = {
            "order": order,
            "fulfilment": fulfilment,
            "lines": lines,
            "organisation": fulfilment.organisation,
            "amount": format_money(sum(remainders.values()), order.currency, order.language),
            "deadline_days": settings.PICKUP_DEADLINE_DAYS,
        }
        subject = (
            _("Objet non retiré : votre commande « %(title)s » est remboursée") % {"title": lines[0].item.title}
            if len(lines) == 1
            else _("Objets non retirés chez %(name)s : %(count)d objets remboursés")
            % {"name": fulfilment.organisation.name, "count": len(lines)}
        )
        send_mail(
            subject,
            render_to_string("checkout/email/order_uncollected.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            [order.email],
        )
