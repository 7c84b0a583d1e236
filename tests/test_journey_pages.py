"""Every page of the journey, in both languages: one h1, the landmarks, a
label on every field, the language switch, and money and dates per locale.
(The browser tests run axe-core on top; these catch the basics on every run.)"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core import signing
from django.test import Client

from accounts.models import User
from checkout.services import order_start
from donations.models import ItemStatus, Order
from tests.factories import ItemFactory, UserFactory, add_photo, manager_of
from tests.receipts_support import paid_gift, paid_order, ready_campaign

pytestmark = pytest.mark.django_db

# A space before : ; ! ? or guillemets: right in French, a leak in English.
FRENCH_SPACING = re.compile(r"\S{0,20}(?: [:;!?»]|« )\S{0,20}")


class Page(HTMLParser):
    """What the checks need of a page: its tags, fields and labels."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = {}
        self.html_lang = ""
        self.fields: list[dict[str, str]] = []
        self.label_for: set[str] = set()
        self.label_depth = 0
        self.wrapped: list[dict[str, str]] = []
        self.text: list[str] = []
        self.skipping = 0

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.text.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag in {"script", "style"}:
            self.skipping += 1
        if tag == "html":
            self.html_lang = attributes.get("lang", "")
        if tag == "label":
            self.label_depth += 1
            if attributes.get("for"):
                self.label_for.add(attributes["for"])
        if tag in {"input", "select", "textarea"} and attributes.get("type") not in {"hidden", "submit", "button"}:
            self.fields.append(attributes)
            if self.label_depth:
                self.wrapped.append(attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"}:
            self.skipping -= 1
        if tag == "label":
            self.label_depth -= 1

    def unlabelled(self) -> list[dict[str, str]]:
        return [
            field
            for field in self.fields
            if field not in self.wrapped
            and field.get("id", "\0") not in self.label_for
            and not field.get("aria-label")
            and not field.get("aria-labelledby")
        ]


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def test_the_page_checks_catch_an_unlabelled_field_and_a_second_h1() -> None:
    page = parse(
        '<html lang="fr"><h1>A</h1><label for="a">A</label><input id="a"><input id="b" name="b">'
        '<label>C <input name="c"></label><select aria-label="D"></select><input type="hidden"><h1>B</h1>'
    )
    assert [field.get("name") for field in page.unlabelled()] == ["b"]
    assert page.counts["h1"] == 2 and page.html_lang == "fr"


def return_url(kind: str, pk: int, page: str = "merci") -> str:
    ref = signing.dumps({"kind": kind, "id": pk}, salt="tremma.payment-return")
    return f"/paiement/{page}/?{urlencode({'ref': ref})}"


@pytest.fixture
def journey() -> dict[str, Any]:
    campaign = ready_campaign()
    item = ItemFactory(campaign=campaign, title="Fauteuil", price_cents=4500)
    add_photo(item)
    ItemFactory(campaign=campaign, status=ItemStatus.SOLD, title="Vendu déjà")
    order = paid_order(ItemFactory(campaign=campaign, title="Lampe", price_cents=1250))
    pending = order_start(item_ids=[ItemFactory(campaign=campaign).pk], email="p@example.org")
    gift = paid_gift(campaign, 2000)
    manager = manager_of(campaign.organisation)
    return {"campaign": campaign, "item": item, "order": order, "pending": pending, "gift": gift, "manager": manager}


def pages(journey: dict[str, Any]) -> list[tuple[str, User | None]]:
    order: Order = journey["order"]
    manager: User = journey["manager"]
    donor = UserFactory()
    return [
        ("/", None),
        (journey["campaign"].get_absolute_url(), None),
        (journey["item"].get_absolute_url(), None),
        (return_url("order", order.pk), None),
        (return_url("order", journey["pending"].pk), None),
        (return_url("gift", journey["gift"].pk), None),
        (return_url("order", journey["pending"].pk, "annule"), None),
        (f"/retrait/{order.fulfilments.get().claim_token}/", None),
        ("/panier/", None),
        ("/comptes/connexion/", None),
        ("/comptes/inscription/", None),
        ("/comptes/profil/", donor),
        ("/mes-objets/", donor),
        ("/mes-objets/nouveau/", donor),
        ("/gestion/tableau-de-bord/", manager),
        ("/gestion/relecture/", manager),
        ("/gestion/campagnes/", manager),
        (f"/retrait/{order.fulfilments.get().claim_token}/remise/", manager),
        ("/gestion/recus/", manager),
        ("/gestion/vitrines/", manager),
    ]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_journey_page_has_one_h1_landmarks_labels_and_a_language_switch(
    client: Client, journey: dict[str, Any], language: str
) -> None:
    problems = []
    for url, person in pages(journey):
        if person is None:
            client.logout()
        else:
            client.force_login(person)
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        if response.status_code != 200:
            problems.append(f"{url}: status {response.status_code}")
            continue
        page = parse(response.content.decode())
        for tag in ("header", "nav", "main", "footer"):
            if page.counts.get(tag, 0) < 1:
                problems.append(f"{url}: no <{tag}>")
        if page.counts.get("h1", 0) != 1:
            problems.append(f"{url}: {page.counts.get('h1', 0)} h1")
        if page.html_lang != language:
            problems.append(f"{url}: lang={page.html_lang!r}")
        if 'action="/i18n/setlang/"' not in response.content.decode():
            problems.append(f"{url}: no language switch")
        problems += [f"{url}: field without label {field}" for field in page.unlabelled()]
        if language == "en":
            # French typography left in English text: a label translated without its punctuation.
            text = " ".join("".join(page.text).split())
            problems += [f"{url}: French punctuation in {match!r}" for match in FRENCH_SPACING.findall(text)]
    assert problems == []


def test_the_language_switch_sets_english_then_french_again(client: Client, journey: dict[str, Any]) -> None:
    url = journey["item"].get_absolute_url()
    # Each language is offered in its own tongue.
    assert 'lang="en">English</button>' in client.get(url).content.decode()
    assert 'lang="fr">Français</button>' in client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    switched = client.post("/i18n/setlang/", {"language": "en", "next": url})
    assert switched.status_code == 302 and switched["Location"] == url
    assert '<html lang="en">' in client.get(url).content.decode()
    client.post("/i18n/setlang/", {"language": "fr", "next": url})
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="fr">' in html and "45,00\u00a0€" in html  # the choice beats the browser's


def test_dates_follow_the_language(client: Client, journey: dict[str, Any]) -> None:
    part = journey["order"].fulfilments.get()
    client.force_login(journey["manager"])
    client.post(f"/retrait/{part.claim_token}/remise/")
    part.refresh_from_db()
    from django.utils import timezone

    when = timezone.localtime(part.handed_over_at)
    french = client.get(f"/retrait/{part.claim_token}/").content.decode()
    english = client.get(f"/retrait/{part.claim_token}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    months_fr = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre"]
    months_fr += ["novembre", "décembre"]
    assert f"{when.day} {months_fr[when.month - 1]} {when.year}" in french
    # English day first, as in France (tremma/formats/en), never the American "Nov. 30, 2026".
    assert f"{when.day} {when.strftime('%B')} {when.year}" in english
    assert f"{when.strftime('%B')} {when.day}, {when.year}" not in english


def test_home_and_campaign_pages_stay_a_fixed_number_of_queries(
    client: Client, journey: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    campaign = journey["campaign"]
    for _n in range(5):
        add_photo(ItemFactory(campaign=campaign))
    with django_assert_max_num_queries(1):
        assert client.get("/").status_code == 200
    # campaign with totals, items, their photos, its news, its matchfunding pledges, the last event, the donor wall
    with django_assert_max_num_queries(7):
        html = client.get(campaign.get_absolute_url()).content.decode()
    assert html.count('class="item-card') >= 7


@pytest.mark.parametrize(
    ("language", "counts"),
    [
        ("fr", {0: "0 soutien", 1: "1 soutien", 2: "2 soutiens"}),
        ("en", {0: "0 backers", 1: "1 backer", 2: "2 backers"}),
    ],
)
def test_the_number_of_backers_takes_the_plural_of_the_language(language: str, counts: dict[int, str]) -> None:
    from django.template import Context, Template
    from django.utils import translation

    template = Template("{% load tremma %}{% backers n %}")
    with translation.override(language):
        for count, text in counts.items():
            html = template.render(Context({"n": count}))
            assert f">{text}</span>" in html
            # both words for live.js, which picks one with Intl.PluralRules when the number changes
            assert ('data-one="soutien" data-other="soutiens"' if language == "fr" else 'data-one="backer"') in html


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/payments/merci/?ref=abc", "/paiement/merci/?ref=abc"),
        ("/payments/annule/?ref=abc", "/paiement/annule/?ref=abc"),
        ("/payments/objets/12/acheter/", "/objets/12/acheter/"),
        ("/payments/campagnes/velos/donner/", "/campagnes/velos/donner/"),
        ("/manage/", "/gestion/"),
        ("/payments/campagnes/velos/ecritures.csv", "/gestion/campagnes/velos/ecritures.csv"),
    ],
)
def test_pages_that_moved_to_french_paths_redirect_permanently_keeping_method_and_query(
    client: Client, old: str, new: str
) -> None:
    for method in (client.get, client.post):
        response = method(old)
        assert response.status_code == 308
        assert response["Location"] == new
