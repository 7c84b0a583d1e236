"""Pages: "my objects", "post an object" and the review queue."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from donations.models import Item, ItemPhoto, ItemStatus
from tests.factories import CampaignFactory, ItemFactory, UserFactory, image_bytes, manager_of, upload

pytestmark = pytest.mark.django_db


def form_data(campaign_slug: str, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "campaign": campaign_slug,
        "title": "Vélo de ville",
        "description": "Cadre acier, trois vitesses.",
        "condition": "good",
        "category": "sports",
        "price_cents": "95,50",
        "photos": [upload("velo.jpg", image_bytes((640, 480), "JPEG"))],
    }
    data.update(overrides)
    return data


def test_pages_need_a_signed_in_person(client: Client) -> None:
    for url in ("/mes-objets/", "/mes-objets/nouveau/", "/gestion/relecture/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/comptes/connexion/")


def test_posting_an_object_from_the_page_sends_it_to_review(client: Client) -> None:
    campaign = CampaignFactory()
    donor = UserFactory()
    client.force_login(donor)
    assert client.get("/mes-objets/nouveau/").status_code == 200

    response = client.post("/mes-objets/nouveau/", form_data(campaign.slug))

    assert response.status_code == 302 and response["Location"] == "/mes-objets/"
    item = Item.objects.get()
    assert (item.owner, item.status, item.price_cents) == (donor, ItemStatus.IN_REVIEW, 9550)
    assert ItemPhoto.objects.filter(item=item).count() == 1
    page = client.get("/mes-objets/").content.decode()
    assert "Vélo de ville" in page and "En relecture" in page


def test_the_post_form_chooses_neither_state_nor_category_for_the_person(client: Client) -> None:
    campaign = CampaignFactory()
    client.force_login(UserFactory())
    html = client.get("/mes-objets/nouveau/").content.decode()

    for name in ("condition", "category"):
        select = re.search(rf'<select name="{name}".*?</select>', html, re.S)
        assert select is not None
        options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select.group(0))
        assert options[0] == ("", " selected", "— Choisir —")
        assert [value for value, selected, _label in options if selected] == [""]

    data = form_data(campaign.slug)
    del data["condition"], data["category"]
    response = client.post("/mes-objets/nouveau/", data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == ["condition", "category"] and errors["condition"] == ["Ce champ est obligatoire."]
    assert not Item.objects.exists()


def test_the_post_form_says_next_to_the_photos_what_is_wrong(client: Client) -> None:
    client.force_login(UserFactory())
    response = client.post(
        "/mes-objets/nouveau/",
        form_data(CampaignFactory().slug, photos=[upload("virus.jpg", b"MZ\x90\x00 not a photo" * 20)]),
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["photos"]
    assert re.search(r'id="id_photos_error".*virus\.jpg.*JPEG, PNG ou WebP', html, re.S)
    assert not Item.objects.exists()


def test_my_objects_shows_the_rejection_reason_and_withdraws(client: Client) -> None:
    donor = UserFactory()
    rejected = ItemFactory(owner=donor, status=ItemStatus.IN_REVIEW, title="Miroir")
    from donations.services import item_reject

    item_reject(item=rejected, actor=manager_of(rejected.campaign.organisation), reason="Miroir fêlé")
    listed = ItemFactory(owner=donor, status=ItemStatus.LISTED, title="Chaise")
    client.force_login(donor)

    page = client.get("/mes-objets/").content.decode()
    assert "Miroir fêlé" in page and "Refusé" in page
    assert f"/mes-objets/{listed.pk}/retirer/" in page and f"/mes-objets/{rejected.pk}/retirer/" not in page

    assert client.post(f"/mes-objets/{listed.pk}/retirer/").status_code == 302
    assert Item.objects.get(pk=listed.pk).status == ItemStatus.WITHDRAWN


def test_a_donor_cannot_withdraw_someone_elses_object_from_the_page(client: Client) -> None:
    item = ItemFactory(status=ItemStatus.LISTED)
    client.force_login(UserFactory())
    assert client.post(f"/mes-objets/{item.pk}/retirer/").status_code == 404
    assert Item.objects.get(pk=item.pk).status == ItemStatus.LISTED


def test_the_review_queue_page_approves_with_edits_and_rejects(client: Client) -> None:
    first = ItemFactory(status=ItemStatus.IN_REVIEW, title="Lampe")
    second = ItemFactory(campaign=first.campaign, status=ItemStatus.IN_REVIEW, title="Radio")
    other = ItemFactory(status=ItemStatus.IN_REVIEW, title="Ailleurs")
    client.force_login(manager_of(first.campaign.organisation))

    page = client.get("/gestion/relecture/").content.decode()
    assert "Lampe" in page and "Radio" in page and "Ailleurs" not in page

    approve = {
        f"item{first.pk}-title": "Lampe d'architecte",
        f"item{first.pk}-description": "Verte",
        f"item{first.pk}-price_cents": "40",
    }
    assert client.post(f"/gestion/relecture/{first.pk}/accepter/", approve).status_code == 302
    assert (
        client.post(
            f"/gestion/relecture/{second.pk}/refuser/", {f"item{second.pk}-reason": "Ne marche pas"}
        ).status_code
        == 302
    )
    assert client.post(f"/gestion/relecture/{other.pk}/accepter/", {}).status_code == 404

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.title, first.price_cents) == (ItemStatus.LISTED, "Lampe d'architecte", 4000)
    assert (second.status, second.rejection_reason) == (ItemStatus.REJECTED, "Ne marche pas")
    assert Item.objects.get(pk=other.pk).status == ItemStatus.IN_REVIEW


def test_offering_an_object_from_the_page_needs_a_hand_over_choice(client: Client) -> None:
    campaign = CampaignFactory()
    client.force_login(UserFactory())
    missing = client.post("/mes-objets/nouveau/", form_data(campaign.slug, kind="gift_in_kind", price_cents=""))
    assert missing.status_code == 400 and list(missing.context["form"].errors) == ["handover"]

    response = client.post(
        "/mes-objets/nouveau/",
        form_data(campaign.slug, kind="gift_in_kind", price_cents="", handover="drop_off"),
    )
    assert response.status_code == 302
    item = Item.objects.get()
    assert (item.kind, item.handover, item.price_cents) == ("gift_in_kind", "drop_off", None)


def test_the_queue_page_accepts_a_gift_then_records_its_hand_over(client: Client) -> None:
    from tests.factories import GiftInKindFactory

    gift = GiftInKindFactory(status=ItemStatus.IN_REVIEW, title="Armoire", handover="pick_up")
    client.force_login(manager_of(gift.campaign.organisation))
    page = client.get("/gestion/relecture/").content.decode()
    assert "Armoire" in page and f"/gestion/dons/{gift.pk}/accepter/" in page

    assert client.post(f"/gestion/dons/{gift.pk}/accepter/").status_code == 302
    page = client.get("/gestion/relecture/").content.decode()
    assert f"/gestion/dons/{gift.pk}/recu/" in page and gift.owner.email in page
    assert client.post(f"/gestion/dons/{gift.pk}/recu/").status_code == 302
    gift.refresh_from_db()
    assert gift.status == ItemStatus.RECEIVED and gift.owner is None


def test_the_review_queue_shows_who_posted_when_and_asks_a_reason_only_to_refuse(client: Client) -> None:
    from datetime import UTC, datetime

    named = ItemFactory(
        status=ItemStatus.IN_REVIEW, title="Lampe", owner=UserFactory(first_name="Jeanne", last_name="Martin")
    )
    unnamed = ItemFactory(campaign=named.campaign, status=ItemStatus.IN_REVIEW, title="Radio", owner=None)
    # Late on 1 March in UTC is already 2 March in Paris.
    Item.objects.filter(pk=named.pk).update(created_at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    client.force_login(manager_of(named.campaign.organisation))

    page = client.get("/gestion/relecture/").content.decode()
    entries = dict(re.findall(r'<li id="item-(\d+)">(.*?)\n  </li>', page, re.DOTALL))
    assert set(entries) == {str(named.pk), str(unnamed.pk)}
    assert re.search(
        r"Proposé par Jeanne Martin le <time datetime=\"[^\"]+\">2 mars 2026</time>", entries[str(named.pk)]
    )
    assert "Proposé par donateur anonyme le <time" in entries[str(unnamed.pk)]
    for entry in entries.values():
        # "Mettre en vente" is the primary action; "Refuser" opens its reason box only when chosen.
        assert re.search(r'<button type="submit" class="primary">\s*Mettre en vente', entry)
        assert 'class="danger"' not in entry
        refuse = re.search(
            r'<details class="refuse">\s*<summary class="button secondary">Refuser</summary>(.*?)</details>',
            entry,
            re.DOTALL,
        )
        assert (
            refuse and re.search(r'<textarea name="item\d+-reason"', refuse.group(1)) and "/refuser/" in refuse.group(1)
        )
        outside = entry.replace(refuse.group(0), "")
        assert "-reason" not in outside and "/refuser/" not in outside

    english = client.get("/gestion/relecture/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # English dates day first, as in France (tremma/formats/en): not "March 2, 2026".
    assert re.search(r"Posted by Jeanne Martin on <time datetime=\"[^\"]+\">2 March 2026</time>", english)
    assert "Posted by anonymous donor on" in english and "Confirm the refusal" in english
