"""Following a parcel on a phone, in a real Chromium on the live server: the buyer's order page
says "À expédier" with the relay point, then "Expédié" with the tracking number once the
organisation marks it shipped, then "Livré" once the carrier's tracking event arrives (through
delivery.events, as the carrier's call does), and offers the withdrawal, sent from the phone.
axe-core checks each state of the page (no serious or critical violation)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from checkout.services.parcels import parcels_mark_shipped
from donations.models import Fulfilment, Withdrawal
from tests.browser import axe
from tests.browser.conftest import PHONE, Site, off_the_loop
from tests.factories import ItemFactory, manager_of
from tests.parcels_support import fake_carrier, parcel_basket, track
from tests.receipts_support import ready_campaign, ready_organisation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class _Commits:
    """Outside a test transaction, what a commit schedules runs at the commit itself."""

    def __call__(self, execute: bool = True) -> Any:
        return transaction.atomic()


def a_paid_parcel() -> Fulfilment:
    organisation = ready_organisation(name="Emmaüs Pau", address_line1="5 rue du Moulin")
    item = ItemFactory(
        title="Lampe de bureau", price_cents=1250, weight_grams=900, campaign=ready_campaign(organisation)
    )
    order = parcel_basket([item], commits=_Commits())
    return order.fulfilments.get()


def test_the_buyer_follows_the_parcel_on_a_phone_until_delivery_then_withdraws(
    browser: Any, site: Site, artefacts: Path, monkeypatch: Any
) -> None:
    fake_carrier(monkeypatch)
    parcel = off_the_loop(a_paid_parcel)
    found: dict[str, list[dict[str, Any]]] = {}
    context = browser.new_context(locale="fr-FR", **PHONE)
    page = context.new_page()
    page_url = f"{site.url}/retrait/{parcel.claim_token}/"

    def state(label: str) -> str:
        page.goto(page_url)
        problems = axe.blocking(page)
        if problems:
            found[label] = problems
        page.screenshot(path=str(artefacts / f"parcel-{label}.png"), full_page=True)
        return str(page.locator(".parcel-status").inner_text())

    shown = state("1-to-ship")
    assert "À expédier" in shown and "Tabac de la Gare" in shown

    def shipped() -> None:
        parcels_mark_shipped(actor=manager_of(parcel.organisation), fulfilment_ids=[parcel.pk])

    off_the_loop(shipped)
    tracking = Fulfilment.objects.get(pk=parcel.pk).tracking_number
    shown = state("2-shipped")
    assert "Expédié" in shown and tracking in shown

    deliver: Callable[[], bool] = lambda: track(parcel, "delivered", commits=_Commits())  # noqa: E731
    assert off_the_loop(deliver)
    shown = state("3-delivered")
    assert "Livré" in shown

    page.get_by_role("link", name="Renvoyer des objets").click()
    page.wait_for_url("**/retractation/")
    page.get_by_label("Lampe de bureau").check()
    page.get_by_role("button", name="Envoyer ma rétractation").click()
    page.wait_for_url(page_url)
    assert "Rétractation enregistrée" in page.locator("main").inner_text()
    assert "Rétractation du" in page.locator(".parcel-status").inner_text()
    assert Withdrawal.objects.filter(fulfilment_id=parcel.pk).count() == 1
    context.close()

    assert not found, "serious or critical axe-core violations:\n" + axe.describe(found)
