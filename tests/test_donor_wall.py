"""The donor wall: a campaign page lists the names and messages of its paid, non-anonymous gifts
once a member of its organisation who may edit campaigns approved them (/gestion/mur/), each
decision in the audit trail; anonymous gifts and unapproved messages never show; escaped; paged."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from campaigns.models import AuditEntry, Campaign, Membership, Organisation
from checkout.services import NotOnWall, gift_wall_decide
from donations.models import Gift, PaymentStatus
from kernel.errors import NotFound, PermissionDenied
from tests.factories import CampaignFactory, MembershipFactory, UserFactory
from tests.test_tips import paid

pytestmark = pytest.mark.django_db


def gift(
    campaign: Campaign, *, name: str = "Louise", message: str = "", anonymous: bool = False, pay: bool = True
) -> Gift:
    from checkout.services import gift_start

    started = gift_start(
        campaign_slug=campaign.slug,
        amount_cents=1500,
        email="louise@example.org",
        name=name,
        message=message,
        anonymous=anonymous,
    )
    return paid(started) if pay else started


def member(organisation: Organisation, role: str = Membership.Role.MANAGER) -> Any:
    return MembershipFactory(organisation=organisation, role=role).user


def decide(client: Client, target: Gift, decision: str, **data: str) -> Any:
    return client.post(f"/gestion/mur/{target.pk}/{decision}/", data)


def page_of(client: Client, campaign: Campaign) -> str:
    response = client.get(campaign.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def test_a_message_shows_only_once_a_manager_approved_it_and_goes_when_hidden(client: Client) -> None:
    campaign = CampaignFactory()
    louise = gift(campaign, name="Louise Martin", message="Courage à toute l'équipe !")
    visitor = Client()
    assert "Louise Martin" not in page_of(visitor, campaign) and "Courage" not in page_of(visitor, campaign)

    client.force_login(member(campaign.organisation))
    queue = client.get("/gestion/mur/").content.decode()
    assert "Louise Martin" in queue and "Courage à toute l&#x27;équipe !" in queue

    response = decide(client, louise, "approve")
    assert response.status_code == 302 and response["Location"] == "/gestion/mur/"
    page = page_of(visitor, campaign)
    assert "Ils soutiennent ce projet" in page
    assert "Louise Martin" in page and "Courage à toute l&#x27;équipe !" in page
    wall = page[page.index('<section class="donor-wall"') :]
    wall = wall[: wall.index("</section>")]
    assert "Louise Martin" in wall and "louise@example.org" not in wall and "15,00" not in wall  # no email, no amount

    decide(client, louise, "hide")
    assert "Louise Martin" not in page_of(visitor, campaign)
    actions = list(AuditEntry.objects.order_by("id").values_list("action", "subject"))
    assert actions == [("wall_approved", f"gift:{louise.pk}"), ("wall_hidden", f"gift:{louise.pk}")]
    entry = AuditEntry.objects.first()
    assert entry is not None and entry.details["message"] == "Courage à toute l'équipe !"


def test_the_same_decision_twice_is_recorded_once() -> None:
    campaign = CampaignFactory()
    target = gift(campaign, message="Bravo")
    manager = member(campaign.organisation)
    gift_wall_decide(actor=manager, gift_id=target.pk, decision="approve")
    gift_wall_decide(actor=manager, gift_id=target.pk, decision="approve")
    assert AuditEntry.objects.count() == 1
    assert Gift.objects.get(pk=target.pk).wall_status == Gift.WallStatus.APPROVED


def test_anonymous_unpaid_nameless_and_refunded_gifts_never_stand_on_the_wall(client: Client) -> None:
    campaign = CampaignFactory()
    anonymous = gift(campaign, name="Secret Person", message="Message anonyme", anonymous=True)
    pending = gift(campaign, name="Pas Payé", message="Paiement à venir", pay=False)
    nameless = gift(campaign, name="", message="Sans nom")
    manager = member(campaign.organisation)

    client.force_login(manager)
    queue = client.get("/gestion/mur/").content.decode()
    for text in ["Secret Person", "Message anonyme", "Pas Payé", "Sans nom"]:
        assert text not in queue
    for target in (anonymous, pending, nameless):
        with pytest.raises(NotOnWall):
            gift_wall_decide(actor=manager, gift_id=target.pk, decision="approve")
        assert decide(client, target, "approve").status_code == 302
    # Even if a row said otherwise, the page shows only paid, named, non-anonymous gifts.
    Gift.objects.update(wall_status=Gift.WallStatus.APPROVED)
    page = page_of(Client(), campaign)
    for text in ["Secret Person", "Message anonyme", "Pas Payé", "Paiement à venir", "Sans nom"]:
        assert text not in page
    assert not AuditEntry.objects.exists()

    shown = gift(campaign, name="Remboursé Bientôt", message="Merci")
    gift_wall_decide(actor=manager, gift_id=shown.pk, decision="approve")
    assert "Remboursé Bientôt" in page_of(Client(), campaign)
    Gift.objects.filter(pk=shown.pk).update(status=PaymentStatus.REFUNDED)
    assert "Remboursé Bientôt" not in page_of(Client(), campaign)


def test_a_hostile_name_and_message_are_escaped(client: Client) -> None:
    campaign = CampaignFactory()
    target = gift(campaign, name='<img src=x onerror="alert(1)">', message="<script>alert('mur')</script>\nligne 2")
    gift_wall_decide(actor=member(campaign.organisation), gift_id=target.pk, decision="approve")
    page = page_of(client, campaign)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#x27;mur&#x27;)&lt;/script&gt;<br>ligne 2" in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page


def test_who_may_moderate(client: Client) -> None:
    campaign = CampaignFactory()
    target = gift(campaign, message="Bravo")
    other = MembershipFactory(role=Membership.Role.ADMIN).user  # admin of another organisation

    assert decide(client, target, "approve").status_code == 302  # to the sign-in page
    assert client.get("/gestion/mur/").status_code == 302
    client.force_login(other)
    assert decide(client, target, "approve").status_code == 404
    assert "Bravo" not in client.get("/gestion/mur/").content.decode()
    with pytest.raises(NotFound):
        gift_wall_decide(actor=other, gift_id=target.pk, decision="approve")
    # Volunteers (the counter) and treasurers (the money) do not edit the campaign page.
    for role in (Membership.Role.VOLUNTEER, Membership.Role.TREASURER):
        client.force_login(member(campaign.organisation, role))
        assert decide(client, target, "approve").status_code == 403
        assert client.get("/gestion/mur/").status_code == 403
    with pytest.raises(PermissionDenied):
        gift_wall_decide(
            actor=member(campaign.organisation, Membership.Role.VOLUNTEER), gift_id=target.pk, decision="approve"
        )
    client.force_login(UserFactory())
    assert decide(client, target, "approve").status_code == 404
    assert Gift.objects.get(pk=target.pk).wall_status == Gift.WallStatus.PENDING
    # Admins and managers may.
    client.force_login(member(campaign.organisation, Membership.Role.ADMIN))
    assert decide(client, target, "approve").status_code == 302
    assert Gift.objects.get(pk=target.pk).wall_status == Gift.WallStatus.APPROVED


def test_hostile_moderation_requests(client: Client) -> None:
    campaign = CampaignFactory()
    target = gift(campaign, message="Bravo")
    client.force_login(member(campaign.organisation))
    assert decide(client, target, "delete").status_code == 404
    assert client.post("/gestion/mur/999999/approve/").status_code == 404
    assert client.get(f"/gestion/mur/{target.pk}/approve/").status_code == 405
    # A "next" elsewhere is not followed.
    response = decide(client, target, "approve", next="https://evil.example/")
    assert response.status_code == 302 and response["Location"] == "/gestion/mur/"
    response = decide(client, target, "hide", next="/gestion/mur/?statut=approved")
    assert response["Location"] == "/gestion/mur/?statut=approved"
    for query in ["?statut=nope", "?page=abc", "?page=-1", "?statut=approved&page=99999"]:
        assert client.get(f"/gestion/mur/{query}").status_code == 200
    assert not Gift.objects.exclude(wall_status__in=Gift.WallStatus.values).exists()


def test_the_wall_is_limited_on_the_campaign_page_and_paged_on_its_own(
    client: Client, django_assert_max_num_queries: Any
) -> None:
    campaign = CampaignFactory()
    manager = member(campaign.organisation)
    gifts = [gift(campaign, name=f"Personne {n:02d}", message=f"Message {n:02d}") for n in range(35)]
    for target in gifts:
        gift_wall_decide(actor=manager, gift_id=target.pk, decision="approve")

    with django_assert_max_num_queries(
        7
    ):  # the campaign page's (test_journey_pages): one for the wall, whatever its length
        page = page_of(client, campaign)
    assert page.count('<p class="wall-name">') == 10
    assert "Personne 34" in page and "Personne 24" not in page  # the newest first
    assert f'href="/campagnes/{campaign.slug}/soutiens/"' in page

    first = client.get(f"/campagnes/{campaign.slug}/soutiens/").content.decode()
    assert first.count('<p class="wall-name">') == 30 and "Page 1 sur 2" in first
    second = client.get(f"/campagnes/{campaign.slug}/soutiens/?page=2").content.decode()
    assert second.count('<p class="wall-name">') == 5 and "Personne 00" in second
    assert client.get(f"/campagnes/{campaign.slug}/soutiens/?page=zzz").status_code == 200
    assert client.get("/campagnes/nope/soutiens/").status_code == 404
    draft = CampaignFactory(status=Campaign.Status.DRAFT)
    assert client.get(f"/campagnes/{draft.slug}/soutiens/").status_code == 404


def test_the_managers_home_links_the_wall_to_those_who_may_moderate(client: Client) -> None:
    organisation = CampaignFactory().organisation
    client.force_login(member(organisation))
    assert "/gestion/mur/" in client.get("/gestion/").content.decode()
    client.force_login(member(organisation, Membership.Role.VOLUNTEER))
    assert "/gestion/mur/" not in client.get("/gestion/").content.decode()
