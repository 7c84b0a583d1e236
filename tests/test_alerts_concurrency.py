"""On PostgreSQL, with real threads: two hourly sweeps at the same instant email an
alert once; saves racing at the cap leave twenty alerts, not more. (SQLite ignores
row locks: CI's PostgreSQL job.)"""

from __future__ import annotations

from collections import Counter

import pytest
from django.core import mail
from django.db import connection

from alerts import services
from alerts.models import Alert
from tests.components import require
from tests.factories import ItemFactory, UserFactory
from tests.test_checkout_concurrency import race

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres() -> None:
    require("postgres", connection.vendor == "postgresql", f"database is {connection.vendor}")


def test_sweeps_racing_email_an_alert_once() -> None:
    alert, _created = services.alert_create(user=UserFactory(), filters={"q": "vélo"})
    ItemFactory(title="Vélo de course")
    now = alert.watermark + 2 * services.SETTLE

    results = race(4, lambda n: services.alerts_send_due(now=now))

    assert sorted(results) == [0, 0, 0, 1], results
    assert len([m for m in mail.outbox if m.subject.startswith("Nouveaux objets")]) == 1


def test_saves_racing_at_the_cap_leave_twenty_alerts() -> None:
    user = UserFactory()
    for n in range(services.MAX_ALERTS - 1):
        services.alert_create(user=user, filters={"q": f"objet {n}"})

    results = race(5, lambda n: services.alert_create(user=user, filters={"q": f"course {n}"}))

    kinds = Counter(type(result).__name__ for result in results)
    assert kinds == {"tuple": 1, "TooManyAlerts": 4}, results
    assert Alert.objects.filter(user=user).count() == services.MAX_ALERTS
