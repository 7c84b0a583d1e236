"""A window's name, place, address and dates are edited on its management page
(``/gestion/vitrines/<id>/``, action ``edit``): the dates in ``datetime-local`` inputs a browser
keeps, so saving untouched keeps them; errors beside their fields in the person's language;
another organisation's window answers 404."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from kernel.errors import DomainError
from qr.models import Window
from qr.services import window_update
from tests.factories import UserFactory, WindowFactory, manager_of

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
ISO_LOCAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?")


@pytest.fixture
def window() -> Window:
    return WindowFactory(name="Vitrine de Noël", place="Boutique", address="4 rue Carnot, 64000 Pau")


@pytest.fixture
def manager(client: Client, window: Window) -> Client:
    client.force_login(manager_of(window.organisation))
    return client


def url(window: Window) -> str:
    return f"/gestion/vitrines/{window.pk}/"


def date_inputs(page: str) -> dict[str, str]:
    """The dates of the page's inputs as a browser posts them: a value it rejects (not ISO 8601, as
    ``<input type="datetime-local">`` requires, e.g. "30/11/2026 14:05") is dropped and posts empty."""
    found = re.findall(r'<input type="datetime-local" name="(\w+)" value="([^"]*)"', page)
    return {name: value if ISO_LOCAL.fullmatch(value) else "" for name, value in found}


def edit(client: Client, window: Window, **fields: str) -> Any:
    data = {"name": window.name, "place": window.place, "address": window.address, **fields}
    return client.post(url(window), {"action": "edit", **data})


def stored(window: Window) -> tuple[str, str, str, datetime, datetime | None]:
    saved = Window.objects.get(pk=window.pk)
    return saved.name, saved.place, saved.address, saved.starts_at, saved.ends_at


@pytest.mark.parametrize("language", ["fr", "en"])
def test_saving_the_edit_form_as_a_browser_would_keeps_both_dates(
    manager: Client, window: Window, language: str
) -> None:
    manager.cookies["django_language"] = language
    page = manager.get(url(window)).content.decode()
    dates = date_inputs(page)
    assert set(dates) == {"starts_at", "ends_at"} and all(dates.values()), dates

    response = edit(manager, window, **dates, name="Vitrine d'hiver")

    assert response.status_code == 302 and response["Location"] == url(window)
    assert stored(window) == ("Vitrine d'hiver", window.place, window.address, window.starts_at, window.ends_at)


def test_a_manager_changes_the_name_place_address_and_dates(manager: Client, window: Window) -> None:
    response = edit(
        manager,
        window,
        name="Vitrine de printemps",
        place="Salle des fêtes",
        address="1 place Royale, 64000 Pau",
        starts_at="2030-03-01T09:30",
        ends_at="2030-03-31T18:00",
    )

    assert response.status_code == 302
    assert stored(window) == (
        "Vitrine de printemps",
        "Salle des fêtes",
        "1 place Royale, 64000 Pau",
        datetime(2030, 3, 1, 9, 30, tzinfo=PARIS),
        datetime(2030, 3, 31, 18, 0, tzinfo=PARIS),
    )
    page = manager.get(url(window)).content.decode()
    assert "Vitrine enregistrée." in page and "1 place Royale" in page
    assert 'name="starts_at" value="2030-03-01T09:30"' in page and 'name="ends_at" value="2030-03-31T18:00"' in page


def test_an_end_left_empty_makes_a_window_without_end(manager: Client, window: Window) -> None:
    dates = date_inputs(manager.get(url(window)).content.decode())
    assert edit(manager, window, starts_at=dates["starts_at"], ends_at="").status_code == 302
    assert stored(window)[3:] == (window.starts_at, None)
    assert "sans date de fin" in manager.get(url(window)).content.decode()


@pytest.mark.parametrize(
    ("language", "message"), [("fr", "La fin doit venir après le début."), ("en", "The end must come after the start.")]
)
def test_an_end_before_the_start_is_refused_beside_the_end(
    manager: Client, window: Window, language: str, message: str
) -> None:
    manager.cookies["django_language"] = language
    before = stored(window)

    response = edit(manager, window, name="Autre nom", starts_at="2030-03-10T10:00", ends_at="2030-03-01T10:00")

    assert response.status_code == 400
    assert response.context["edit_form"].errors == {"ends_at": [message]}
    page = response.content.decode()
    assert re.search(r'id="window-ends_at_error".*' + re.escape(message), page, re.S)
    assert 'value="Autre nom"' in page  # what was typed stays on the page
    assert stored(window) == before


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"place": ""}, "place"),
        ({"address": "x" * 301}, "address"),
        ({"starts_at": ""}, "starts_at"),
        ({"starts_at": "demain"}, "starts_at"),
        ({"starts_at": "2030-13-45T25:61"}, "starts_at"),
        ({"ends_at": "<script>alert(1)</script>"}, "ends_at"),
        ({"ends_at": "9" * 5000}, "ends_at"),
    ],
)
def test_wrong_or_hostile_values_are_refused_beside_their_field(
    manager: Client, window: Window, fields: dict[str, str], field: str
) -> None:
    dates = date_inputs(manager.get(url(window)).content.decode())
    before = stored(window)

    response = edit(manager, window, **{**dates, **fields})

    assert response.status_code == 400
    assert list(response.context["edit_form"].errors) == [field]
    assert stored(window) == before


def test_the_organisation_of_a_window_cannot_be_changed_by_the_form(manager: Client, window: Window) -> None:
    other = WindowFactory().organisation
    dates = date_inputs(manager.get(url(window)).content.decode())
    response = manager.post(
        url(window), {"action": "edit", "name": "N", "place": "P", "organisation": other.pk, **dates}
    )
    assert response.status_code == 302
    assert Window.objects.get(pk=window.pk).organisation_id == window.organisation_id


def test_another_organisations_window_is_a_404_and_stays_as_it_was(client: Client, window: Window) -> None:
    other = WindowFactory(name="Vitrine d'ailleurs")
    before = stored(other)
    client.force_login(manager_of(window.organisation))

    assert client.get(url(other)).status_code == 404
    assert edit(client, other, name="Pris", starts_at="2030-01-01T10:00").status_code == 404
    assert stored(other) == before


def test_a_person_who_manages_nothing_gets_a_404_and_anonymous_visitors_sign_in(client: Client, window: Window) -> None:
    before = stored(window)
    assert edit(client, window, name="Pris")["Location"].startswith("/comptes/connexion/")
    client.force_login(UserFactory())
    assert edit(client, window, name="Pris", starts_at="2030-01-01T10:00").status_code == 404
    assert stored(window) == before


def test_window_update_refuses_other_fields_and_an_end_before_the_start(window: Window) -> None:
    with pytest.raises(DomainError):
        window_update(window=window, changes={"organisation": WindowFactory().organisation})
    with pytest.raises(DomainError):
        window_update(window=window, changes={"ends_at": window.starts_at - timedelta(hours=1)})
    assert Window.objects.get(pk=window.pk).ends_at == window.ends_at
    assert timezone.is_aware(window.starts_at)


def test_a_date_with_seconds_lets_a_whole_minute_be_typed_over_it(manager: Client, window: Window) -> None:
    """A ``datetime-local`` input counts its steps (60 s by default) from its value: without
    ``step="1"``, a minute typed over "…:07" is a step mismatch and the browser will not send the form."""
    window.starts_at = window.starts_at.replace(second=7)
    window.ends_at = None
    window.save()
    page = manager.get(url(window)).content.decode()
    starts = re.search(r'<input type="datetime-local" name="starts_at" value="([^"]*)"([^>]*)>', page)
    ends = re.search(r'<input type="datetime-local" name="ends_at"([^>]*)>', page)
    assert starts and starts[1].endswith(":07") and 'step="1"' in starts[2]
    assert ends and "step" not in ends[1]  # empty: whole minutes, the browser's default
