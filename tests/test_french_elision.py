"""French "de" before a name, on the pages and in the e-mails: "Paiements d'Emmaüs", not "de Emmaüs"
(kernel.words.de_name, the ``de`` template filter), and the dashboard's "don anonyme"."""

from __future__ import annotations

import html

import pytest
from django.core import mail
from django.test import Client
from django.utils import translation

from campaigns.models import Membership
from checkout.emails import gift_thanks_send
from checkout.services import gift_start
from payments.events import event_receive
from tests.factories import CampaignFactory, MembershipFactory, OrganisationFactory, manager_of
from tests.test_ledger_totals import paid

pytestmark = pytest.mark.django_db


def test_the_organisation_payments_page_says_d_emmaus(client: Client) -> None:
    organisation = OrganisationFactory(name="Emmaüs Lescar-Pau")
    client.force_login(manager_of(organisation, role=Membership.Role.ADMIN))

    page = html.unescape(client.get(f"/gestion/organisations/{organisation.slug}/paiements/").content.decode())

    assert "Paiements d'Emmaüs Lescar-Pau" in page
    assert "de Emmaüs" not in page


def test_the_payments_page_in_english_keeps_its_words(client: Client) -> None:
    organisation = OrganisationFactory(name="Emmaüs Lescar-Pau")
    client.force_login(manager_of(organisation, role=Membership.Role.ADMIN))

    page = client.get(
        f"/gestion/organisations/{organisation.slug}/paiements/", headers={"accept-language": "en"}
    ).content.decode()

    assert "Payments of Emmaüs Lescar-Pau" in page


def test_the_thanks_email_says_d_emmaus() -> None:
    campaign = CampaignFactory(organisation=OrganisationFactory(name="Emmaüs Lescar-Pau"), title="Un toit")
    with translation.override("fr"):  # the gift's language, that of its e-mails
        gift = gift_start(campaign_slug=campaign.slug, amount_cents=2_500, email="d@example.org")
    event_receive(event=paid(gift))
    gift_thanks_send(gift_id=gift.pk)

    [thanks] = [m for m in mail.outbox if m.to == ["d@example.org"] and "Merci pour votre don" in m.subject]
    assert "au projet « Un toit » d'Emmaüs Lescar-Pau." in thanks.body
    assert "de Emmaüs" not in thanks.body


def test_the_dashboard_feed_says_don_anonyme_and_elides_before_a_vowel(client: Client) -> None:
    membership = MembershipFactory()
    campaign = CampaignFactory(organisation=membership.organisation)
    for name in ("", "Émile"):
        event_receive(
            event=paid(gift_start(campaign_slug=campaign.slug, amount_cents=1_000, email="d@example.org", name=name))
        )
    client.force_login(membership.user)

    page = html.unescape(client.get("/gestion/tableau-de-bord/").content.decode())

    assert "de anonyme" not in page and "don anonyme" in page
    assert "don d'Émile" in page and "de Émile" not in page
    # The words for live entries: dashboard.js fills in "{de_name}" (d'Émile) or takes "don anonyme" whole.
    assert 'data-gift="don {de_name}"' in page and 'data-anonymous="don anonyme"' in page
