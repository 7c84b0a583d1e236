"""Emails about parcels, sent after commit by tasks recorded with the change they report (a
status moves once, so each email goes once), in the buyer's language: shipped, delivered,
returned to its sender, cancelled by the ship-by rule, and a withdrawal's steps; and the
sender's notice when the ship-by rule cancelled a parcel they did not ship."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from checkout.selectors import fulfilment_claim_url, fulfilment_lines
from donations.models import Fulfilment, Withdrawal
from kernel.money import format_money
from kernel.tasks import task

NEWS = ("shipped", "delivered", "returned", "cancelled", "withdrawal_requested", "withdrawal_refunded")


def _subject(news: str, title: str) -> str:
    subjects = {
        "shipped": _("Votre colis est parti : %(title)s"),
        "delivered": _("Votre colis est arrivé : %(title)s"),
        "returned": _("Colis non retiré, retourné à l'expéditeur : %(title)s"),
        "cancelled": _("Colis non expédié : votre commande « %(title)s » est remboursée"),
        "withdrawal_requested": _("Votre rétractation est enregistrée : %(title)s"),
        "withdrawal_refunded": _("Objet rendu : vous êtes remboursé (%(title)s)"),
    }
    return subjects[news] % {"title": title}


def _title(fulfilment: Fulfilment) -> str:
    lines = list(fulfilment_lines(fulfilment))
    if len(lines) == 1:
        return lines[0].item.title
    return _("%(count)d objets") % {"count": len(lines)}


@task(timeout=60)
def parcel_news_send(*, fulfilment_id: int, news: str, withdrawal_id: int | None = None) -> None:
    """Tell the buyer what happened to their parcel (``news``, one of NEWS)."""
    fulfilment = Fulfilment.objects.select_related("order", "organisation").get(pk=fulfilment_id)
    order = fulfilment.order
    withdrawal = Withdrawal.objects.filter(pk=withdrawal_id).first() if withdrawal_id else None
    with translation.override(order.language):
        context = {
            "news": news,
            "order": order,
            "fulfilment": fulfilment,
            "organisation": fulfilment.organisation,
            "lines": list(fulfilment_lines(fulfilment)),
            "withdrawal_lines": list(withdrawal.lines.select_related("item").order_by("pk")) if withdrawal else [],
            "claim_url": fulfilment_claim_url(fulfilment),
            "shipping": format_money(fulfilment.shipping_cents, order.currency, order.language),
            "ship_by_days": settings.SHIP_BY_DAYS,
            "withdrawal_days": settings.WITHDRAWAL_DAYS,
            "terms_url": settings.SITE_URL + reverse("pages:terms") + "#retractation",
        }
        send_mail(
            _subject(news, _title(fulfilment)),
            render_to_string("checkout/email/parcel_news.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            [order.email],
        )


@task(timeout=60)
def parcel_cancelled_sender_send(*, fulfilment_id: int) -> None:
    """The sender (the organisation, or the private giver) did not ship in time: the parcel is
    cancelled and refunded, its objects back on sale. In French, as the organisation's pages."""
    fulfilment = Fulfilment.objects.select_related("order", "organisation", "giver").get(pk=fulfilment_id)
    to = fulfilment.giver.email if fulfilment.giver is not None else fulfilment.organisation.contact_email
    if not to:
        return
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "fulfilment": fulfilment,
            "order": fulfilment.order,
            "lines": list(fulfilment_lines(fulfilment)),
            "ship_by_days": settings.SHIP_BY_DAYS,
        }
        send_mail(
            _("Colis non expédié à temps : commande n° %(number)s annulée") % {"number": fulfilment.order_id},
            render_to_string("checkout/email/parcel_cancelled_sender.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            [to],
        )
