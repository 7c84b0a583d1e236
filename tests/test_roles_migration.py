"""The four roles arrive without touching a row: memberships written before
(``admin``, ``manager``) keep their meaning after migrating forward."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import User
from campaigns.permissions import Permission
from campaigns.selectors import user_may

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("campaigns", "0006_ledger_entry_moves_to_ledger")]


def _migrate(targets: list[tuple[str, str]] | None = None) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets if targets is not None else executor.loader.graph.leaf_nodes())
    return MigrationExecutor(connection)


@pytest.fixture
def old_schema() -> Iterator[MigrationExecutor]:
    executor = _migrate(BEFORE)
    try:
        yield executor
    finally:
        _migrate()


def test_admins_stay_admins_and_managers_stay_managers(old_schema: MigrationExecutor) -> None:
    old = old_schema.loader.project_state(BEFORE).apps
    organisation = old.get_model("campaigns", "Organisation").objects.create(
        name="Emmaüs Test",
        slug="emmaus-roles",
        legal_name="Emmaüs Test",
        legal_form="association",
        rna="W123456789",
        address_line1="1 rue du Test",
        postal_code="75001",
        city="Paris",
        contact_email="contact@example.org",
    )
    admin = User.objects.create_user(email="admin@example.org", password="x")
    manager = User.objects.create_user(email="manager@example.org", password="x")
    Membership = old.get_model("campaigns", "Membership")
    Membership.objects.create(user_id=admin.pk, organisation=organisation, role="admin")
    Membership.objects.create(user_id=manager.pk, organisation=organisation, role="manager")

    _migrate()

    assert user_may(admin, organisation.pk, Permission.TEAM)
    assert user_may(admin, organisation.pk, Permission.REFUND)
    assert user_may(manager, organisation.pk, Permission.OBJECTS)
    assert not user_may(manager, organisation.pk, Permission.TEAM)
    assert not user_may(manager, organisation.pk, Permission.REFUND)
