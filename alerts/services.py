"""Writes of saved searches.

- ``alert_create``: a verified person saves the catalogue's filters (the same search saved
  again is the same alert, started again if it had been stopped); at most ``MAX_ALERTS`` each.
- ``alert_delete``: the person removes one of theirs (the API, their space).
- ``alerts_send_due`` (periodic): for each alert not emailed in a day, the objects newly listed
  that match it; one email planned, watermark advanced, in one transaction.
- ``alert_email_send`` (task): the email itself, in the alert's language.
- ``alert_unsubscribe``: the signed link of every email, no account needed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from alerts.models import Alert
from alerts.selectors import alert_filters, alert_key, alert_label, alert_matches, alerts_due
from donations.models import Item, ItemStatus
from kernel.errors import DomainError, NotFound
from kernel.tasks import task, task_enqueue

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "tremma.alerts-unsubscribe"
# Saved searches per person: enough for anyone's hunting, few enough to keep the sweep cheap.
MAX_ALERTS = 20
# At most one email per alert in this time.
EMAIL_INTERVAL = timedelta(hours=24)
# Objects listed in the last minute wait for the next sweep: a listing still in its transaction
# when we look (its transition row stamped before our watermark, committed after) is never skipped.
SETTLE = timedelta(minutes=1)
# Alerts considered per sweep (one query each): the least recently considered first, the rest next hour.
SWEEP_LIMIT = 5_000
# The catalogue page an email's "and N more" links to, with the alert's filters.
CATALOGUE_PATH = "/objets/"


class EmailUnverified(DomainError):
    status_code = 403
    code = "email_unverified"
    default_detail = gettext_lazy("Confirmez d'abord votre adresse e-mail : le lien vous a été envoyé.")


class TooManyAlerts(DomainError):
    code = "too_many_alerts"
    field = "filters"
    default_detail = gettext_lazy("Vous avez déjà %(max)d alertes : supprimez-en une pour en créer une autre.")

    def __init__(self, internal: str = "") -> None:
        super().__init__(internal, detail=self.default_detail % {"max": MAX_ALERTS})


def _language(language: str | None) -> str:
    """One of the site's languages (the request's, else French)."""
    codes = {code for code, _name in settings.LANGUAGES}
    short = (language or "").split("-")[0].lower()
    return short if short in codes else settings.LANGUAGE_CODE.split("-")[0]


def alert_create(*, user: User, filters: dict[str, Any], language: str | None = None) -> tuple[Alert, bool]:
    """Save the search ``filters`` (the catalogue's validated filters) for ``user``, whose
    address must be verified. The same search saved again is merged: the existing alert
    comes back (started again, from now, if its link had stopped it), ``created`` False.
    Objects already listed are not news: the first email speaks of those listed from now."""
    if not user.email_verified:
        raise EmailUnverified(f"user {user.pk} is not verified")
    kept = alert_filters(filters)
    key = alert_key(kept)
    now = timezone.now()
    with transaction.atomic():
        # The person's row is the lock: two saves at once cannot both pass the cap.
        User.objects.select_for_update().filter(pk=user.pk).first()
        existing = Alert.objects.filter(user=user, key=key).first()
        if existing is not None:
            if existing.unsubscribed_at is not None:
                if alert_count(user) >= MAX_ALERTS:
                    raise TooManyAlerts(f"user {user.pk} has {MAX_ALERTS} alerts")
                Alert.objects.filter(pk=existing.pk).update(unsubscribed_at=None, watermark=now, created_at=now)
                existing.refresh_from_db()
            return existing, False
        if alert_count(user) >= MAX_ALERTS:
            raise TooManyAlerts(f"user {user.pk} has {MAX_ALERTS} alerts")
        language = _language(language)
        with translation.override(language):
            label = alert_label(kept)
        try:
            with transaction.atomic():  # a savepoint: the unique key decides between two saves at once
                alert = Alert.objects.create(
                    user=user, filters=kept, key=key, label=label, language=language, created_at=now, watermark=now
                )
        except IntegrityError:
            return Alert.objects.get(user=user, key=key), False
    return alert, True


def alert_count(user: User) -> int:
    return Alert.objects.filter(user=user, unsubscribed_at__isnull=True).count()


def alert_delete(*, user: User, alert_id: int) -> None:
    """Remove one of the person's alerts; another person's, or none, is ``NotFound``."""
    if not Alert.objects.filter(pk=alert_id, user=user).delete()[0]:
        raise NotFound(f"alert {alert_id} of user {user.pk}")


def unsubscribe_link(alert: Alert) -> str:
    """The absolute address that stops this alert without signing in (never expires:
    an old email's link must still work)."""
    token = signing.dumps(alert.pk, salt=UNSUBSCRIBE_SALT)
    return settings.SITE_URL + reverse("alerts:unsubscribe", kwargs={"token": token})


def alert_for_link(token: str) -> Alert | None:
    """The alert a signed link names, or None (altered, not ours, or deleted since)."""
    try:
        raw = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(raw, int) or isinstance(raw, bool):
        return None
    return Alert.objects.filter(pk=raw).first()


def alert_unsubscribe(*, alert: Alert) -> bool:
    """Stop the alert's emails; True if this call stopped it (once)."""
    now = timezone.now()
    stopped = Alert.objects.filter(pk=alert.pk, unsubscribed_at__isnull=True).update(unsubscribed_at=now)
    if stopped:
        alert.unsubscribed_at = now
    return bool(stopped)


def catalogue_link(filters: dict[str, Any]) -> str:
    """The catalogue with the alert's filters, as an absolute address."""
    query = urlencode(sorted(filters.items()))
    return settings.SITE_URL + CATALOGUE_PATH + (f"?{query}" if query else "")


@task(timeout=240)
def alerts_send_due(*, now: datetime | None = None) -> int:
    """Every hour: for each alert due (not emailed in ``EMAIL_INTERVAL``), the objects listed
    since its watermark that match it. Matches: one email task recorded in the transaction
    that advances the watermark and ``last_sent_at`` by a conditional UPDATE on the old
    watermark — two sweeps at once, or a crash between, never send twice nor lose an object.
    No match: the watermark moves on, no email. Returns the number of emails planned."""
    now = now or timezone.now()
    until = now - SETTLE
    planned = 0
    unmatched: list[int] = []
    for alert in alerts_due(sent_before=now - EMAIL_INTERVAL, considered_before=until)[:SWEEP_LIMIT]:
        try:
            matches = alert_matches(alert=alert, since=alert.watermark, until=until)
        except Exception:
            # One alert whose stored filters no longer suit the search must not stop the others.
            logger.exception("alerts: alert %s could not be matched", alert.pk)
            continue
        if not matches.item_ids:
            unmatched.append(alert.pk)
            continue
        with transaction.atomic():
            moved = Alert.objects.filter(pk=alert.pk, watermark=alert.watermark, unsubscribed_at__isnull=True).update(
                watermark=until, last_sent_at=now
            )
            if moved:
                task_enqueue(alert_email_send, alert_id=alert.pk, item_ids=matches.item_ids, total=matches.total)
                planned += 1
    # Nothing new matched these: the next sweep starts from here (never backwards).
    for start in range(0, len(unmatched), 500):
        Alert.objects.filter(pk__in=unmatched[start : start + 500], watermark__lt=until).update(watermark=until)
    return planned


@task(timeout=120)
def alert_email_send(*, alert_id: int, item_ids: list[int], total: int) -> None:
    """One alert's email: the objects of ``item_ids`` still listed, newest first, and how
    many more matched. Nothing for an alert stopped or deleted since, nor for an account
    no longer verified or active. If the mail server fails, the task is retried."""
    alert = Alert.objects.select_related("user").filter(pk=alert_id).first()
    if alert is None or alert.unsubscribed_at is not None:
        return
    user = alert.user
    if not user.is_active or not user.email_verified:
        return
    items = list(
        Item.objects.filter(pk__in=item_ids, status=ItemStatus.LISTED)
        .select_related("campaign__organisation")
        .order_by("-created_at", "-pk")
    )
    if not items:
        return
    link = unsubscribe_link(alert)
    more = max(0, total - len(items))
    with translation.override(alert.language):
        context = {
            "alert": alert,
            "items": [(item, settings.SITE_URL + item.get_absolute_url()) for item in items],
            "more": more,
            "catalogue_url": catalogue_link(alert.filters),
            "unsubscribe_url": link,
        }
        subject = _("Nouveaux objets pour votre recherche %(label)s") % {"label": alert.label}
        message = EmailMessage(
            # A label holds no line break (the filters are single-line values), but the subject is a header.
            " ".join(subject.split()),
            render_to_string("alerts/email/alert.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            [user.email],
            # RFC 2369 and RFC 8058: the mail client's own "unsubscribe" button, in one click.
            headers={"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        )
        message.send()
