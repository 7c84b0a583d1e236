"""Receiving a payment provider's events: each event is recorded once
(``ProviderEvent``, unique per provider and id) and applied by the one receiver
the room above registered at start-up (checkout, in its AppConfig.ready), in a
transaction that marks it processed. So a replay changes nothing.

Two ways in, one processing:

- the Stripe webhook records the event and answers at once (``event_record``):
  its application is a task (``provider_event_apply``) enqueued in the same
  transaction as the record, which a worker runs a moment later; an application
  that fails is retried by the task engine, the event staying recorded and
  unprocessed meanwhile. Stripe asks for exactly this: a 2xx before any complex
  logic, so that a burst of payments never makes its deliveries time out;
- the demo gateway's page and the success page's refetch apply in the request
  (``event_receive``): the record and its effects in one transaction, nothing
  recorded if the application fails.

The adapter imports nothing from the rooms above it: the receiver is plugged in,
as a port, here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import fields
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_q.models import OrmQ

from kernel.tasks import task, task_enqueue, task_package
from payments.gateways import AFTER_PAYMENT, PaymentEvent
from payments.models import ProviderEvent

logger = logging.getLogger(__name__)

# Applies one event; returns False when it must wait (a refund or dispute before its payment).
Receiver = Callable[[PaymentEvent], bool]
_receiver: list[Receiver] = []


def receiver_set(receiver: Receiver) -> None:
    """Register the one function that applies payment events (checkout's, at start-up)."""
    _receiver[:] = [receiver]


def _apply(event: PaymentEvent) -> bool:
    if not _receiver:
        raise ImproperlyConfigured("no receiver of payment events: is the checkout app installed?")
    return _receiver[0](event)


def event_receive(*, event: PaymentEvent) -> bool:
    """Record ``event`` once and apply it, in one transaction.

    Returns False for an event already recorded (a replay: nothing changes).
    If applying fails, nothing is recorded, so the provider delivers it again."""
    # A replay (a provider delivers again until it hears a 2xx) is answered after one read, without
    # a transaction; two deliveries at once both pass it, and the unique row below keeps one.
    if _recorded(event):
        return False
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = _record_create(event)
        except IntegrityError:
            return False
        if _apply(event):
            ProviderEvent.objects.filter(pk=record.pk).update(processed_at=timezone.now())
    return True


def _recorded(event: PaymentEvent) -> bool:
    return ProviderEvent.objects.filter(provider=event.provider, event_id=event.id).exists()


def _normalised(event: PaymentEvent) -> dict[str, object]:
    """The event as ``PaymentEvent(**…)`` rebuilds it, without the provider's payload (kept apart)."""
    return {field.name: getattr(event, field.name) for field in fields(event) if field.name != "payload"}


def _record_create(event: PaymentEvent) -> ProviderEvent:
    return ProviderEvent.objects.create(
        provider=event.provider,
        event_id=event.id,
        type=event.type,
        payload=event.payload,
        event=_normalised(event),
        payment_id=event.payment_id,
    )


def event_record(*, event: PaymentEvent) -> bool:
    """Record ``event`` once and enqueue its application (``provider_event_apply``), atomically:
    once this returns, the event is durably ours and will be applied.

    Returns False for an event already recorded (a replay: nothing written). On PostgreSQL, with
    the worker's queue, one statement does it all: the event's row if new, and its task's row only
    if the event's was written (``_RECORD_SQL``); elsewhere (SQLite, eager tasks) a transaction."""
    if connection.vendor == "postgresql" and not settings.TASKS_EAGER:
        key, package = task_package(provider_event_apply, provider=event.provider, event_id=event.id)
        now = timezone.now()
        as_json = ProviderEvent._meta.get_field("payload").get_db_prep_save
        with connection.cursor() as cursor:
            cursor.execute(
                _RECORD_SQL,
                [
                    event.provider,
                    event.id,
                    event.type,
                    as_json(event.payload, connection),
                    as_json(_normalised(event), connection),
                    event.payment_id,
                    now,
                    key,
                    package,
                    now,
                ],
            )
            return cursor.fetchone() is not None
    if _recorded(event):
        return False
    try:
        with transaction.atomic():
            _record_create(event)
            task_enqueue(provider_event_apply, provider=event.provider, event_id=event.id)
    except IntegrityError:
        return False  # the same event delivered twice at once: the other delivery recorded it
    return True


# One statement, so atomic without a transaction's round trips: the task's row is written only with
# the event's (a replay conflicts on the event's unique key and writes nothing). Table and column
# names come from the models (hence the noqa); values are parameters.
_RECORD_SQL = f"""
WITH recorded AS (
    INSERT INTO {ProviderEvent._meta.db_table} (provider, event_id, type, payload, event, payment_id, received_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (provider, event_id) DO NOTHING
    RETURNING id
)
INSERT INTO {OrmQ._meta.db_table} (key, payload, lock) SELECT %s, %s, %s FROM recorded RETURNING id
"""  # noqa: S608


@task(timeout=50)
def provider_event_apply(*, provider: str, event_id: str) -> bool:
    """Worker: apply one recorded event, once: under the record's lock, an event already
    processed is left alone (the task is delivered at least once). Returns whether it was
    applied now; a refund or dispute before its payment stays waiting (``events_waiting_apply``,
    ``provider_events_retry``)."""
    with transaction.atomic():
        record = (
            ProviderEvent.objects.select_for_update()
            .filter(provider=provider, event_id=event_id, processed_at__isnull=True)
            .first()
        )
        if record is None:
            return False
        if not _apply(PaymentEvent(**record.event)):
            return False
        ProviderEvent.objects.filter(pk=record.pk).update(processed_at=timezone.now())
    return True


def events_waiting_apply(*, payment_id: str) -> None:
    """Apply, in the order received, the refunds and disputes that arrived before their payment
    (called by the receiver once the payment is applied, in its transaction). One that a worker
    is applying at this moment (its record locked) is left to that worker, which waits for this
    payment's lock and finds it applied."""
    waiting = (
        ProviderEvent.objects.select_for_update(skip_locked=True)
        .filter(payment_id=payment_id, processed_at__isnull=True, type__in=list(AFTER_PAYMENT))
        .order_by("id")
    )
    for record in waiting:
        if _apply(PaymentEvent(**record.event)):
            ProviderEvent.objects.filter(pk=record.pk).update(processed_at=timezone.now())


@task(timeout=50)
def provider_events_retry(*, older_than_seconds: int = 60, limit: int = 200) -> int:
    """Periodic job: apply the recorded events still waiting (a refund or
    dispute whose payment, or dispute opening, was being processed at the same
    moment). Returns how many were applied."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    waiting = ProviderEvent.objects.filter(
        processed_at__isnull=True, received_at__lte=cutoff, type__in=list(AFTER_PAYMENT)
    )
    applied = 0
    for pk in waiting.order_by("id").values_list("pk", flat=True)[:limit]:
        with transaction.atomic():
            record = ProviderEvent.objects.select_for_update().get(pk=pk)
            if record.processed_at is None and _apply(PaymentEvent(**record.event)):
                ProviderEvent.objects.filter(pk=pk).update(processed_at=timezone.now())
                applied += 1
    return applied
