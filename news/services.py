"""Writes of news to backers.

- ``update_post``: a manager posts an update (audit trail, photo through kernel.photos);
  its emails are planned by a task recorded in the same transaction.
- ``subscription_consent``: checkout records a backer's consent when their payment is confirmed.
- ``update_dispatch`` (task): once per update, a delivery row per recipient and a task per batch.
- ``update_batch_send`` (task): each delivery claimed, sent, marked sent: a batch run twice,
  or two runs at once, sends each email once.
- ``subscription_unsubscribe``: the signed link of every email, no account needed.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from campaigns.models import AuditEntry, Campaign
from campaigns.permissions import Permission
from campaigns.selectors import permission_require
from campaigns.services import audit_record
from kernel.errors import DomainError
from kernel.photos import PreparedPhoto, delete_stored, store_photos
from kernel.tasks import task, task_enqueue
from news.models import Delivery, Subscription, Update
from news.selectors import email_normalise, news_recipients

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "tremma.news-unsubscribe"
# Emails per task: a batch stays well within its time limit even with a slow mail server.
BATCH_SIZE = 50
SEND_TIMEOUT = 240
# How long a sender keeps its claim on one email: past it, a sender that died lets another try.
CLAIM_SECONDS = SEND_TIMEOUT + 60


class CampaignNotPublic(DomainError):
    code = "campaign_not_public"
    default_detail = gettext_lazy("Publiez la campagne avant d'y donner des nouvelles.")


def update_post(
    *, actor: User, campaign: Campaign, title: str, text: str, photo: PreparedPhoto | None = None
) -> Update:
    """Post news on a campaign (live or closed) for a member whose role may (``Permission.NEWS``;
    another organisation's campaign answers as a missing one). Shown on the campaign page at
    once; emailed to its consenting backers by ``update_dispatch`` after commit."""
    permission_require(actor, campaign.organisation_id, Permission.NEWS)
    if campaign.status == Campaign.Status.DRAFT:
        raise CampaignNotPublic(f"campaign {campaign.pk} is a draft")
    written: list[str] = []
    try:
        with transaction.atomic():
            update = Update.objects.create(campaign=campaign, author=actor, title=title, text=text)
            if photo is not None:
                stored = store_photos([photo], prefix=f"news/{campaign.pk}", written=written)[0]
                update.image.name, update.fallback.name = stored.image, stored.fallback
                update.renditions = [asdict(r) for r in stored.renditions]
                update.width, update.height = stored.width, stored.height
                update.save(update_fields=["image", "fallback", "renditions", "width", "height"])
            audit_record(
                organisation_id=campaign.organisation_id,
                actor=actor,
                action=AuditEntry.Action.NEWS_POSTED,
                subject=f"{campaign.title} : {title}",
                details={"campaign": campaign.slug, "update": update.pk},
            )
            task_enqueue(update_dispatch, update_id=update.pk)
    except BaseException:
        delete_stored(written)
        raise
    return update


def subscription_consent(*, campaign_id: int, email: str, language: str = "fr") -> None:
    """The backer ticked "news" and their payment is confirmed: subscribe them (again, if
    they had unsubscribed: this is a new consent). Call it in the payment's transaction."""
    email = email_normalise(email)
    now = timezone.now()
    fields = {"unsubscribed_at": None, "consented_at": now, "language": language}
    if Subscription.objects.filter(campaign_id=campaign_id, email=email).update(**fields):
        return
    try:
        with transaction.atomic():  # a savepoint: the unique constraint decides between two at once
            Subscription.objects.create(campaign_id=campaign_id, email=email, language=language, consented_at=now)
    except IntegrityError:
        Subscription.objects.filter(campaign_id=campaign_id, email=email).update(**fields)


def unsubscribe_link(subscription: Subscription) -> str:
    """The absolute address that stops this subscription, without signing in (never expires:
    an old email's link must still work)."""
    token = signing.dumps(subscription.token, salt=UNSUBSCRIBE_SALT)
    return settings.SITE_URL + reverse("news:unsubscribe", kwargs={"token": token})


def subscription_for_link(token: str) -> Subscription | None:
    """The subscription a signed link names, or None (altered, or not ours)."""
    try:
        raw = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(raw, str):
        return None
    return Subscription.objects.select_related("campaign").filter(token=raw).first()


def subscription_unsubscribe(*, subscription: Subscription) -> bool:
    """Stop the campaign's news to this person; True if this call stopped them (once)."""
    now = timezone.now()
    stopped = Subscription.objects.filter(pk=subscription.pk, unsubscribed_at__isnull=True).update(unsubscribed_at=now)
    if stopped:
        subscription.unsubscribed_at = now
    return bool(stopped)


@task(timeout=120)
def update_dispatch(*, update_id: int) -> None:
    """Plan the update's emails once: the recipients of the moment, a delivery row each
    (unique per subscription), a task per batch, all in one transaction with the mark
    that says it was done; a second run finds the mark and does nothing."""
    with transaction.atomic():
        update = Update.objects.filter(pk=update_id).first()
        if update is None:
            return
        if not Update.objects.filter(pk=update_id, dispatched_at__isnull=True).update(dispatched_at=timezone.now()):
            return
        ids = list(news_recipients(campaign_id=update.campaign_id).values_list("pk", flat=True))
        Delivery.objects.bulk_create(
            [Delivery(update_id=update_id, subscription_id=pk) for pk in ids], ignore_conflicts=True
        )
        for start in range(0, len(ids), BATCH_SIZE):
            task_enqueue(update_batch_send, update_id=update_id, subscription_ids=ids[start : start + BATCH_SIZE])


@task(timeout=SEND_TIMEOUT)
def update_batch_send(*, update_id: int, subscription_ids: list[int]) -> None:
    """Send the update to the batch's subscriptions that still receive news (someone who
    unsubscribed or was refunded in full since the update was posted gets nothing).
    Each email is claimed by one conditional UPDATE, sent, then marked sent: a batch run
    again skips what was sent. If the mail server fails, the claim is let go and the task
    fails, to be retried with what remains."""
    update = Update.objects.select_related("campaign__organisation").filter(pk=update_id).first()
    if update is None:
        return
    receiving = set(
        news_recipients(campaign_id=update.campaign_id, subscription_ids=subscription_ids).values_list("pk", flat=True)
    )
    deliveries = Delivery.objects.filter(
        update_id=update_id, subscription_id__in=receiving, sent_at__isnull=True
    ).select_related("subscription")
    for delivery in deliveries.order_by("pk"):
        now = timezone.now()
        claimed = (
            Delivery.objects.filter(pk=delivery.pk, sent_at__isnull=True)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .update(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
        )
        if not claimed:
            continue  # sent, or being sent by another run
        try:
            _send(update, delivery.subscription)
        except BaseException:
            Delivery.objects.filter(pk=delivery.pk, sent_at__isnull=True).update(claimed_until=None)
            raise
        Delivery.objects.filter(pk=delivery.pk).update(sent_at=timezone.now())


def _send(update: Update, subscription: Subscription) -> None:
    campaign = update.campaign
    link = unsubscribe_link(subscription)
    with translation.override(subscription.language):
        context = {
            "update": update,
            "campaign": campaign,
            "campaign_url": settings.SITE_URL + campaign.get_absolute_url() + f"#nouvelle-{update.pk}",
            "unsubscribe_url": link,
        }
        message = EmailMessage(
            _("Des nouvelles de « %(title)s » : %(update)s") % {"title": campaign.title, "update": update.title},
            render_to_string("news/email/update.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            [subscription.email],
            # RFC 2369 and RFC 8058: the mail client's own "unsubscribe" button, in one click.
            headers={"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        )
        message.send()
