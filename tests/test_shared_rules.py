"""Each shared rule has one definition; these tests pin what the former copies disagreed on."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client, RequestFactory

from accounts.requests import signed_in
from campaigns.forms import CampaignForm
from campaigns.models import Membership
from campaigns.selectors import user_administers, user_manages
from donations.forms import ItemForm
from kernel import pdf
from kernel.money import CAMPAIGN_GOAL, ITEM_PRICE, euros_to_cents
from kernel.net import client_address
from pages.api.campaigns import CampaignWriteSerializer
from pages.api.items import ItemEditSerializer
from qr.models import Scan
from qr.services import short_code_for, visitor_hash
from tests.factories import (
    ItemFactory,
    OrganisationFactory,
    UserFactory,
    WindowFactory,
    manager_of,
    place_items,
)

pytestmark = pytest.mark.django_db

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


# --- 1. The client address: exactly TRUSTED_PROXY_HOPS hops are trusted ------------------------


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (0, "6.6.6.6", "203.0.113.9"),  # no proxy of ours: the header is the client's own writing
        (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # our proxy appended the address it saw
        (1, "", "203.0.113.9"),  # no header at all: the socket's address
        (2, "198.51.100.7", "203.0.113.9"),  # fewer hops than we trust: the header is not ours
    ],
)
def test_a_scan_is_counted_against_the_address_our_proxies_saw(
    client: Client, settings: Any, hops: int, forwarded: str, expected: str
) -> None:
    settings.TRUSTED_PROXY_HOPS = hops
    code = short_code_for(target=ItemFactory())
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}

    client.get(f"/q/{code.code}", REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT=PHONE, **headers)

    (scan,) = Scan.objects.all()
    assert scan.visitor_hash == visitor_hash(address=expected, user_agent=PHONE, at=scan.at)
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9", **headers)
    assert client_address(request) == expected


# --- 2. Does this person manage this organisation ----------------------------------------------


def test_managing_an_organisation_is_decided_in_one_place() -> None:
    organisation, other = OrganisationFactory(), OrganisationFactory()
    manager = manager_of(organisation)
    admin = manager_of(organisation, role=Membership.Role.ADMIN)
    inactive = manager_of(organisation, is_active=False)
    superuser = UserFactory(is_superuser=True, is_staff=True)

    assert user_manages(manager, organisation.pk) and user_manages(admin, organisation.pk)
    assert not user_manages(manager, other.pk)  # tenant isolation
    assert not user_manages(UserFactory(), organisation.pk)
    assert not user_manages(inactive, organisation.pk)  # a closed account acts for no one
    assert not user_manages(AnonymousUser(), organisation.pk) and not user_manages(None, organisation.pk)
    # Superusers may act on any organisation's single objects (as every former copy let them)…
    assert user_manages(superuser, other.pk)


def test_administering_an_organisation_is_decided_in_one_place() -> None:
    organisation, other = OrganisationFactory(), OrganisationFactory()
    admin = manager_of(organisation, role=Membership.Role.ADMIN)

    assert user_administers(admin, organisation.pk)
    assert not user_administers(admin, other.pk)
    assert not user_administers(manager_of(organisation), organisation.pk)  # managers are not admins
    assert not user_administers(manager_of(organisation, role=Membership.Role.ADMIN, is_active=False), organisation.pk)
    assert not user_administers(AnonymousUser(), organisation.pk)
    assert user_administers(UserFactory(is_superuser=True, is_staff=True), other.pk)


def test_the_campaign_ledger_export_follows_the_same_rule(client: Client) -> None:
    from tests.factories import CampaignFactory

    campaign = CampaignFactory()
    client.force_login(manager_of(OrganisationFactory()))
    assert client.get(f"/gestion/campagnes/{campaign.slug}/ecritures.csv").status_code == 404
    client.force_login(manager_of(campaign.organisation))
    assert client.get(f"/gestion/campagnes/{campaign.slug}/ecritures.csv").status_code == 200
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    assert client.get(f"/gestion/campagnes/{campaign.slug}/ecritures.csv").status_code == 200


# --- 3. Euros typed on a page, cents in the API: one parsing, one set of limits ----------------

# (what a person types on the page, what a client sends to the API for the same amount, accepted?)
HOSTILE = [
    ("0", 0, False),
    ("-5", -500, False),
    ("1e9", 1e11, False),
    ("1e9", "1e9", False),
    ("12,345", "12,345", False),
    ("12.3.4", "12.3.4", False),
    ("NaN", "NaN", False),
    ("１２", "１２００", False),  # digits of another script: Python's int() and Decimal() take them
    ("12.345", 1234.5, False),  # three decimals
    ("12,50", 1250, True),
    ("12.5 €", "1250", True),
]


def _page_accepts(form_class: type, field: str, text: str) -> bool:
    form = form_class(data={field: text})
    form.is_valid()
    return field not in form.errors


def _api_accepts(serializer_class: type, field: str, value: object) -> bool:
    serializer = serializer_class(data={field: value})
    serializer.is_valid()
    return field not in serializer.errors


@pytest.mark.parametrize(("typed", "sent", "accepted"), HOSTILE)
def test_an_item_price_gets_the_same_verdict_on_the_page_and_in_the_api(
    typed: str, sent: object, accepted: bool
) -> None:
    assert _page_accepts(ItemForm, "price_cents", typed) is accepted
    assert _api_accepts(ItemEditSerializer, "price_cents", sent) is accepted


@pytest.mark.parametrize(("typed", "sent", "accepted"), HOSTILE)
def test_a_campaign_goal_gets_the_same_verdict_on_the_page_and_in_the_api(
    typed: str, sent: object, accepted: bool
) -> None:
    assert _page_accepts(CampaignForm, "goal_cents", typed) is accepted
    assert _api_accepts(CampaignWriteSerializer, "goal_cents", sent) is accepted


@pytest.mark.parametrize(
    ("form_class", "serializer_class", "field", "limits"),
    [
        (ItemForm, ItemEditSerializer, "price_cents", ITEM_PRICE),
        (CampaignForm, CampaignWriteSerializer, "goal_cents", CAMPAIGN_GOAL),
    ],
)
def test_the_page_and_the_api_share_their_limits(
    form_class: type, serializer_class: type, field: str, limits: Any
) -> None:
    for cents, accepted in [
        (limits.min_cents - 1, False),
        (limits.min_cents, True),
        (limits.max_cents, True),
        (limits.max_cents + 1, False),
    ]:
        typed = f"{cents // 100},{cents % 100:02d}"
        assert euros_to_cents(typed) == cents
        assert _page_accepts(form_class, field, typed) is accepted, (field, typed)
        assert _api_accepts(serializer_class, field, cents) is accepted, (field, cents)


def test_a_campaign_goal_above_100_000_euros_is_taken_by_the_page_as_by_the_api() -> None:
    # The page once reused the item price field, and refused goals the API accepted.
    assert _page_accepts(CampaignForm, "goal_cents", "150000")
    assert _api_accepts(CampaignWriteSerializer, "goal_cents", 15_000_000)


def test_amount_errors_stay_field_level_and_translated() -> None:
    form = CampaignForm(data={"goal_cents": "0"})
    form.is_valid()
    assert form.errors["goal_cents"] == ["Assurez-vous que cette valeur est supérieure ou égale à 1."]
    form = ItemForm(data={"price_cents": "12,345"})
    form.is_valid()
    assert form.errors["price_cents"][0] == "Assurez-vous qu’il n’y a pas plus de 2 chiffres après la virgule."
    form = ItemForm(data={"price_cents": "douze"})
    form.is_valid()
    assert form.errors["price_cents"][0] == "Saisissez un nombre."


# --- 4. PDFs: one entry point, one fetcher that reaches neither the network nor the disk ------


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP port on 127.0.0.1 that records every connection made to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    connections: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _address = server.accept()
            except OSError:
                continue
            connections.append(connection.recv(200))
            connection.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], connections
    stop.set()
    thread.join()
    server.close()


def _hostile_html(port: int) -> str:
    return (
        f'<link rel="stylesheet" href="http://127.0.0.1:{port}/x.css">'
        f'<img src="http://127.0.0.1:{port}/x.png"><img src="http://127.0.0.1:1/x">'
        '<img src="file:///etc/passwd"><img src="/static/../../../../etc/passwd">'
    )


@pytest.fixture
def refused(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs the renderer asked for and the fetcher refused."""
    seen: list[str] = []
    real = pdf.own_file_bytes

    def recording(url: str) -> tuple[bytes, str]:
        try:
            return real(url)
        except pdf.RefusedURL:
            seen.append(url)
            raise

    monkeypatch.setattr(pdf, "own_file_bytes", recording)
    return seen


def _inject(monkeypatch: pytest.MonkeyPatch, module: Any, port: int) -> None:
    real = module.render_to_string

    def with_hostile_urls(*args: Any, **kwargs: Any) -> str:
        return str(real(*args, **kwargs)).replace("</body>", _hostile_html(port) + "</body>")

    monkeypatch.setattr(module, "render_to_string", with_hostile_urls)


def _assert_nothing_fetched(port: int, connections: list[bytes], refused: list[str]) -> None:
    assert connections == []  # the network was never reached
    assert f"http://127.0.0.1:{port}/x.png" in refused and "http://127.0.0.1:1/x" in refused
    assert "file:///etc/passwd" in refused


def test_the_window_sheet_renders_without_fetching_foreign_urls(
    client: Client,
    monkeypatch: pytest.MonkeyPatch,
    listener: tuple[int, list[bytes]],
    refused: list[str],
) -> None:
    from qr import sheets

    port, connections = listener
    _inject(monkeypatch, sheets, port)
    window = WindowFactory()
    place_items(window, 1)

    response = client.get(f"/windows/{window.pk}/sheet.pdf")

    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    _assert_nothing_fetched(port, connections, refused)


def test_the_tax_receipt_renders_without_fetching_foreign_urls(
    monkeypatch: pytest.MonkeyPatch, listener: tuple[int, list[bytes]], refused: list[str]
) -> None:
    from receipts import document as receipt_document
    from tests.test_receipt_document import document

    port, connections = listener
    _inject(monkeypatch, receipt_document, port)

    data = receipt_document.render_receipt_pdf(document(issued_on=date(2026, 11, 4)))

    assert data.startswith(b"%PDF")
    _assert_nothing_fetched(port, connections, refused)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000/static/payments/x.css", ("static", "payments/x.css")),
        ("/media/items/a.webp", ("media", "items/a.webp")),
        ("http://127.0.0.1:8000/static/../../etc/passwd", None),
        ("http://127.0.0.1:8000/static/a/%2e%2e/%2e%2e/etc/passwd", None),
        ("http://evil.example/static/x.css", None),
        ("https://127.0.0.1:8000/static/x.css", None),
        ("file:///static/x.css", None),
        ("http://127.0.0.1:8000/admin/", None),
    ],
)
def test_only_our_own_static_and_media_files_are_ours(settings: Any, url: str, expected: object) -> None:
    settings.SITE_URL = "http://127.0.0.1:8000"
    assert pdf.own_file(url) == expected


# --- 5. Who is asking ----------------------------------------------------------------------------


def test_signed_in_is_the_person_or_none() -> None:
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    assert signed_in(request) is None
    user = UserFactory()
    request.user = user
    assert signed_in(request) == user
