"""News to backers: a manager posts an update (photo through the photo pipeline,
audit trail), it shows on the campaign page and is emailed once to the backers who
agreed to hear from the campaign, who unsubscribe in one click without an account."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.test import Client
from PIL import Image
from rest_framework.test import APIClient

from accounts.selectors import user_data_export
from accounts.services import user_delete
from campaigns.models import AuditEntry, Campaign, Membership
from checkout.services import gift_start
from donations.models import Gift, PaymentStatus
from news import services
from news.models import Delivery, Subscription, Update
from payments.events import event_receive
from tests.factories import (
    SVG_WITH_SCRIPT,
    CampaignFactory,
    ItemFactory,
    OrganisationFactory,
    UserFactory,
    decompression_bomb,
    image_bytes,
    manager_of,
    photo_with_gps,
    upload,
)
from tests.receipts_support import paid_basket, pay, refund_event

pytestmark = pytest.mark.django_db


def consenting_gift(campaign: Campaign, email: str, *, news: bool = True, amount_cents: int = 3000) -> Gift:
    """A gift through the API (``news`` as the giver chose), paid through the demo gateway's events."""
    body: dict[str, Any] = {"amount_cents": amount_cents, "email": email}
    if news is not None:
        body["news"] = news
    response = APIClient().post(f"/api/campaigns/{campaign.slug}/gifts/", body, format="json")
    assert response.status_code == 201, response.content
    gift = Gift.objects.get(pk=response.json()["gift_id"])
    pay(gift)
    gift.refresh_from_db()
    assert gift.status == PaymentStatus.PAID
    return gift


def manager_client(campaign: Campaign, role: str = Membership.Role.MANAGER) -> Client:
    client = Client()
    client.force_login(manager_of(campaign.organisation, role=role))
    return client


def post_update(client: Client, campaign: Campaign, capture: Any, **fields: Any) -> Any:
    data = {"title": "Le chantier avance", "text": "Premier paragraphe.\n\nSecond paragraphe.", **fields}
    with capture(execute=True):
        return client.post(f"/gestion/campagnes/{campaign.slug}/nouvelles/", data)


def news_mails() -> list[Any]:
    return [m for m in mail.outbox if m.subject.startswith(("Des nouvelles", "News from"))]


def recipients() -> list[str]:
    return sorted(address for message in news_mails() for address in message.to)


def unsubscribe_path(message: Any) -> str:
    found = re.search(r"https?://[^/\s]+(/nouvelles/desabonnement/[^\s]+/)", message.body)
    assert found, message.body
    return found.group(1)


# --- Consent: unticked by default, optional in the API ------------------------------------------


def test_the_gift_form_offers_news_unticked_and_the_api_defaults_to_no(client: Client) -> None:
    campaign = CampaignFactory()
    html = client.get(campaign.get_absolute_url()).content.decode()
    box = re.search(r'<input type="checkbox" name="news"[^>]*>', html)
    assert box is not None and "checked" not in box.group(0)
    gift = consenting_gift(campaign, "sans@example.org", news=None)
    assert gift.news is False
    assert not Subscription.objects.exists()


def test_the_gift_form_records_the_consent_and_the_payment_subscribes(client: Client) -> None:
    campaign = CampaignFactory()
    data = {"suggested": "20", "email": "Form@Example.org", "news": "on"}
    response = client.post(f"/campagnes/{campaign.slug}/donner/", data)
    assert response.status_code == 303, response.content
    gift = Gift.objects.get()
    assert gift.news is True
    assert not Subscription.objects.exists()  # not before the payment is confirmed
    pay(gift)
    subscription = Subscription.objects.get()
    assert (subscription.campaign, subscription.email) == (campaign, "form@example.org")


def test_news_in_the_api_must_be_a_boolean() -> None:
    campaign = CampaignFactory()
    response = APIClient().post(
        f"/api/campaigns/{campaign.slug}/gifts/",
        {"amount_cents": 2000, "email": "a@example.org", "news": "perhaps"},
        format="json",
    )
    assert response.status_code == 400
    assert "news" in response.json()["fields"]
    assert not Gift.objects.exists()


# --- Who receives an update, once ----------------------------------------------------------------


def test_an_update_reaches_consenting_backers_only_once_each(django_capture_on_commit_callbacks: Any) -> None:
    campaign = CampaignFactory()
    other = CampaignFactory(organisation=campaign.organisation)
    consenting_gift(campaign, "twice@example.org")
    consenting_gift(campaign, "TWICE@example.org", news=False)  # gave again, same person
    consenting_gift(campaign, "silent@example.org", news=False)  # never agreed
    refunded = consenting_gift(campaign, "refunded@example.org")
    event_receive(event=refund_event(refunded, refunded.amount_cents))  # refunded in full
    partly = consenting_gift(campaign, "partly@example.org", amount_cents=5000)
    event_receive(event=refund_event(partly, 1000))  # still a backer
    gift_start(campaign_slug=campaign.slug, amount_cents=2000, email="unpaid@example.org", news=True)
    consenting_gift(other, "elsewhere@example.org")  # another campaign's backer
    left = consenting_gift(campaign, "left@example.org")
    services.subscription_unsubscribe(subscription=Subscription.objects.get(email=left.email, campaign=campaign))
    assert Gift.objects.get(pk=refunded.pk).status == PaymentStatus.REFUNDED
    mail.outbox.clear()

    response = post_update(manager_client(campaign), campaign, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert recipients() == ["partly@example.org", "twice@example.org"]
    message = news_mails()[0]
    assert campaign.title in message.subject and "Le chantier avance" in message.subject
    assert "Premier paragraphe." in message.body and "Second paragraphe." in message.body
    link = message.extra_headers["List-Unsubscribe"]
    assert link == f"<http://testserver{unsubscribe_path(message)}>" or link.endswith(f"{unsubscribe_path(message)}>")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # The tasks run again (a retry, a worker's redelivery): nothing is sent twice.
    update = Update.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.update_dispatch(update_id=update.pk)
        ids = list(Subscription.objects.values_list("pk", flat=True))
        services.update_batch_send(update_id=update.pk, subscription_ids=ids)
    assert recipients() == ["partly@example.org", "twice@example.org"]
    assert Delivery.objects.filter(sent_at__isnull=False).count() == 2


def test_a_buyer_who_consented_as_a_giver_stays_a_backer_after_the_gift_is_refunded(
    django_capture_on_commit_callbacks: Any,
) -> None:
    campaign = CampaignFactory()
    gift = consenting_gift(campaign, "buyer@example.org")
    event_receive(event=refund_event(gift, gift.amount_cents))
    paid_basket([ItemFactory(campaign=campaign)])  # buyer@example.org, as the helper buys
    mail.outbox.clear()
    post_update(manager_client(campaign), campaign, django_capture_on_commit_callbacks)
    assert recipients() == ["buyer@example.org"]


def test_each_batch_is_a_task_and_a_failed_send_is_retried_without_duplicates(
    django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign = CampaignFactory()
    for n in range(5):
        consenting_gift(campaign, f"backer{n}@example.org")
    mail.outbox.clear()
    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    batches: list[list[int]] = []
    enqueue = services.task_enqueue

    def counted(function: Any, /, **kwargs: Any) -> Any:
        if function is services.update_batch_send:
            batches.append(kwargs["subscription_ids"])
        return enqueue(function, **kwargs)

    monkeypatch.setattr(services, "task_enqueue", counted)
    sent = mail.EmailMessage.send
    failures = {"left": 1}

    def flaky(message: Any, *args: Any, **kwargs: Any) -> Any:
        if message.to == ["backer3@example.org"] and failures["left"]:
            failures["left"] -= 1
            raise OSError("mail server down")
        return sent(message, *args, **kwargs)

    monkeypatch.setattr(mail.EmailMessage, "send", flaky)
    post_update(manager_client(campaign), campaign, django_capture_on_commit_callbacks)
    assert [len(batch) for batch in batches] == [2, 2, 1]
    assert len(recipients()) == 4  # backer3's batch failed at backer3: the task fails, to be retried
    assert not Delivery.objects.filter(subscription__email="backer3@example.org", claimed_until__isnull=False).exists()

    update = Update.objects.get()
    for batch in batches:  # the retry, of every batch: only what was not sent goes
        services.update_batch_send(update_id=update.pk, subscription_ids=batch)
    assert recipients() == [f"backer{n}@example.org" for n in range(5)]


# --- Unsubscribing without an account ----------------------------------------------------------


def test_unsubscribing_works_without_an_account_and_stops_the_next_update(
    django_capture_on_commit_callbacks: Any,
) -> None:
    campaign = CampaignFactory()
    consenting_gift(campaign, "stay@example.org")
    consenting_gift(campaign, "go@example.org")
    manager = manager_client(campaign)
    mail.outbox.clear()
    post_update(manager, campaign, django_capture_on_commit_callbacks)
    message = next(m for m in news_mails() if m.to == ["go@example.org"])
    path = unsubscribe_path(message)

    stranger = Client(enforce_csrf_checks=True)  # no session, no CSRF token: the signed link is enough
    page = stranger.get(path)
    assert page.status_code == 200 and "go@example.org" in page.content.decode()
    assert Subscription.objects.get(email="go@example.org").unsubscribed_at is None  # a GET never unsubscribes
    assert stranger.post(path).status_code == 200
    assert Subscription.objects.get(email="go@example.org").unsubscribed_at is not None
    assert "ne recevrez plus" in stranger.post(path).content.decode()  # twice: still fine

    mail.outbox.clear()
    post_update(manager, campaign, django_capture_on_commit_callbacks, title="Deuxième nouvelle")
    assert recipients() == ["stay@example.org"]


def test_the_mail_clients_one_click_post_unsubscribes() -> None:
    campaign = CampaignFactory()
    consenting_gift(campaign, "oneclick@example.org")
    subscription = Subscription.objects.get()
    path = services.unsubscribe_link(subscription).removeprefix("http://testserver")
    path = path[path.index("/nouvelles/") :]
    response = Client(enforce_csrf_checks=True).post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    subscription.refresh_from_db()
    assert subscription.unsubscribed_at is not None


@pytest.mark.parametrize("token", ["nope", "a" * 300, "ImFiYyI:1tA:forged", "%00"])
def test_an_altered_unsubscribe_link_is_a_404_and_changes_nothing(client: Client, token: str) -> None:
    campaign = CampaignFactory()
    consenting_gift(campaign, "kept@example.org")
    subscription = Subscription.objects.get()
    forged = services.signing.dumps(subscription.token + "x", salt=services.UNSUBSCRIBE_SALT)
    for bad in (token, forged, subscription.token):  # the raw token alone is not a link
        assert client.post(f"/nouvelles/desabonnement/{bad}/").status_code == 404
    subscription.refresh_from_db()
    assert subscription.unsubscribed_at is None


def test_giving_again_with_the_box_ticked_subscribes_anew() -> None:
    campaign = CampaignFactory()
    consenting_gift(campaign, "back@example.org")
    services.subscription_unsubscribe(subscription=Subscription.objects.get())
    consenting_gift(campaign, "back@example.org", news=False)
    assert Subscription.objects.get().unsubscribed_at is not None  # no tick: no new consent
    consenting_gift(campaign, "Back@Example.org")
    assert Subscription.objects.get().unsubscribed_at is None


# --- The managers' page: permissions, audit, photos ----------------------------------------------


def test_posting_is_audited_and_shown_to_the_manager(django_capture_on_commit_callbacks: Any) -> None:
    campaign = CampaignFactory()
    client = manager_client(campaign)
    assert post_update(client, campaign, django_capture_on_commit_callbacks).status_code == 302
    update = Update.objects.get()
    entry = AuditEntry.objects.get(action=AuditEntry.Action.NEWS_POSTED)
    assert entry.organisation == campaign.organisation and entry.details["update"] == update.pk
    assert "Le chantier avance" in client.get(f"/gestion/campagnes/{campaign.slug}/nouvelles/").content.decode()


def test_another_organisations_manager_gets_404_and_a_volunteer_403(django_capture_on_commit_callbacks: Any) -> None:
    campaign = CampaignFactory()
    outsider = Client()
    outsider.force_login(manager_of(OrganisationFactory(), role=Membership.Role.ADMIN))
    path = f"/gestion/campagnes/{campaign.slug}/nouvelles/"
    assert outsider.get(path).status_code == 404
    assert post_update(outsider, campaign, django_capture_on_commit_callbacks).status_code == 404
    volunteer = manager_client(campaign, role=Membership.Role.VOLUNTEER)
    assert volunteer.get(path).status_code == 403
    assert post_update(volunteer, campaign, django_capture_on_commit_callbacks).status_code == 403
    treasurer = manager_client(campaign, role=Membership.Role.TREASURER)
    assert treasurer.get(path).status_code == 403
    anonymous = Client().get(path)
    assert anonymous.status_code == 302 and "/comptes/connexion/" in anonymous["Location"]
    assert not Update.objects.exists()


def test_a_draft_campaign_gets_no_news(django_capture_on_commit_callbacks: Any) -> None:
    campaign = CampaignFactory(status=Campaign.Status.DRAFT)
    response = post_update(manager_client(campaign), campaign, django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert not Update.objects.exists()


def test_a_photo_is_stored_in_webp_renditions_without_its_exif(django_capture_on_commit_callbacks: Any) -> None:
    campaign = CampaignFactory()
    client = manager_client(campaign)
    photo = upload("chantier.jpg", photo_with_gps((900, 600)))
    assert post_update(client, campaign, django_capture_on_commit_callbacks, photo=photo).status_code == 302
    update = Update.objects.get()
    assert update.image.name.endswith(".webp") and update.fallback.name.endswith(".jpeg")
    assert {r["format"] for r in update.renditions} == {"webp", "jpeg"}
    assert (update.width, update.height) == (600, 900)  # turned upright as its orientation said
    with default_storage.open(update.image.name) as stored:
        image = Image.open(io.BytesIO(stored.read()))
        assert not image.getexif()
    html = Client().get(campaign.get_absolute_url()).content.decode()
    assert update.webp_srcset.split(" ")[0] in html


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("bomb.png", decompression_bomb()),
        ("script.svg", SVG_WITH_SCRIPT),
        ("photo.jpg", b"GIF89a not really a photo"),
        ("tiny.png", image_bytes((10, 10))),
        ("empty.jpg", b""),
    ],
)
def test_a_hostile_photo_is_refused_beside_its_field_and_nothing_is_stored(
    django_capture_on_commit_callbacks: Any, name: str, data: bytes
) -> None:
    campaign = CampaignFactory()
    consenting_gift(campaign, "backer@example.org")
    mail.outbox.clear()
    client = manager_client(campaign)
    response = post_update(client, campaign, django_capture_on_commit_callbacks, photo=upload(name, data))
    assert response.status_code == 400
    assert response.context["form"].errors.get("photo"), response.context["form"].errors
    assert not Update.objects.exists() and not news_mails()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.NEWS_POSTED).exists()
    assert not default_storage.exists("news")


def test_a_title_with_a_line_break_is_refused(django_capture_on_commit_callbacks: Any) -> None:
    campaign = CampaignFactory()
    response = post_update(
        manager_client(campaign), campaign, django_capture_on_commit_callbacks, title="Bcc: x@example.org\nHi"
    )
    assert response.status_code == 400 and "title" in response.context["form"].errors


# --- The campaign page -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "heading", "dated"), [("fr", "Nouvelles du projet", "Publiée le"), ("en", "Project news", "Posted on")]
)
def test_the_campaign_page_shows_updates_newest_first_dated_and_escaped(
    client: Client, django_capture_on_commit_callbacks: Any, language: str, heading: str, dated: str
) -> None:
    campaign = CampaignFactory()
    manager = manager_client(campaign)
    post_update(manager, campaign, django_capture_on_commit_callbacks, title="Première", text="<b>gras</b>\n\nFin.")
    post_update(manager, campaign, django_capture_on_commit_callbacks, title="Seconde", text="Encore.")
    client.cookies["django_language"] = language
    html = client.get(campaign.get_absolute_url()).content.decode()
    assert heading in html and dated in html
    assert html.index("Seconde") < html.index("Première")
    assert "&lt;b&gt;gras&lt;/b&gt;" in html and "<b>gras</b>" not in html
    assert "<p>Fin.</p>" in html
    other = CampaignFactory()
    assert "Première" not in client.get(other.get_absolute_url()).content.decode()


def test_a_deleted_account_hears_from_no_campaign_and_its_export_lists_subscriptions() -> None:
    campaign = CampaignFactory()
    person = UserFactory(email="person@example.org")
    consenting_gift(campaign, "Person@Example.org")
    consenting_gift(campaign, "someone.else@example.org")
    exported = user_data_export(user=person)["news_subscriptions"]
    assert [(s["campaign"], s["email"]) for s in exported] == [(campaign.slug, "person@example.org")]
    user_delete(user=person)
    assert list(Subscription.objects.values_list("email", flat=True)) == ["someone.else@example.org"]
