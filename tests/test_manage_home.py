"""The managers' home (/gestion/): every tool the person may use, one click away,
reachable from the header, and a way back to it from each manager page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from campaigns.models import Membership, Organisation
from checkout.services import order_start
from tests.factories import ItemFactory, UserFactory, manager_of
from tests.receipts_support import paid_order, pay, ready_campaign, ready_organisation

pytestmark = pytest.mark.django_db


def signed_in(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def links(html: str) -> set[str]:
    return set(re.findall(r'href="([^"]+)"', html))


ALL_TOOLS = {
    "dashboard": "/gestion/tableau-de-bord/",
    "orders": "/gestion/commandes/",
    "pickups": "/gestion/retraits/",
    "review": "/gestion/relecture/",
    "windows": "/gestion/vitrines/",
    "campaigns": "/gestion/campagnes/",
    "new campaign": "/gestion/campagnes/nouvelle/",
    "receipts": "/gestion/recus/",
    "receipts csv": "/gestion/recus/?format=csv",
    "statement": "/gestion/releves/emmaus-pau/",
    "legal details": "/gestion/organisations/emmaus-pau/mentions-legales/",
    "payout account": "/gestion/organisations/emmaus-pau/paiements/",
    "team": "/gestion/organisations/emmaus-pau/equipe/",
    "journal": "/gestion/organisations/emmaus-pau/journal/",
}
EVERY_ROLE = {"dashboard", "pickups"}
ROLE_TOOLS = {
    Membership.Role.VOLUNTEER: EVERY_ROLE,
    Membership.Role.MANAGER: EVERY_ROLE | {"orders", "review", "windows", "campaigns", "new campaign", "statement"},
    Membership.Role.TREASURER: EVERY_ROLE
    | {"orders", "receipts", "receipts csv", "statement", "legal details", "payout account", "journal"},
    Membership.Role.ADMIN: set(ALL_TOOLS),
}


@pytest.mark.parametrize("role", list(ROLE_TOOLS))
def test_each_role_finds_its_tools_on_the_home_and_only_those(client: Client, role: str) -> None:
    organisation = ready_organisation(slug="emmaus-pau")
    paid_order(ItemFactory(campaign=ready_campaign(organisation)))
    response = signed_in(client, manager_of(organisation, role=role)).get("/gestion/")

    assert response.status_code == 200
    html = response.content.decode()
    found = links(html)
    shown = {name for name, path in ALL_TOOLS.items() if path in found}
    assert shown == ROLE_TOOLS[role]
    declaration = any(path.startswith("/gestion/recus/emmaus-pau/declaration/") for path in found)
    assert declaration == ("receipts" in ROLE_TOOLS[role])
    assert "1 objet attend son acheteur" in html
    # Without the payout account, the person is told whose tools those are, without a link.
    assert ("réservés à ses administrateurs et trésoriers" in html) == ("payout account" not in ROLE_TOOLS[role])
    for path in found:  # every link shown opens for that role
        if path.startswith("/gestion/") and "?" not in path:
            assert client.get(path, follow=True).status_code == 200, path


def test_an_admin_of_two_organisations_gets_the_tools_of_each_under_its_name(client: Client) -> None:
    first, second = (
        ready_organisation(name="Emmaüs Pau", slug="pau"),
        ready_organisation(name="Ressourcerie", slug="nay"),
    )
    person = manager_of(first, role=Membership.Role.ADMIN)
    Membership.objects.create(user=person, organisation=second, role=Membership.Role.ADMIN)

    html = signed_in(client, person).get("/gestion/").content.decode()

    found = links(html)
    for slug in ("pau", "nay"):
        assert f"/gestion/organisations/{slug}/mentions-legales/" in found
        assert f"/gestion/organisations/{slug}/paiements/" in found
        assert f"/gestion/releves/{slug}/" in found
    assert "Emmaüs Pau" in html and "Ressourcerie" in html


def test_another_organisations_tools_are_not_offered(client: Client) -> None:
    mine = ready_organisation(slug="mine")
    ready_organisation(slug="theirs")
    html = signed_in(client, manager_of(mine, role=Membership.Role.ADMIN)).get("/gestion/").content.decode()
    assert "theirs" not in html


def test_visitors_sign_in_and_people_who_manage_nothing_are_refused(client: Client) -> None:
    response = client.get("/gestion/")
    assert response.status_code == 302 and response["Location"].startswith("/comptes/connexion/")
    assert signed_in(client, UserFactory()).get("/gestion/").status_code == 403


def test_the_old_english_address_moved_to_the_home(client: Client) -> None:
    response = client.get("/manage/?x=1")
    assert response.status_code == 308 and response["Location"] == "/gestion/?x=1"


def test_the_header_links_the_home_for_managers_only(client: Client, django_assert_max_num_queries: Any) -> None:
    organisation: Organisation = ready_organisation()
    with django_assert_max_num_queries(1):  # a visitor's page asks nothing about managing
        assert 'href="/gestion/"' not in client.get("/").content.decode()
    assert 'href="/gestion/"' not in signed_in(client, UserFactory()).get("/").content.decode()
    assert 'href="/gestion/"' in signed_in(client, manager_of(organisation)).get("/").content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/gestion/tableau-de-bord/",
        "/gestion/retraits/",
        "/gestion/relecture/",
        "/gestion/campagnes/",
        "/gestion/vitrines/",
        "/gestion/recus/",
        "/gestion/releves/",
    ],
)
def test_manager_pages_lead_back_to_the_home(client: Client, path: str) -> None:
    html = signed_in(client, manager_of(ready_organisation())).get(path).content.decode()
    assert '<nav class="manage-nav"' in html
    assert 'href="/gestion/"' in html.split('<nav class="manage-nav"')[1].split("</nav>")[0]


def test_the_objects_waiting_are_counted_one_by_one_of_the_organisations_own_part(client: Client) -> None:
    organisation = ready_organisation(slug="emmaus-pau")
    items = [
        ItemFactory(campaign=ready_campaign(organisation), price_cents=1500),
        ItemFactory(campaign=ready_campaign(organisation), price_cents=900),
        ItemFactory(campaign=ready_campaign(), price_cents=7300),  # another organisation's, same basket
    ]
    order = order_start(item_ids=[item.pk for item in items], email="panier@example.org")
    pay(order)

    html = signed_in(client, manager_of(organisation)).get("/gestion/").content.decode()

    assert "2 objets attendent leur acheteur" in html
