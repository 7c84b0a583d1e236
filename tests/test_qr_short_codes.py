from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from donations.models import ItemStatus
from qr.models import CODE_ALPHABET, ShortCode
from qr.services import CodeAlreadyTaken, short_code_for, short_code_repoint
from tests.factories import CampaignFactory, ItemFactory, WindowFactory, place_items

pytestmark = pytest.mark.django_db


def test_codes_are_short_random_and_free_of_look_alike_characters() -> None:
    codes = {short_code_for(target=ItemFactory()).code for _ in range(20)}

    assert len(codes) == 20
    for code in codes:
        assert len(code) == 7
        assert not set(code) & set("0O1lIL"), code
        assert set(code) <= set(CODE_ALPHABET)


def test_every_kind_of_target_gets_one_stable_code() -> None:
    window = WindowFactory()
    (placement,) = place_items(window, 1)
    for target in (ItemFactory(), CampaignFactory(), window, placement):
        first = short_code_for(target=target)
        assert short_code_for(target=target) == first
        assert first.target == target
    # One each, plus the placed item's own: the window and the placement got theirs when created,
    # and every item gets its code when it is listed.
    assert ShortCode.objects.count() == 5


def test_the_database_refuses_a_second_code_for_the_same_target() -> None:
    item = ItemFactory()
    short_code_for(target=item)
    with pytest.raises(IntegrityError), transaction.atomic():
        ShortCode.objects.create(code="ABCDEFG", item=item)


def test_a_code_always_has_exactly_one_target() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ShortCode.objects.create(code="ABCDEFG")
    with pytest.raises(IntegrityError), transaction.atomic():
        ShortCode.objects.create(code="ABCDEFH", item=ItemFactory(), campaign=CampaignFactory())


def test_a_clash_on_the_random_code_draws_again(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = short_code_for(target=ItemFactory()).code
    draws = iter([taken, "HJKMNPQ"])
    monkeypatch.setattr("qr.services.new_code", lambda: next(draws))

    assert short_code_for(target=ItemFactory()).code == "HJKMNPQ"


def test_codes_are_stored_so_they_survive_a_new_secret_key(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    item = ItemFactory()
    code = short_code_for(target=item).code
    settings.SECRET_KEY = "another-secret-key-after-a-rotation-0123456789abcdef"

    response = client.get(f"/q/{code}")

    assert response.status_code == 302 and response["Location"] == item.get_absolute_url()


def test_a_printed_code_can_be_repointed_and_scans_follow(client: Client) -> None:
    item, campaign = ItemFactory(), CampaignFactory()
    code = short_code_for(target=item)

    short_code_repoint(short_code=code, target=campaign)

    assert client.get(f"/q/{code.code}")["Location"] == campaign.get_absolute_url()
    assert short_code_for(target=campaign) == code
    assert short_code_for(target=item) != code  # the item gets a fresh code of its own


def test_repointing_onto_a_target_that_has_its_own_code_is_refused() -> None:
    first, second = ItemFactory(), ItemFactory()
    code = short_code_for(target=first)
    short_code_for(target=second)

    with pytest.raises(CodeAlreadyTaken):
        short_code_repoint(short_code=code, target=second)

    assert code.item == first  # neither the row nor the object moved
    code.refresh_from_db()
    assert code.item == first


def test_a_page_of_targets_gets_its_missing_codes_in_one_batch() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from donations.models import Item
    from qr.services import short_codes_ensure

    items = [ItemFactory(status=ItemStatus.DRAFT) for _ in range(6)]  # drafts: no code yet
    short_code_for(target=items[0])
    fetched = list(Item.objects.select_related("short_code").filter(pk__in=[i.pk for i in items]))

    with CaptureQueriesContext(connection) as queries:
        codes = short_codes_ensure(targets=fetched)

    assert len(queries) == 2  # one insert of the five missing codes, one read-back
    assert set(codes) == {item.pk for item in items}
    assert ShortCode.objects.filter(item__in=items).count() == 6
    assert codes[items[0].pk] == short_code_for(target=items[0])


def test_a_batch_whose_random_code_clashed_still_gives_every_target_a_code(monkeypatch: pytest.MonkeyPatch) -> None:
    from qr.services import short_codes_ensure

    taken = short_code_for(target=ItemFactory()).code
    draws = iter([taken, "HJKMNPQ"])
    monkeypatch.setattr("qr.services.new_code", lambda: next(draws))
    item = ItemFactory()

    codes = short_codes_ensure(targets=[item])

    assert codes[item.pk].code == "HJKMNPQ" and codes[item.pk].item == item
