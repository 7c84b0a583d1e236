"""The managers' home (/gestion/): every tool the person may use, one click away,
reachable from the header, and a way back to it from each manager page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from campaigns.models import Membership, Organisation
from tests.factories import ItemFactory, UserFactory, manager_of
from tests.receipts_support import paid_order, ready_campaign, ready_organisation

pytestmark = pytest.mark.django_db


def signed_in(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def links(html: str) -> set[str]:
    return set(re.findall(r'href="([^"]+)"', html))


def test_a_manager_finds_every_tool_on_the_home(client: Client) -> None:
    organisation = ready_organisation(slug="emmaus-pau")
    paid_order(ItemFactory(campaign=ready_campaign(organisation)))
    response = signed_in(client, manager_of(organisation)).get("/gestion/")

    assert response.status_code == 200
    html = response.content.decode()
    found = links(html)
    for path in (
        "/gestion/tableau-de-bord/",
        "/gestion/commandes/",
        "/gestion/retraits/",
        "/gestion/relecture/",
        "/gestion/vitrines/",
        "/gestion/campagnes/",
        "/gestion/campagnes/nouvelle/",
        "/gestion/recus/",
        "/gestion/recus/?format=csv",
        "/gestion/releves/emmaus-pau/",
    ):
        assert path in found, path
    assert any(path.startswith("/gestion/recus/emmaus-pau/declaration/") for path in found)
    assert "1 objet attend son acheteur" in html
    # A manager who is not an admin is told where the admins' tools are, without a link to them.
    assert "/gestion/organisations/emmaus-pau/mentions-legales/" not in found
    assert "/gestion/organisations/emmaus-pau/paiements/" not in found
    assert "réservés à ses administrateurs" in html


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
