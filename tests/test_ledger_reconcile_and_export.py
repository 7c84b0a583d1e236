"""The reconcile command and the managers' CSV export of a campaign's ledger."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from donations.models import Gift
from ledger.models import LedgerEntry
from tests.factories import CampaignFactory, MembershipFactory, UserFactory
from tests.test_payments_refunds import paid_gift, paid_order

pytestmark = pytest.mark.django_db


def test_reconcile_agrees_after_payments_and_refunds_and_reports_a_tampered_row() -> None:
    campaign = CampaignFactory()
    gift = paid_gift(campaign, 2000)
    paid_order(1500)
    out = io.StringIO()
    call_command("reconcile", "--provider", stdout=out)
    assert "agrees" in out.getvalue()

    Gift.objects.filter(pk=gift.pk).update(amount_cents=2100)  # a row that lies about the money
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("reconcile", stdout=out)
    assert f"gift {gift.pk}: credited 2000, paid 2100" in out.getvalue()


def test_managers_export_their_campaigns_ledger_as_csv(client: Client) -> None:
    campaign = CampaignFactory()
    gift = paid_gift(campaign, 2350)
    manager = MembershipFactory(organisation=campaign.organisation).user
    client.force_login(manager)

    response = client.get(f"/gestion/campagnes/{campaign.slug}/ecritures.csv")

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")  # a BOM, so that a French Excel reads the accents
    header, row = list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))
    assert header[:4] == ["date", "sens", "motif", "montant (€)"]
    assert row[1:4] == ["Crédit", "Paiement", "23,50"] and row[5] == str(gift.pk)
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}", row[0])  # local time, French order
    assert row[6] == LedgerEntry.objects.get().provider_event_id


def test_the_ledger_export_is_hidden_from_everyone_else(client: Client) -> None:
    campaign = CampaignFactory()
    url = f"/gestion/campagnes/{campaign.slug}/ecritures.csv"
    assert client.get(url).status_code == 302  # sign in first
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    client.force_login(MembershipFactory().user)  # a manager of another organisation
    assert client.get(url).status_code == 404
