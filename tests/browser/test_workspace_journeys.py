"""The two other users' journeys (issue 20), in a real Chromium on a phone, in French and in
English, with a screenshot of each step and axe-core on every page visited (no serious or
critical violation):

- a manager signs in, reaches the workspace from the header, approves an object in the review
  queue, sees a sale arrive live on the dashboard timed in Europe/Paris (the browser is in New
  York), hands the object over by typing the buyer's code as read aloud (spaces, lower case),
  and downloads the receipts export, which holds a receipt issued earlier;
- a donor signs up, confirms the address with the link of the email the server sent (over SMTP,
  tests/support/mailbox.py), posts an object with a photo, gives money on the demo payment page,
  and finds the tax receipt in their space.

One uvicorn server over Redis for the session (tests/browser/conftest.py), tasks run eagerly
after each commit in its process (TASKS_EAGER, as in the test environment); screenshots go to
build/screenshots/<database>/workspace-<journey>-<lang>-<n>-<step>.png."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import pytest

from campaigns.models import Membership
from tests.browser import axe
from tests.browser.conftest import PHONE, Site, off_the_loop
from tests.browser.test_live_updates import redis_layer
from tests.factories import PASSWORD, ItemFactory, add_photo, image_bytes, manager_of
from tests.support.mailbox import text_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["redis_layer"]  # the fixture: this process publishes through Redis, as a web process does

SETTLE_MS = 20_000
PARIS = ZoneInfo("Europe/Paris")

WORDS = {
    "fr-FR": {
        "sign_in": "Se connecter",
        "workspace": "Gestion",
        "review": "File de relecture",
        "to_review": "1 objet à relire",
        "approve": "Mettre en vente",
        "review_h1": "Objets à relire",
        "dashboard": "Tableau de bord",
        "feed_sale": "vente : Lampe de bureau",
        "pickups": "Retraits",
        "hand_over": "Remettre les objets",
        "handed_over": "Remise enregistrée : « Lampe de bureau » remis à",
        "receipts": "Reçus fiscaux",
        "export": "Exporter en CSV",
        "sign_up": "Créer un compte",
        "welcome": "Bienvenue ! Votre compte est créé.",
        "confirm": "Confirmer mon adresse",
        "confirmed": "Merci : votre adresse e-mail est confirmée.",
        "my_account": "Mon compte",
        "post": "Proposer un objet",
        "send": "Envoyer en relecture",
        "posted": "Merci ! Votre objet est envoyé en relecture.",
        "receipt_box": "Je souhaite un reçu fiscal",
        "give": "Donner",
        "thanks": "Merci !",
        "receipt_link": "Reçu n° {number} (PDF)",
    },
    "en-GB": {
        "sign_in": "Sign in",
        "workspace": "Management",
        "review": "Review queue",
        "to_review": "1 item to review",
        "approve": "Put up for sale",
        "review_h1": "Items to review",
        "dashboard": "Dashboard",
        "feed_sale": "sale: Lampe de bureau",
        "pickups": "Collections",
        "hand_over": "Hand over the items",
        "handed_over": "Hand-over recorded: “Lampe de bureau” handed over to",
        "receipts": "Tax receipts",
        "export": "Export as CSV",
        "sign_up": "Create an account",
        "welcome": "Welcome! Your account is created.",
        "confirm": "Confirm my address",
        "confirmed": "Thank you: your email address is confirmed.",
        "my_account": "My account",
        "post": "Offer an item",
        "send": "Send for review",
        "posted": "Thank you! Your item has been sent for review.",
        "receipt_box": "I would like a tax receipt",
        "give": "Donate",
        "thanks": "Thank you!",
        "receipt_link": "Receipt no. {number} (PDF)",
    },
}


class Journey:
    """Screenshots numbered in order, axe-core on each page, the page's language checked."""

    def __init__(self, page: Any, artefacts: Path, name: str, locale: str) -> None:
        self.page, self.artefacts, self.name, self.lang = page, artefacts, name, locale[:2]
        self.step = 0
        self.found: dict[str, list[dict[str, Any]]] = {}

    def check(self, label: str) -> None:
        """Screenshot and axe-core on the page as it is now."""
        self.step += 1
        page = self.page
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == self.lang, f"{label} is not in {self.lang}"
        page.screenshot(
            path=str(self.artefacts / f"workspace-{self.name}-{self.lang}-{self.step}-{label}.png"), full_page=True
        )
        problems = axe.blocking(page)
        if problems:
            self.found[f"{self.name} {self.lang} {self.step}-{label} ({page.url})"] = problems

    def messages(self) -> str:
        return str(self.page.locator(".messages").inner_text())

    def done(self) -> None:
        assert not self.found, "serious or critical axe-core violations:\n" + axe.describe(self.found)


def manager_world() -> dict[str, Any]:
    from receipts.models import TaxReceipt
    from tests.receipts_support import giver, paid_gift, ready_campaign

    campaign = ready_campaign()
    campaign.title = "Atelier vélo solidaire"
    campaign.save(update_fields=["title"])
    # The organisation's admin: every tool, the receipts export included (campaigns/permissions.py).
    manager = manager_of(campaign.organisation, role=Membership.Role.ADMIN, first_name="Lou")
    waiting = ItemFactory(campaign=campaign, title="Chaise en rotin", price_cents=1800, status="in_review")
    add_photo(waiting, size=(320, 240))
    listed = ItemFactory(campaign=campaign, title="Lampe de bureau", price_cents=1250)
    # A gift paid earlier: its receipt is issued by the task run on the payment's commit.
    gift = paid_gift(campaign, 5000, user=giver(email=f"donatrice-{campaign.slug}@example.org"))
    receipt = TaxReceipt.objects.get(lines__gift=gift)
    return {"campaign": campaign, "manager": manager, "waiting": waiting, "listed": listed, "receipt": receipt}


def sell(item_id: int) -> Any:
    """A buyer's purchase, paid on the gateway: processed outside Playwright's thread, as a web process would."""
    from checkout.services import order_start
    from donations.models import Fulfilment
    from tests.receipts_support import pay

    order = order_start(item_ids=[item_id], email="passant@example.org")
    pay(order)
    return Fulfilment.objects.select_related("order").get(order=order)


def read_aloud(code: str) -> str:
    """A claim code as a manager types it hearing it: lower case, in groups of three, spaces around."""
    groups = [code[i : i + 3] for i in range(0, len(code), 3)]
    return "  " + " ".join(groups).lower() + " "


@pytest.mark.parametrize("locale", ["fr-FR", "en-GB"])
def test_a_manager_approves_sees_a_sale_live_hands_it_over_and_exports_the_receipts(
    browser: Any, site: Site, artefacts: Path, redis_layer: None, settings: Any, locale: str
) -> None:
    from django.conf import global_settings

    from donations.models import Item
    from realtime.models import RealtimeEvent

    words = WORDS[locale]
    # The manager signs in with the form: the password is hashed as the server checks it, not with
    # the tests' fast hasher (tests/conftest.py), which the server does not know.
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    data = off_the_loop(manager_world)
    # Far from Paris: the dashboard must time its rows in Europe/Paris, not by the browser's clock.
    context = browser.new_context(locale=locale, timezone_id="America/New_York", accept_downloads=True, **PHONE)
    page = context.new_page()
    journey = Journey(page, artefacts, "manager", locale)

    # Sign in, with the form.
    page.goto(f"{site.url}/comptes/connexion/")
    journey.check("sign-in")
    page.locator("#id_username").fill(data["manager"].email.upper())
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{site.url}/")

    # The workspace, from the header.
    page.locator("header nav.account").get_by_role("link", name=words["workspace"], exact=True).click()
    page.wait_for_url("**/gestion/")
    assert page.get_by_role("heading", level=1).inner_text() == words["workspace"]
    assert words["to_review"] in page.locator(".tool-group", has_text=words["review"]).inner_text()
    journey.check("workspace")

    # The review queue: the object is put up for sale.
    page.get_by_role("link", name=words["review"]).click()
    page.wait_for_url("**/gestion/relecture/")
    assert page.get_by_role("heading", level=1).inner_text() == words["review_h1"]
    journey.check("review-queue")
    page.locator(f"#item-{data['waiting'].pk}").get_by_role("button", name=words["approve"]).click()
    page.wait_for_url("**/gestion/relecture/")
    assert page.locator(f"#item-{data['waiting'].pk}").count() == 0
    assert off_the_loop(lambda: Item.objects.get(pk=data["waiting"].pk).status) == "listed"
    journey.check("approved")

    # The dashboard: a sale arrives live, timed in Paris.
    page.locator("nav.manage-nav").get_by_role("link", name=words["dashboard"]).click()
    page.wait_for_url("**/gestion/tableau-de-bord/")
    page.wait_for_selector("[data-live-status][data-state=live]", timeout=SETTLE_MS)
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "America/New_York"
    journey.check("dashboard")
    part = off_the_loop(lambda: sell(data["listed"].pk))
    fresh = page.locator("[data-feed] li.fresh")
    fresh.wait_for(timeout=SETTLE_MS)
    sold = off_the_loop(lambda: RealtimeEvent.objects.get(type="item.sold", public__item=data["listed"].pk))
    assert fresh.locator("time").inner_text() == sold.at.astimezone(PARIS).strftime("%H:%M")
    assert words["feed_sale"] in fresh.inner_text()
    journey.check("sale-live")

    # The pick-ups: the buyer reads the code out; typed in lower case with spaces, it is forgiven.
    page.locator("nav.manage-nav").get_by_role("link", name=words["pickups"]).click()
    page.wait_for_url("**/gestion/retraits/")
    assert page.locator(f'[data-fulfilment="{part.pk}"]').count() == 1
    journey.check("pickups")
    page.locator("#id_code").fill(read_aloud(part.claim_code))
    page.get_by_role("button", name=words["hand_over"]).click()
    page.wait_for_url("**/gestion/retraits/")
    assert words["handed_over"] in journey.messages()
    assert page.locator(f'[data-fulfilment="{part.pk}"]').count() == 0
    assert off_the_loop(lambda: type(part).objects.get(pk=part.pk).handed_over_at) is not None
    journey.check("handed-over")

    # The receipts, from the workspace; the export holds the receipt issued earlier.
    page.locator("nav.manage-nav a").first.click()
    page.wait_for_url("**/gestion/")
    page.locator("#tools-receipts + ul").get_by_role("link", name=words["receipts"], exact=True).click()
    page.wait_for_url("**/gestion/recus/")
    receipt = data["receipt"]
    assert page.get_by_role("link", name=receipt.number).count() == 1
    journey.check("receipts")
    with page.expect_download() as download:
        page.get_by_role("button", name=words["export"]).click()
    assert download.value.suggested_filename == "recus-fiscaux.csv"
    csv = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    header, *rows = csv.splitlines()
    assert header.startswith("numéro;organisation;année;statut")
    (row,) = [r for r in rows if r.startswith(f"{receipt.number};")]
    assert f"{receipt.number};{data['campaign'].organisation.slug};" in row and ";50,00;" in row

    context.close()
    journey.done()


def donor_world() -> dict[str, Any]:
    from tests.receipts_support import ready_campaign

    campaign = ready_campaign()
    campaign.title = "Un toit pour l'hiver"
    campaign.save(update_fields=["title"])
    return {"campaign": campaign}


@pytest.mark.parametrize("locale", ["fr-FR", "en-GB"])
def test_a_donor_signs_up_verifies_posts_an_object_gives_and_finds_the_receipt(
    browser: Any, site: Site, artefacts: Path, locale: str
) -> None:
    from accounts.models import User
    from donations.models import Gift, Item
    from receipts.models import TaxReceipt

    words = WORDS[locale]
    lang = locale[:2]
    campaign = off_the_loop(donor_world)["campaign"]
    email = f"zoe.{lang}.{campaign.slug}@example.org"
    context = browser.new_context(locale=locale, **PHONE)
    page = context.new_page()
    journey = Journey(page, artefacts, "donor", locale)

    # Sign up, from the header.
    page.goto(f"{site.url}/")
    page.locator("header nav.account").get_by_role("link", name=words["sign_up"]).click()
    page.wait_for_url("**/comptes/inscription/")
    journey.check("sign-up")
    page.locator("#id_email").fill(email)
    page.locator("#id_first_name").fill("Zoé")
    page.locator("#id_last_name").fill("Lemaire")
    page.locator("#id_password").fill("un vélo bleu sous la pluie")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/comptes/profil/")
    assert words["welcome"] in journey.messages()
    journey.check("signed-up")

    # The email the server sent, over SMTP; its link confirms the address.
    message = site.mail.wait_for(email)
    links = re.findall(rf"{re.escape(site.url)}/comptes/verifier/[^/\s]+/", text_of(message))
    assert len(links) == 1, text_of(message)
    page.goto(links[0])
    journey.check("verify")
    page.get_by_role("button", name=words["confirm"]).click()
    page.wait_for_url("**/comptes/profil/")
    assert words["confirmed"] in journey.messages()
    assert off_the_loop(lambda: User.objects.get(email=email).email_verified)

    # Post an object with a photo, from the donor's space.
    page.locator("header nav.account").get_by_role("link", name=words["my_account"]).click()
    page.wait_for_url("**/mon-compte/")
    journey.check("my-account")
    page.get_by_role("link", name=words["post"]).click()
    page.wait_for_url("**/mes-objets/nouveau/")
    journey.check("post-an-object")
    page.locator("#id_campaign").select_option(campaign.slug)
    page.locator("#id_title").fill("Théière en fonte")
    page.locator("#id_description").fill("Une théière japonaise, 1 litre, sans éclat.")
    page.locator("#id_condition").select_option("very_good")
    page.locator("#id_category").select_option("tableware")
    page.locator("#id_price_cents").fill("24.50")  # a number field: its value has a point whatever the language
    photo = {"name": "theiere.jpg", "mimeType": "image/jpeg", "buffer": image_bytes((640, 480), "JPEG")}
    page.locator("#id_photos").set_input_files(photo)
    page.get_by_role("button", name=words["send"]).click()
    page.wait_for_url("**/mes-objets/")
    assert words["posted"] in journey.messages()
    item = off_the_loop(lambda: Item.objects.select_related("owner").get(title="Théière en fonte", owner__email=email))
    assert (item.status, item.price_cents) == ("in_review", 2450)
    assert off_the_loop(lambda: item.photos.count()) == 1
    journey.check("object-posted")

    # Give 20 € with a tax receipt, paid with the demo card.
    page.goto(f"{site.url}{campaign.get_absolute_url()}")
    assert page.locator("#give-email").input_value() == email  # signed in: the address is there
    journey.check("campaign")
    page.locator("label.amount-choice", has_text="20").click()
    page.get_by_label(words["receipt_box"]).check()
    page.locator("#give-receipt_first_name").fill("Zoé")
    page.locator("#give-receipt_last_name").fill("Lemaire")
    page.locator("#give-receipt_address_line1").fill("12 rue des Tanneurs")
    page.locator("#give-receipt_postal_code").fill("64000")
    page.locator("#give-receipt_city").fill("Pau")
    page.locator("form.give").get_by_role("button", name=words["give"], exact=True).click()
    page.wait_for_url("**/payments/demo/**")
    journey.check("demo-payment")
    page.locator("#card_number").fill("4242 4242 4242 4242")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/paiement/merci/**")
    assert page.get_by_role("heading", level=1).inner_text() == words["thanks"]
    journey.check("thanks")

    # The receipt, issued by the task run on the payment's commit, is in the donor's space.
    gift = off_the_loop(lambda: Gift.objects.get(email=email))
    assert (gift.status, gift.amount_cents, gift.user_id) == ("paid", 2000, item.owner_id)
    receipt = off_the_loop(lambda: TaxReceipt.objects.get(lines__gift=gift))
    page.locator("header nav.account").get_by_role("link", name=words["my_account"]).click()
    page.wait_for_url("**/mon-compte/")
    link = (
        page.locator("#recus")
        .locator("xpath=..")
        .get_by_role("link", name=words["receipt_link"].format(number=receipt.number))
    )
    assert link.count() == 1
    pdf = context.request.get(urljoin(page.url, str(link.get_attribute("href"))))
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    journey.check("receipt-in-my-account")

    context.close()
    journey.done()
