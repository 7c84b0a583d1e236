"""The legal pages — legal notice, terms of use and sale, privacy notice — in
both languages, with the operator's details from settings (or a visible mark
naming the setting that must provide a missing one); the links to them from
every page's footer and from the buy and gift forms; and the deploy check that
warns while the operator's details are unset."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import WARNING, run_checks
from django.test import Client, RequestFactory, override_settings
from django.utils.html import escape
from rest_framework.test import APIClient

from frontend.legal import REQUIRED_SETTINGS
from tests.factories import CampaignFactory, ItemFactory, WindowFactory, place_items
from tests.support.legal import LEGAL_ENV
from tests.test_journey_pages import FRENCH_SPACING, parse
from tremma.env import ImproperEnvironment, env_email

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
TITLES = {
    "/mentions-legales/": ("Mentions légales", "Legal notice"),
    "/conditions/": ("Conditions d’utilisation et de vente", "Terms of use and sale"),
    "/confidentialite/": ("Politique de confidentialité", "Privacy notice"),
}
UNSET = {name: "" for name in REQUIRED_SETTINGS} | {"OPERATOR_CAPITAL": "", "OPERATOR_VAT_NUMBER": ""}
MISSING = {
    "fr": "[à renseigner par l’exploitant du site : réglage {}]",
    "en": "[to be provided by the site's operator: setting {}]",
}
TERMS_SECTIONS = [
    "role",
    "compte",
    "proposer",
    "vente",
    "prix",
    "paiement",
    "retrait",
    "retractation",
    "garanties",
    "reclamations",
    "mediation",
    "dons",
    "responsabilite",
    "droit",
]


def words(html: str) -> str:
    """The page's visible text with its spaces collapsed."""
    return " ".join("".join(parse(html).text).split())


def footer_of(html: str) -> str:
    match = re.search(r"<footer\b.*?</footer>", html, re.S)
    assert match, "no <footer>"
    return match.group(0)


def links_to_the_legal_pages(html: str) -> bool:
    return all(f'href="{url}"' in html for url in TITLES)


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("url", list(TITLES))
def test_each_legal_page_answers_in_both_languages_with_one_h1_and_the_landmarks(
    client: Client, url: str, language: str
) -> None:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    html = response.content.decode()
    page = parse(html)
    french, english = TITLES[url]
    assert page.html_lang == language
    assert page.counts.get("h1") == 1 and f"<h1>{french if language == 'fr' else english}</h1>" in html
    assert all(page.counts.get(tag, 0) >= 1 for tag in ("header", "nav", "main", "footer"))
    assert page.counts.get("h2", 0) >= 3  # sections, not a wall of text
    if language == "en":
        assert f"<h1>{french}</h1>" not in html
        assert FRENCH_SPACING.findall(words(html)) == []  # no French sentence left untranslated


def test_the_legal_pages_only_answer_reads(client: Client) -> None:
    for url in TITLES:
        assert client.post(url).status_code == 405


@pytest.mark.parametrize(
    ("url", "french", "english"),
    [
        ("/mentions-legales/", "Qui héberge ce site", "Who hosts this site"),
        ("/conditions/", "vous avez 14 jours pour vous rétracter", "you have 14 days to withdraw"),
        ("/conditions/", "le vendeur est cette personne", "the seller is that person"),
        ("/conditions/", "pas de droit de rétractation pour un don", "no right of withdrawal for a gift"),
        ("/confidentialite/", "Les reçus fiscaux : 6 ans", "Tax receipts: 6 years"),
        ("/confidentialite/", "réclamation à la CNIL", "complain to the CNIL"),
    ],
)
def test_the_texts_say_the_same_thing_in_french_and_in_english(
    client: Client, url: str, french: str, english: str
) -> None:
    in_french = words(client.get(url).content.decode())
    in_english = words(client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode())
    assert french in in_french and french not in in_english
    assert english in in_english


def test_the_language_switch_turns_a_legal_page_into_english(client: Client) -> None:
    switched = client.post("/i18n/setlang/", {"language": "en", "next": "/conditions/"})
    assert switched.status_code == 302 and switched["Location"] == "/conditions/"
    html = client.get("/conditions/").content.decode()
    assert '<html lang="en">' in html and "<h1>Terms of use and sale</h1>" in html


@override_settings(**LEGAL_ENV, OPERATOR_CAPITAL="10 000 €", OPERATOR_VAT_NUMBER="FR12912345678")
def test_the_legal_notice_names_the_operator_and_the_host_from_settings(client: Client) -> None:
    html = client.get("/mentions-legales/").content.decode()
    for name, value in LEGAL_ENV.items():
        if not name.startswith("MEDIATOR_"):
            assert escape(value) in html, name
    assert 'href="mailto:contact@tremma.example"' in html
    assert "Capital social" in html and "10 000 €" in html and "FR12912345678" in html
    assert 'class="missing"' not in html


@override_settings(**LEGAL_ENV)
def test_the_terms_and_the_privacy_notice_name_the_operator_the_mediator_and_the_host(client: Client) -> None:
    terms = client.get("/conditions/").content.decode()
    assert "édité par Trëmma Coopérative" in terms
    assert 'Le médiateur désigné est Médiation Conso Exemple : <a href="https://mediateur.example">' in terms
    assert 'href="mailto:contact@tremma.example"' in terms  # where complaints go
    assert "doit en désigner un" not in terms and 'class="missing"' not in terms
    privacy = client.get("/confidentialite/").content.decode()
    assert "Trëmma Coopérative, 12 rue des Lilas, 69001 Lyon" in privacy
    assert "Notre hébergeur, Hébergeur Solidaire SAS." in privacy
    assert 'href="mailto:contact@tremma.example"' in privacy and 'class="missing"' not in privacy


@override_settings(**UNSET)
@pytest.mark.parametrize("language", ["fr", "en"])
def test_an_unset_detail_shows_as_missing_and_names_its_setting(client: Client, language: str) -> None:
    mark = MISSING[language]
    notice = client.get("/mentions-legales/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    for name in REQUIRED_SETTINGS:
        if not name.startswith("MEDIATOR_"):
            assert escape(mark.format(name)) in notice, name
    assert "mailto:" not in notice
    # Optional details are left out rather than marked: not every operator has a capital or a VAT number.
    assert "OPERATOR_CAPITAL" not in notice and "OPERATOR_VAT_NUMBER" not in notice
    terms = client.get("/conditions/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    for name in ("OPERATOR_NAME", "OPERATOR_EMAIL", "MEDIATOR_NAME", "MEDIATOR_URL"):
        assert escape(mark.format(name)) in terms, name
    must_appoint = {"fr": "doit en désigner un avant toute vente", "en": "must appoint one before any sale"}
    assert must_appoint[language] in terms
    privacy = client.get("/confidentialite/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    for name in ("OPERATOR_NAME", "OPERATOR_ADDRESS", "OPERATOR_EMAIL", "HOST_NAME"):
        assert escape(mark.format(name)) in privacy, name


@override_settings(**{**LEGAL_ENV, "OPERATOR_NAME": '<script>alert("x")</script>', "HOST_NAME": "A & B <b>"})
def test_the_operators_details_are_escaped_like_any_text(client: Client) -> None:
    for url in TITLES:
        html = client.get(url).content.decode()
        assert "<script>" not in html and "<b>" not in html, url
    assert "&lt;script&gt;" in client.get("/conditions/").content.decode()
    assert "A &amp; B &lt;b&gt;" in client.get("/confidentialite/").content.decode()


@override_settings(RECEIPT_RETURN_PERIOD_DAYS=1, CHECKOUT_HOLD_MINUTES=45)
def test_the_terms_give_the_hold_and_the_return_period_in_force_with_their_plural(client: Client) -> None:
    french = words(client.get("/conditions/").content.decode())
    assert "au plus 45 minutes" in french and "définitive que 1 jour après la remise" in french
    english = words(client.get("/conditions/", HTTP_ACCEPT_LANGUAGE="en").content.decode())
    assert "for at most 45 minutes" in english and "final 1 day after the item is handed over" in english
    with override_settings(RECEIPT_RETURN_PERIOD_DAYS=14):
        english = words(client.get("/conditions/", HTTP_ACCEPT_LANGUAGE="en").content.decode())
        assert "final 14 days after the item is handed over" in english


def test_every_cookie_the_site_sets_is_listed_in_the_privacy_notice(client: Client) -> None:
    set_by_the_site: set[str] = set()
    responses = [
        client.get("/"),  # the language switch's form: the CSRF cookie
        client.post("/i18n/setlang/", {"language": "fr", "next": "/"}),
        client.post(  # signed in, with a welcome message kept for the next page
            "/comptes/inscription/",
            {
                "email": "cookies@example.org",
                "first_name": "Lou",
                "last_name": "Martin",
                "password": "Tr3s-l0ng-et-rare!",
            },
        ),
        client.get("/comptes/profil/"),
    ]
    assert responses[2].status_code == 302
    for response in responses:
        set_by_the_site |= set(response.cookies)
    html = client.get("/confidentialite/").content.decode()
    listed = set(re.findall(r"<li><code>([^<]+)</code>", html))
    assert len(set_by_the_site) >= 4 and set_by_the_site <= listed


def test_the_terms_have_an_anchor_for_each_section_and_a_table_of_contents_in_their_order(client: Client) -> None:
    html = client.get("/conditions/").content.decode()
    sections = re.findall(r'<h2 id="([a-z-]+)">', html)
    toc = re.search(r'<nav class="toc" aria-label="Sommaire">(.*?)</nav>', html, re.S)
    assert toc and re.findall(r'<a href="#([a-z-]+)">', toc.group(1)) == sections
    assert set(TERMS_SECTIONS) <= set(sections)  # the anchors the forms and other pages link to


def test_every_page_of_the_site_links_the_legal_pages_from_its_footer(client: Client, api: APIClient) -> None:
    item = ItemFactory()
    campaign = item.campaign
    checkout = api.post(f"/api/items/{item.pk}/checkout/", {"email": "passant@example.org"}, format="json")
    assert checkout.status_code == 201
    demo_page = checkout.json()["checkout_url"].removeprefix("http://testserver")
    urls = ["/", campaign.get_absolute_url(), item.get_absolute_url(), "/comptes/connexion/", demo_page, *TITLES]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        footer = footer_of(response.content.decode())
        assert links_to_the_legal_pages(footer), url
        assert 'aria-label="Informations légales"' in footer, url
    missing = client.get("/page-qui-n-existe-pas/")
    assert missing.status_code == 404 and links_to_the_legal_pages(footer_of(missing.content.decode()))
    english = footer_of(client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode())
    assert ">Legal notice</a>" in english and ">Terms of use and sale</a>" in english and ">Privacy</a>" in english


def test_the_window_screen_and_the_error_page_link_the_legal_pages_too(client: Client) -> None:
    window = WindowFactory()
    place_items(window, 1)
    screen = client.get(f"/windows/{window.pk}/screen/")
    assert screen.status_code == 200 and links_to_the_legal_pages(footer_of(screen.content.decode()))
    from frontend.views import server_error

    error = server_error(RequestFactory().get("/"))
    assert error.status_code == 500 and links_to_the_legal_pages(footer_of(error.content.decode()))


@pytest.mark.parametrize(
    ("language", "sale", "gift"),
    [
        ("fr", "En payant, vous acceptez les", "En donnant, vous acceptez les"),
        ("en", "By paying, you accept the", "By giving, you accept the"),
    ],
)
def test_the_buy_and_gift_forms_link_the_terms_and_the_gift_form_the_privacy_notice(
    client: Client, language: str, sale: str, gift: str
) -> None:
    item = ItemFactory()
    html = client.get(item.get_absolute_url(), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    buy_form = html.split("data-buy")[1].split("</form>")[0]
    assert sale in buy_form and 'href="/conditions/#vente"' in buy_form
    campaign = CampaignFactory()
    html = client.get(campaign.get_absolute_url(), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    give_form = html.split('id="donner"')[1].split("</form>")[0]
    assert gift in give_form and 'href="/conditions/#dons"' in give_form and 'href="/confidentialite/"' in give_form


def legal_warnings(*, deploy: bool) -> list[Any]:
    return [message for message in run_checks(include_deployment_checks=deploy) if message.id == "frontend.W001"]


@override_settings(**UNSET)
def test_the_deploy_check_warns_while_the_operators_details_are_unset() -> None:
    [warning] = legal_warnings(deploy=True)
    assert warning.level == WARNING
    assert all(name in warning.msg for name in REQUIRED_SETTINGS)
    assert legal_warnings(deploy=False) == []  # a development `check` stays quiet


@override_settings(**{**LEGAL_ENV, "MEDIATOR_URL": ""})
def test_the_deploy_check_names_only_the_details_still_missing() -> None:
    [warning] = legal_warnings(deploy=True)
    assert "MEDIATOR_URL" in warning.msg and "MEDIATOR_NAME" not in warning.msg and "OPERATOR_NAME" not in warning.msg


@override_settings(**LEGAL_ENV)
def test_the_deploy_check_is_quiet_once_every_detail_is_set() -> None:
    assert legal_warnings(deploy=True) == []


def test_the_ci_deploy_step_sets_every_legal_detail_so_a_warning_cannot_fail_it() -> None:
    step = (ROOT / ".ci" / "run").read_text(encoding="utf-8").split('step "deploy check')[1]
    assert [name for name in REQUIRED_SETTINGS if f"{name}=" not in step] == []


def test_env_email_refuses_a_malformed_address_and_names_the_variable() -> None:
    assert env_email("OPERATOR_EMAIL", environ={}) == ""
    assert env_email("OPERATOR_EMAIL", environ={"OPERATOR_EMAIL": " contact@tremma.example "}) == (
        "contact@tremma.example"
    )
    with pytest.raises(ImproperEnvironment, match="OPERATOR_EMAIL must be an email address"):
        env_email("OPERATOR_EMAIL", environ={"OPERATOR_EMAIL": "contact@"})


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("OPERATOR_EMAIL", "contact-at-tremma", "OPERATOR_EMAIL must be an email address"),
        ("MEDIATOR_URL", "mediateur.example", "MEDIATOR_URL must be a URL"),
    ],
)
def test_settings_refuse_a_malformed_legal_detail_at_start_up(variable: str, value: str, message: str) -> None:
    env = {key: val for key, val in os.environ.items() if key not in {"DEBUG"}}
    env.update(SECRET_KEY="x" * 60, **{variable: value})
    result = subprocess.run(
        [sys.executable, "-c", "import tremma.settings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and message in result.stderr
