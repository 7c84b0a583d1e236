from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError

from accounts.models import User
from campaigns.models import Campaign, Membership, Organisation
from donations.models import Item, ItemPhoto
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, ...]:
    return (
        Organisation.objects.count(),
        Campaign.objects.count(),
        Item.objects.count(),
        ItemPhoto.objects.count(),
        User.objects.count(),
        Membership.objects.count(),
    )


def test_seed_demo_loads_believable_data_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_PASSWORD", "un-mot-de-passe-de-demo")
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    first = counts()
    call_command("seed_demo", stdout=io.StringIO())

    assert counts() == first
    assert first[0] == 2 and first[1] == 3 and first[2] >= 40 and first[3] == first[2]
    assert Campaign.objects.filter(status="live").count() == 3
    # The demo donor also has objects in review, rejected, draft, withdrawn, one gift in kind and
    # one for sale accepted, waiting to be dropped at the organisation.
    assert Item.objects.filter(status="listed").count() == first[2] - 7
    assert Item.objects.filter(status="in_review").count() == 3
    assert Item.objects.filter(kind="sale", handover="drop_off", status="accepted").count() == 1
    # Some objects ship (relay points; homes from the organisation), some are kept by a private giver
    # (relay only), some are bulky (collected only, even when parcels were asked for).
    listed = list(Item.objects.filter(status="listed"))
    assert any(item.ships and "home" in item.delivery_methods for item in listed)
    assert any(item.ships and item.delivery_methods == ["collection", "relay"] for item in listed)
    assert any(item.category in {"furniture", "bikes", "appliances"} for item in listed)
    assert not any(item.ships and item.category in {"furniture", "bikes", "appliances"} for item in listed)
    assert Item.objects.filter(kind="gift_in_kind", status="in_review").count() == 1
    assert set(Item.objects.values_list("status", flat=True)) >= {"draft", "rejected", "withdrawn"}
    for organisation in Organisation.objects.all():
        assert organisation.siren or organisation.rna
        for membership in organisation.memberships.all():
            member = membership.user
            assert member.check_password("un-mot-de-passe-de-demo")
            assert member.email_verified  # demo accounts can see their receipts at once
            assert member.email in out.getvalue()
    # Each role can be tried: Emmaüs Lescar-Pau has an admin, a treasurer and a volunteer.
    roles = dict(Membership.objects.filter(organisation__slug="emmaus-lescar-pau").values_list("user__email", "role"))
    assert roles == {
        "claire@emmaus-lescar.example": "admin",
        "tresorier@emmaus-lescar.example": "treasurer",
        "benevole@emmaus-lescar.example": "volunteer",
    }
    assert "un-mot-de-passe-de-demo" in out.getvalue()
    assert User.objects.get(email="donatrice@tremma.example").email_verified
    photo = ItemPhoto.objects.first()
    assert photo is not None and photo.width == 800 and photo.image.read(4) == b"RIFF"


def test_money_check_constraints_hold_in_the_database() -> None:
    with pytest.raises(IntegrityError):
        CampaignFactory(goal_cents=0)


def test_seed_demo_shows_money_raised_from_gifts_paid_through_the_demo_gateway() -> None:
    from ledger.models import LedgerEntry
    from ledger.selectors import campaign_public_queryset

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())

    raised = {campaign.slug: campaign.raised_cents for campaign in campaign_public_queryset()}
    assert raised == {"un-toit-pour-l-hiver": 19_500, "atelier-velo-solidaire": 10_500, "camion-de-collecte": 21_500}
    # One entry per gift on its campaign, and the tip of one of them on the platform's tips account.
    assert LedgerEntry.objects.filter(account=LedgerEntry.Account.CAMPAIGN).count() == 7
    assert list(
        LedgerEntry.objects.filter(account=LedgerEntry.Account.PLATFORM_TIPS).values_list("amount_cents", flat=True)
    ) == [500]


def test_seed_demo_connects_one_organisation_and_leaves_the_other_for_its_admin_to_connect(
    django_capture_on_commit_callbacks: Any,
) -> None:
    from donations.models import Gift

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=out)

    connected = Organisation.objects.get(slug="emmaus-lescar-pau")
    assert connected.stripe_account_id.startswith("demo_acct_") and connected.stripe_transfers_active
    # Its paid gifts went out to its demo account, through the same transfer path.
    paid = Gift.objects.filter(campaign__organisation=connected, status="paid")
    assert paid.exists() and not paid.filter(transfer_id="").exists()
    waiting = Organisation.objects.get(slug="ressourcerie-la-boucle")
    assert waiting.stripe_account_id == "" and not waiting.stripe_transfers_active
    assert "/gestion/organisations/ressourcerie-la-boucle/paiements/" in out.getvalue()
