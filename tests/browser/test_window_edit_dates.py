"""A manager on a phone edits a window whose stored dates have seconds (made by the API or the
admin): saving the name only keeps both dates, and a new end typed to the minute is taken (the
browser refuses to send a minute typed over "…:07" unless the input steps by the second)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from qr.models import Window
from tests.browser.conftest import PHONE, Site, off_the_loop, sign_in
from tests.factories import WindowFactory, manager_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def seeded() -> tuple[Window, Any]:
    now = timezone.now().replace(second=7, microsecond=0)
    window = WindowFactory(name="Vitrine de Noël", starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=9))
    return window, manager_of(window.organisation)


def test_a_manager_renames_the_window_then_moves_its_end(browser: Any, site: Site) -> None:
    window, manager = off_the_loop(seeded)
    context = browser.new_context(locale="fr-FR", **PHONE)
    sign_in(context, manager, site.url)
    page = context.new_page()
    page.goto(f"{site.url}/gestion/vitrines/{window.pk}/")

    page.get_by_label("Nom de la vitrine").fill("Vitrine d'hiver")
    page.get_by_role("button", name="Enregistrer").click()
    assert page.get_by_text("Vitrine enregistrée.").is_visible()
    saved = off_the_loop(lambda: Window.objects.get(pk=window.pk))
    assert (saved.name, saved.starts_at, saved.ends_at) == ("Vitrine d'hiver", window.starts_at, window.ends_at)

    page.get_by_label("Fin").fill("2030-01-31T18:30")
    page.get_by_role("button", name="Enregistrer").click()
    assert page.get_by_text("Vitrine enregistrée.").is_visible()
    saved = off_the_loop(lambda: Window.objects.get(pk=window.pk))
    assert saved.ends_at == datetime(2030, 1, 31, 18, 30, tzinfo=ZoneInfo("Europe/Paris"))
    assert saved.starts_at == window.starts_at
    context.close()
