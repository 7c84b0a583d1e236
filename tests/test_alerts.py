"""Saved searches' emails: one email per batch of newly listed objects, at most one a day,
in the alert's language, never to an unverified or deleted account; the link in each
email stops the alert without signing in; the catalogue's form saves a search."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core import mail, signing
from django.test import Client
from django.utils import timezone

from accounts.services import user_delete
from alerts import services
from alerts.models import Alert
from alerts.services import alert_create, alerts_send_due
from donations.models import Item, ItemStatus, ItemTransition
from tests.factories import CampaignFactory, ItemFactory, UserFactory

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


def saved(user: Any = None, language: str = "fr", **filters: Any) -> Alert:
    alert, created = alert_create(user=user or UserFactory(), filters=filters, language=language)
    assert created
    return alert


def listed(at: datetime | None = None, **fields: Any) -> Item:
    """An object put on sale (now, or its listing moved to ``at``)."""
    item = ItemFactory(**fields)
    if at is not None:
        ItemTransition.objects.filter(item=item).update(at=at)
    return item


def sweep(capture: Any, now: datetime) -> int:
    with capture(execute=True):
        return alerts_send_due(now=now)


def alert_mails() -> list[Any]:
    return [m for m in mail.outbox if m.subject.startswith(("Nouveaux objets", "New objects"))]


def unsubscribe_path(message: Any) -> str:
    found = re.search(r"https?://[^/\s]+(/alertes/desabonnement/[^\s]+/)", message.body)
    assert found, message.body
    return found.group(1)


def test_three_objects_listed_make_one_email_listing_the_three(django_capture_on_commit_callbacks: Any) -> None:
    alert = saved(q="vélo")
    start = alert.watermark
    bikes = [listed(title=f"Vélo de ville {n}", price_cents=4000 + n) for n in range(3)]
    listed(title="Table basse")  # does not match
    assert sweep(django_capture_on_commit_callbacks, start + 2 * services.SETTLE) == 1
    [message] = alert_mails()
    assert message.to == [alert.user.email]
    for bike in bikes:
        assert bike.title in message.body and bike.get_absolute_url() in message.body
    assert "Table basse" not in message.body
    assert "40,00\xa0€" in message.body
    assert message.extra_headers["List-Unsubscribe"].startswith("<http")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    alert.refresh_from_db()
    assert alert.last_sent_at == start + 2 * services.SETTLE
    assert alert.watermark == start + services.SETTLE


def test_at_most_one_email_a_day_then_the_next_one_lists_what_came_since(
    django_capture_on_commit_callbacks: Any,
) -> None:
    alert = saved(q="vélo")
    start = alert.watermark
    for n in range(3):
        listed(title=f"Vélo {n}")
    sweep(django_capture_on_commit_callbacks, start + 2 * services.SETTLE)
    assert len(alert_mails()) == 1
    fourth = listed(at=start + HOUR, title="Vélo pliant")
    assert sweep(django_capture_on_commit_callbacks, start + HOUR + 2 * services.SETTLE) == 0
    assert sweep(django_capture_on_commit_callbacks, start + 12 * HOUR) == 0
    assert len(alert_mails()) == 1
    assert sweep(django_capture_on_commit_callbacks, start + 24 * HOUR + 3 * services.SETTLE) == 1
    assert len(alert_mails()) == 2
    second = alert_mails()[1]
    assert "Vélo pliant" in second.body and fourth.get_absolute_url() in second.body
    assert "Vélo 0" not in second.body


def test_the_sweep_run_twice_sends_once(django_capture_on_commit_callbacks: Any) -> None:
    alert = saved(q="vélo")
    listed(title="Vélo")
    now = alert.watermark + 2 * services.SETTLE
    assert sweep(django_capture_on_commit_callbacks, now) == 1
    assert sweep(django_capture_on_commit_callbacks, now) == 0
    assert sweep(django_capture_on_commit_callbacks, now + services.SETTLE) == 0
    assert len(alert_mails()) == 1


def test_no_email_when_nothing_new_matches_and_the_watermark_moves_on(
    django_capture_on_commit_callbacks: Any,
) -> None:
    alert = saved(q="vélo")
    listed(title="Chaise")
    listed(title="Vélo en revue", status=ItemStatus.IN_REVIEW)
    listed(title="Vélo déjà réservé", status=ItemStatus.RESERVED)
    now = alert.watermark + 2 * services.SETTLE
    assert sweep(django_capture_on_commit_callbacks, now) == 0
    assert alert_mails() == []
    alert.refresh_from_db()
    assert alert.watermark == now - services.SETTLE and alert.last_sent_at is None


def test_objects_listed_before_the_search_was_saved_are_not_news(django_capture_on_commit_callbacks: Any) -> None:
    old = listed(title="Vélo ancien")
    ItemTransition.objects.filter(item=old).update(at=timezone.now() - HOUR)
    alert = saved(q="vélo")
    assert sweep(django_capture_on_commit_callbacks, alert.watermark + 2 * services.SETTLE) == 0


def test_an_object_back_on_sale_after_a_hold_is_not_news_again(django_capture_on_commit_callbacks: Any) -> None:
    from donations.services import item_transition

    item = listed(title="Vélo", at=timezone.now() - HOUR)
    alert = saved(q="vélo")
    item_transition(item=item, to=ItemStatus.RESERVED)
    item_transition(item=item, to=ItemStatus.LISTED)
    assert sweep(django_capture_on_commit_callbacks, alert.watermark + 2 * services.SETTLE) == 0


def test_an_object_listed_in_the_last_minute_waits_for_the_next_sweep(
    django_capture_on_commit_callbacks: Any,
) -> None:
    alert = saved(q="vélo")
    start = alert.watermark
    listed(title="Vélo", at=start + HOUR)
    assert sweep(django_capture_on_commit_callbacks, start + HOUR + services.SETTLE / 2) == 0
    assert sweep(django_capture_on_commit_callbacks, start + HOUR + 2 * services.SETTLE) == 1


def test_no_email_for_an_unverified_a_deactivated_or_a_deleted_account(
    django_capture_on_commit_callbacks: Any,
) -> None:
    unverified = saved(q="vélo")
    type(unverified.user).objects.filter(pk=unverified.user_id).update(email_verified_at=None)
    inactive = saved(q="vélo")
    type(inactive.user).objects.filter(pk=inactive.user_id).update(is_active=False)
    deleted = saved(q="vélo")
    user_delete(user=deleted.user)
    listed(title="Vélo")
    assert sweep(django_capture_on_commit_callbacks, timezone.now() + 2 * services.SETTLE) == 0
    assert alert_mails() == []
    assert not Alert.objects.filter(pk=deleted.pk).exists()


def test_an_unverified_person_cannot_save_a_search() -> None:
    with pytest.raises(services.EmailUnverified):
        alert_create(user=UserFactory(email_verified_at=None), filters={"q": "vélo"})


def test_the_email_is_written_in_the_alert_s_language(django_capture_on_commit_callbacks: Any) -> None:
    alert = saved(language="en", q="rouge")
    listed(title="Vélo rouge", price_cents=1250)
    sweep(django_capture_on_commit_callbacks, alert.watermark + 2 * services.SETTLE)
    [message] = alert_mails()
    assert message.subject.startswith("New objects")
    assert "€12.50" in message.body and "Stop receiving them" in message.body
    assert "De nouveaux objets" not in message.body


def test_more_than_ten_objects_are_counted_with_a_link_to_the_catalogue(
    django_capture_on_commit_callbacks: Any,
) -> None:
    campaign = CampaignFactory()
    alert = saved(campaign=campaign.slug)
    for n in range(13):
        listed(campaign=campaign, title=f"Objet numéro {n}")
    sweep(django_capture_on_commit_callbacks, alert.watermark + 2 * services.SETTLE)
    [message] = alert_mails()
    assert message.body.count("/objets/") >= 10
    assert "Et 3 autres objets" in message.body
    assert f"/objets/?campaign={campaign.slug}" in message.body


def test_the_search_text_matches_without_accents_or_case(django_capture_on_commit_callbacks: Any) -> None:
    alert = saved(q="VELO")
    listed(title="Joli vélo")
    sweep(django_capture_on_commit_callbacks, alert.watermark + 2 * services.SETTLE)
    assert len(alert_mails()) == 1


def test_the_campaign_filter_is_honoured(django_capture_on_commit_callbacks: Any) -> None:
    campaign, other = CampaignFactory(), CampaignFactory()
    alert = saved(campaign=campaign.slug)
    listed(campaign=other, title="Ailleurs")
    assert sweep(django_capture_on_commit_callbacks, alert.watermark + 2 * services.SETTLE) == 0
    listed(campaign=campaign, title="Ici", at=alert.watermark + HOUR)
    assert sweep(django_capture_on_commit_callbacks, alert.watermark + 2 * HOUR) == 1


def test_an_object_sold_before_the_email_goes_is_left_out(django_capture_on_commit_callbacks: Any) -> None:
    alert = saved(q="vélo")
    kept, sold = listed(title="Vélo gardé"), listed(title="Vélo vendu")
    now = alert.watermark + 2 * services.SETTLE
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        alerts_send_due(now=now)
    Item.objects.filter(pk=sold.pk).update(status=ItemStatus.SOLD)
    for callback in callbacks:
        callback()
    [message] = alert_mails()
    assert kept.title in message.body and sold.title not in message.body


# --- Unsubscribing without an account --------------------------------------------------------


def emailed_alert(capture: Any) -> tuple[Alert, str]:
    alert = saved(q="vélo")
    listed(title="Vélo")
    sweep(capture, alert.watermark + 2 * services.SETTLE)
    [message] = alert_mails()
    return alert, unsubscribe_path(message)


def test_the_link_asks_first_then_stops_the_alert_for_a_logged_out_visitor(
    django_capture_on_commit_callbacks: Any,
) -> None:
    alert, path = emailed_alert(django_capture_on_commit_callbacks)
    client = Client(enforce_csrf_checks=True)
    page = client.get(path)
    assert page.status_code == 200 and "Arrêter cette alerte" in page.content.decode()
    alert.refresh_from_db()
    assert alert.unsubscribed_at is None  # a GET never stops anything (link scanners)
    done = client.post(path)
    assert done.status_code == 200 and "C'est fait" in done.content.decode()
    alert.refresh_from_db()
    assert alert.unsubscribed_at is not None
    assert client.post(path).status_code == 200  # twice: still fine
    listed(title="Vélo bis", at=timezone.now() + 25 * HOUR)
    assert sweep(django_capture_on_commit_callbacks, timezone.now() + 26 * HOUR) == 0


@pytest.mark.parametrize(
    "token",
    [
        "forged",
        signing.dumps(1, salt="tremma.news-unsubscribe"),  # another room's link
        signing.dumps("1", salt=services.UNSUBSCRIBE_SALT),  # not an id
        signing.dumps(True, salt=services.UNSUBSCRIBE_SALT),
        signing.dumps(10**30, salt=services.UNSUBSCRIBE_SALT),
        "é" * 300,
        "' OR 1=1 --",
    ],
)
def test_a_tampered_or_foreign_link_is_a_clear_404(token: str) -> None:
    response = Client().post(f"/alertes/desabonnement/{token}/")
    assert response.status_code == 404
    assert "pas valide" in response.content.decode()


def test_an_altered_link_of_a_real_alert_is_refused(django_capture_on_commit_callbacks: Any) -> None:
    alert, path = emailed_alert(django_capture_on_commit_callbacks)
    altered = path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:]
    assert Client().post(altered).status_code == 404
    alert.refresh_from_db()
    assert alert.unsubscribed_at is None


# --- The catalogue's form and the person's space --------------------------------------------


def told(response: Any) -> str:
    """The messages the redirected page will show."""
    return " ".join(str(message) for message in get_messages(response.wsgi_request))


def test_the_catalogue_form_saves_the_search_and_goes_back_to_it() -> None:
    user = UserFactory()
    client = Client()
    client.force_login(user)
    campaign = CampaignFactory()
    response = client.post("/objets/alerte/", {"q": " vélo  ", "campaign": campaign.slug, "page": "3"})
    assert response.status_code == 302
    assert response["Location"].startswith("/objets/?") and "page" not in response["Location"]
    alert = Alert.objects.get(user=user)
    assert alert.filters == {"campaign": campaign.slug, "q": "vélo"}
    assert alert.label == f"« vélo » · {campaign.title}"
    assert "Alerte enregistrée" in told(response)
    again = client.post("/objets/alerte/", {"q": "VÉLO", "campaign": campaign.slug})
    assert Alert.objects.filter(user=user).count() == 1
    assert "déjà" in told(again)


def test_the_catalogue_form_sends_a_visitor_to_sign_in_then_back() -> None:
    response = Client().post("/objets/alerte/", {"q": "vélo"})
    assert response.status_code == 302
    assert response["Location"].startswith("/comptes/connexion/?next=%2Fobjets%2F%3Fq%3Dv%25C3%25A9lo")
    assert not Alert.objects.exists()


def test_the_catalogue_form_tells_an_unverified_person_to_verify() -> None:
    client = Client()
    client.force_login(UserFactory(email_verified_at=None))
    response = client.post("/objets/alerte/", {"q": "vélo"})
    assert response.status_code == 302
    assert "Confirmez d'abord votre adresse" in told(response) and "/comptes/profil/" in told(response)
    assert not Alert.objects.exists()


def test_the_catalogue_form_refuses_bad_filters_without_a_500() -> None:
    client = Client()
    client.force_login(UserFactory())
    for data in ({"q": "x" * 500}, {"campaign": "<script>"}, {"window": "-1"}):
        response = client.post("/objets/alerte/", data)
        assert response.status_code == 302, data
    assert not Alert.objects.exists()


def test_the_catalogue_form_needs_its_csrf_token() -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    assert client.post("/objets/alerte/", {"q": "vélo"}).status_code == 403
    assert not Alert.objects.exists()


def test_the_save_search_snippet_carries_the_filters_shown() -> None:
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    request = RequestFactory().get("/objets/", {"q": 'vélo"><script>', "page": "2", "campaign": "c"})
    html = render_to_string("alerts/_save_search.html", {"request": request, "csrf_token": "t"})
    assert 'name="q" value="vélo&quot;&gt;&lt;script&gt;"' in html
    assert 'name="campaign" value="c"' in html and 'name="page"' not in html
    assert 'action="/objets/alerte/"' in html


def test_the_person_s_space_lists_their_alerts_and_deletes_one() -> None:
    user, other = UserFactory(), UserFactory()
    mine, theirs = saved(user, q="vélo"), saved(other, q="lampe")
    client = Client()
    client.force_login(user)
    page = client.get("/mon-compte/").content.decode()
    assert "Mes alertes" in page and "« vélo »" in page and "« lampe »" not in page
    assert client.post(f"/mon-compte/alertes/{theirs.pk}/supprimer/").status_code == 404
    assert client.post(f"/mon-compte/alertes/{mine.pk}/supprimer/").status_code == 302
    assert list(Alert.objects.all()) == [theirs]
