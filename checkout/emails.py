"""Emails after a payment, sent after commit (checkout.services schedules
them with ``transaction.on_commit``), once per payment since the payment is
processed once, in the language the person used. A buyer gets a receipt with
the claim code, never a tax receipt: a purchase is not a gift."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from checkout.selectors import order_claim_url, pickup_deadline
from donations.models import Gift, Order, PaymentStatus
from kernel.money import format_money
from kernel.tasks import task
from receipts.issuing import ReceiptOutlook, gift_receipt_outlook


@task(timeout=60)
def order_receipt_send(*, order_id: int) -> None:
    order = Order.objects.select_related("item", "campaign__organisation").get(pk=order_id)
    with translation.override(order.language):
        context = {
            "order": order,
            "amount": format_money(order.amount_cents, order.currency, order.language),
            "organisation": order.campaign.organisation,
            "claim_url": order_claim_url(order),
            # The withdrawal right and its model form, on a durable medium (Code de la consommation L221-13).
            "terms_url": settings.SITE_URL + reverse("pages:terms") + "#retractation",
            "deadline_days": settings.PICKUP_DEADLINE_DAYS,
        }
        send_mail(
            _("Votre achat sur Trëmma : %(title)s") % {"title": order.item.title},
            render_to_string("checkout/email/order_receipt.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            [order.email],
        )


@task(timeout=60)
def seller_sold_send(*, order_id: int) -> None:
    """The person who listed the object learns it was sold (the price goes to the campaign)."""
    order = Order.objects.select_related("item__owner", "campaign").get(pk=order_id)
    owner = order.item.owner
    if owner is None or not owner.email:
        return
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "order": order,
            "owner": owner,
            "amount": format_money(order.amount_cents, order.currency, settings.LANGUAGE_CODE),
        }
        send_mail(
            _("Votre objet « %(title)s » a été vendu") % {"title": order.item.title},
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
    gift = Gift.objects.select_related("campaign__organisation").get(pk=gift_id)
    with translation.override(gift.language):
        context = {
            "gift": gift,
            "amount": format_money(gift.amount_cents, gift.currency, gift.language),
            "campaign_url": settings.SITE_URL + gift.campaign.get_absolute_url(),
            "receipt_sentence": gift_receipt_sentence(gift=gift),
        }
        send_mail(
            _("Merci pour votre don à « %(title)s »") % {"title": gift.campaign.title},
            render_to_string("checkout/email/gift_thanks.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            [gift.email],
        )


def _still_waiting(order: Order) -> bool:
    """Paid, not handed over, not refunded by the never-collected rule: a reminder still says the truth."""
    return order.status == PaymentStatus.PAID and order.handed_over_at is None and order.pickup_expired_at is None


@task(timeout=60)
def pickup_reminder_send(*, order_id: int, again: bool = False) -> None:
    """The buyer has not collected the object yet (checkout.services.pickups): where, with which
    code, and until when before the order is refunded. Nothing if it was collected in between."""
    order = Order.objects.select_related("item", "campaign__organisation").get(pk=order_id)
    if not _still_waiting(order) or order.paid_at is None:
        return
    with translation.override(order.language):
        context = {
            "order": order,
            "organisation": order.campaign.organisation,
            "claim_url": order_claim_url(order),
            "deadline": pickup_deadline(order),
            "deadline_days": settings.PICKUP_DEADLINE_DAYS,
        }
        subject = _("Dernier rappel : « %(title)s » vous attend") if again else _("Rappel : « %(title)s » vous attend")
        send_mail(
            subject % {"title": order.item.title},
            render_to_string("checkout/email/pickup_reminder.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            [order.email],
        )


@task(timeout=60)
def order_uncollected_send(*, order_id: int) -> None:
    """The buyer never came: the order is refunded and the object back on sale."""
    order = Order.objects.select_related("item", "campaign__organisation").get(pk=order_id)
    with translation.override(order.language):
        context = {
            "order": order,
            "organisation": order.campaign.organisation,
            "amount": format_money(order.amount_cents, order.currency, order.language),
            "deadline_days": settings.PICKUP_DEADLINE_DAYS,
        }
        send_mail(
            _("Objet non retiré : votre commande « %(title)s » est remboursée") % {"title": order.item.title},
            render_to_string("checkout/email/order_uncollected.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            [order.email],
        )
