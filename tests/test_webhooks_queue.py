"""The Stripe webhook records an event and answers; a worker applies it (payments.events):
as production runs it (tasks not eager), the record and its task are one transaction, the
task applies the event once however often it is delivered, and an application that fails
leaves the event recorded, unapplied and retried, with nothing half-written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_q.models import OrmQ
from django_q.signing import SignedPackage
from rest_framework.test import APIClient

from donations.models import Gift, PaymentStatus
from kernel import tasks
from kernel.tasks import task_run
from ledger.models import LedgerEntry
from ledger.selectors import campaign_progress
from payments import events
from payments.models import ProviderEvent
from realtime.models import RealtimeEvent
from tests.factories import CampaignFactory
from tests.support.payments import WEBHOOK_URL, complete_session, sign

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings")]

APPLY = "payments.events.provider_event_apply"


@pytest.fixture
def engine(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.TASKS_EAGER = False
    monkeypatch.setattr(tasks, "_in_worker", False)
    monkeypatch.setattr(tasks, "_current", {})


def queued() -> list[tuple[str, dict[str, Any]]]:
    return [SignedPackage.loads(row.payload)["args"] for row in OrmQ.objects.order_by("id")]


def paid_gift_event(amount_cents: int = 3000) -> tuple[Gift, dict[str, Any]]:
    campaign = CampaignFactory()
    response = APIClient().post(
        f"/api/campaigns/{campaign.slug}/gifts/", {"amount_cents": amount_cents, "email": "don@example.org"}
    )
    assert response.status_code == 201, response.content
    gift = Gift.objects.get(pk=response.json()["gift_id"])
    return gift, complete_session(gift.provider_session_id or "")


def deliver(client: Client, event: dict[str, Any]) -> Any:
    payload = json.dumps(event).encode()
    return client.post(WEBHOOK_URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(payload))


def test_the_webhook_records_the_event_and_its_task_then_the_worker_applies_it_once(
    engine: None, client: Client
) -> None:
    gift, completed = paid_gift_event(3000)
    OrmQ.objects.all().delete()  # the gift's own tasks, if any

    assert deliver(client, completed).status_code == 200

    record = ProviderEvent.objects.get(event_id=completed["id"])
    assert record.processed_at is None
    assert queued() == [(APPLY, {"provider": "stripe", "event_id": completed["id"]})]
    # Answered before any of the payment's work: nothing counted yet.
    gift.refresh_from_db()
    assert gift.status == PaymentStatus.PENDING
    assert not LedgerEntry.objects.filter(gift=gift).exists()

    assert deliver(client, completed).status_code == 200  # Stripe's retry: nothing more recorded or queued
    assert ProviderEvent.objects.filter(event_id=completed["id"]).count() == 1
    assert len(queued()) == 1

    assert task_run(APPLY, {"provider": "stripe", "event_id": record.event_id}) is True  # the worker
    gift.refresh_from_db()
    record.refresh_from_db()
    assert gift.status == PaymentStatus.PAID and record.processed_at is not None
    assert campaign_progress(campaign_id=gift.campaign_id) == (3000, 1)
    snapshot = (LedgerEntry.objects.count(), RealtimeEvent.objects.count())

    assert (
        task_run(APPLY, {"provider": "stripe", "event_id": record.event_id}) is False
    )  # delivered twice to the workers: once
    assert (LedgerEntry.objects.count(), RealtimeEvent.objects.count()) == snapshot
    assert campaign_progress(campaign_id=gift.campaign_id) == (3000, 1)


def test_a_delivery_is_one_statement_on_postgresql_and_a_replay_writes_nothing(engine: None, client: Client) -> None:
    _gift, completed = paid_gift_event()

    with CaptureQueriesContext(connection) as first:
        assert deliver(client, completed).status_code == 200
    statements = [q["sql"] for q in first.captured_queries if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE"))]
    # The event's row and its task's row, nothing of the payment's own work (the worker's).
    if connection.vendor == "postgresql":
        # One statement writes both, the task's only if the event's was: atomic without a transaction.
        assert len(statements) == 1, statements
        assert "payments_providerevent" in statements[0] and "django_q_ormq" in statements[0]
    else:  # the replay check, then both rows in one transaction
        assert len(statements) == 3, statements
        assert statements[0].startswith("SELECT") and "payments_providerevent" in statements[0]
        assert statements[1].startswith("INSERT") and "payments_providerevent" in statements[1]
        assert statements[2].startswith("INSERT") and "django_q_ormq" in statements[2]

    with CaptureQueriesContext(connection) as replay:
        assert deliver(client, completed).status_code == 200
    assert len(replay.captured_queries) == 1
    assert ProviderEvent.objects.filter(event_id=completed["id"]).count() == 1 and len(queued()) == 1


def test_a_hostile_event_id_is_recorded_as_text_and_never_runs_anything(engine: None, client: Client) -> None:
    _gift, completed = paid_gift_event()
    hostile = {**completed, "id": "evt_'); DROP TABLE payments_providerevent; --\u0000é" + "x" * 200}
    response = deliver(client, hostile)
    assert response.status_code == 400  # signed, but no Stripe event holds a NUL (PostgreSQL's text cannot)
    assert not ProviderEvent.objects.exists() and not OrmQ.objects.filter(payload__contains="DROP").exists()

    quoted = {**completed, "id": "evt_'); DROP TABLE payments_providerevent; --é" + "x" * 200}
    assert deliver(client, quoted).status_code == 200
    assert ProviderEvent.objects.get().event_id == quoted["id"]  # a value, never SQL


def test_an_application_that_fails_is_rolled_back_whole_and_the_retry_applies_it(
    engine: None, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    gift, completed = paid_gift_event(2000)
    assert deliver(client, completed).status_code == 200
    record = ProviderEvent.objects.get(event_id=completed["id"])
    before = (LedgerEntry.objects.count(), RealtimeEvent.objects.count(), OrmQ.objects.count())

    real = list(events._receiver)

    def receiver_down(event: Any) -> bool:
        real[0](event)  # the payment's work is done, then something fails before the commit
        raise RuntimeError("the database went away")

    monkeypatch.setattr(events, "_receiver", [receiver_down])
    with pytest.raises(RuntimeError):
        task_run(APPLY, {"provider": "stripe", "event_id": record.event_id})

    gift.refresh_from_db()
    record.refresh_from_db()
    assert gift.status == PaymentStatus.PENDING and record.processed_at is None
    assert (LedgerEntry.objects.count(), RealtimeEvent.objects.count(), OrmQ.objects.count()) == before

    monkeypatch.setattr(events, "_receiver", real)  # the next attempt
    assert task_run(APPLY, {"provider": "stripe", "event_id": record.event_id}) is True
    gift.refresh_from_db()
    assert gift.status == PaymentStatus.PAID
    assert campaign_progress(campaign_id=gift.campaign_id) == (2000, 1)


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b"{}",
        b'{"object": "event"}',
        b'{"id": 12, "type": null, "data": 7}',
        b'{"id": "evt_1", "type": "checkout.session.completed", "data": {"object": {"amount_total": "lots"}}}',
        '{"id": "evt_é", "type": "charge.refunded"}'.encode("latin-1"),
    ],
)
def test_signed_bodies_of_a_shape_stripe_never_sends_answer_400_and_record_nothing(
    engine: None, client: Client, body: bytes
) -> None:
    response = client.post(WEBHOOK_URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body))
    assert response.status_code == 400, response.content
    assert not ProviderEvent.objects.exists() and not OrmQ.objects.exists()


def test_an_unknown_event_in_a_task_applies_nothing(engine: None) -> None:
    assert task_run(APPLY, {"provider": "stripe", "event_id": "evt_never_received"}) is False
    assert task_run(APPLY, {"provider": "stripe", "event_id": "1' OR '1'='1"}) is False
    assert not LedgerEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_refund_a_worker_is_applying_is_left_to_it_by_its_payment_in_another_worker(
    engine: None, client: Client
) -> None:
    """Two workers at once: one applies a refund delivered before its payment (its record locked,
    waiting for the gift), the other the payment, which looks for the refunds waiting for it. The
    payment skips the locked one instead of waiting for it (a deadlock: each holds what the other
    needs); the refund's worker then finds its payment applied."""
    import threading

    from tests.components import require
    from tests.support.payments import charge_of, stripe_call

    require("postgres", connection.vendor == "postgresql", "row locks are PostgreSQL's")
    gift, completed = paid_gift_event(4000)
    intent = completed["data"]["object"]["payment_intent"]
    stripe_call("POST", "/v1/refunds", {"payment_intent": intent, "amount": 1000})
    refunded = {**completed, "id": "evt_refund_first", "type": "charge.refunded"}
    refunded["data"] = {"object": charge_of(intent)}
    assert deliver(client, refunded).status_code == 200  # the refund first
    assert deliver(client, completed).status_code == 200
    refund = ProviderEvent.objects.get(event_id="evt_refund_first")
    payment = ProviderEvent.objects.get(event_id=completed["id"])

    locked, release = threading.Event(), threading.Event()

    def refunds_worker() -> None:
        from django.db import connections, transaction

        try:
            with transaction.atomic():
                ProviderEvent.objects.select_for_update().get(pk=refund.pk)
                locked.set()
                release.wait(20)
        finally:
            connections.close_all()

    holder = threading.Thread(target=refunds_worker)
    holder.start()
    try:
        assert locked.wait(10)
        applied: list[bool] = []

        def payments_worker_run() -> None:
            from django.db import connections

            try:
                applied.append(task_run(APPLY, {"provider": "stripe", "event_id": payment.event_id}))
            finally:
                connections.close_all()

        payments_worker = threading.Thread(target=payments_worker_run)
        payments_worker.start()
        payments_worker.join(15)
        assert not payments_worker.is_alive(), "the payment waited for the refund's lock"
        assert applied == [True]
        refund.refresh_from_db()
        assert refund.processed_at is None  # left to its worker
    finally:
        release.set()
        holder.join(20)

    assert task_run(APPLY, {"provider": "stripe", "event_id": refund.event_id}) is True
    gift.refresh_from_db()
    assert gift.status == PaymentStatus.PAID and gift.refunded_cents == 1000
    assert campaign_progress(campaign_id=gift.campaign_id) == (3000, 1)
