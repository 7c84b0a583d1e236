"""On PostgreSQL, with real threads: a verification link opened several times
at the same instant verifies the address once; the other clicks are refused
and cannot set another password. (SQLite ignores row locks: CI's PostgreSQL job.)"""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection

from accounts import services
from accounts.models import User
from tests.components import require
from tests.factories import UserFactory
from tests.test_checkout_concurrency import race

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres() -> None:
    require("postgres", connection.vendor == "postgresql", f"database is {connection.vendor}")


def test_clicks_racing_on_one_link_verify_once_and_only_the_winners_password_works() -> None:
    user = UserFactory(email_verified_at=None)
    token = services.email_verification_token(user)
    passwords = [f"phrase-secrete-numero-{n}-2026" for n in range(6)]

    results = race(6, lambda n: services.user_email_verify(token=token, new_password=passwords[n]))

    kinds = Counter(type(result).__name__ for result in results)
    assert kinds == {"User": 1, "InvalidVerificationLink": 5}, kinds
    winner = next(n for n, result in enumerate(results) if isinstance(result, User))
    user.refresh_from_db()
    assert user.email_verified
    assert [user.check_password(password) for password in passwords] == [n == winner for n in range(6)]
