from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import factory
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from accounts.models import User
from campaigns.models import Campaign, Membership, Organisation
from donations.models import Item, ItemPhoto, ItemStatus
from donations.services import item_department, item_transition


def image_bytes(size: tuple[int, int] = (64, 48), fmt: str = "PNG", color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"personne{n}@example.org")
    first_name = "Camille"
    last_name = "Durand"
    # Verified, as most people in our tests are; ``UserFactory(email_verified_at=None)`` for a fresh sign-up.
    email_verified_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        password = kwargs.pop("password", PASSWORD)
        return model_class.objects.create_user(*args, password=password, **kwargs)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Communauté Emmaüs {n}")
    slug = factory.Sequence(lambda n: f"emmaus-{n}")
    legal_name = factory.LazyAttribute(lambda o: f"Association {o.name}")
    legal_form = Organisation.LegalForm.ASSOCIATION
    rna = factory.Sequence(lambda n: f"W{n:09d}")
    purpose = "Accueil et réemploi"
    address_line1 = "1 rue de la Paix"
    postal_code = "75002"
    city = "Paris"
    contact_email = "contact@example.org"
    stripe_account_id = ""
    # An account given here can receive transfers, unless the test says otherwise.
    stripe_transfers_active = factory.LazyAttribute(lambda o: bool(o.stripe_account_id))


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = Membership.Role.MANAGER


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    organisation = factory.SubFactory(OrganisationFactory)
    slug = factory.Sequence(lambda n: f"campagne-{n}")
    title = factory.Sequence(lambda n: f"Campagne {n}")
    summary = "Un projet solidaire"
    story = "Il était une fois un projet."
    goal_cents = 100_000
    status = Campaign.Status.LIVE
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))


class ItemFactory(factory.django.DjangoModelFactory):
    """An item created in draft; ``status=`` moves it there through item_transition."""

    class Meta:
        model = Item

    campaign = factory.SubFactory(CampaignFactory)
    owner = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Objet {n}")
    description = "Un bel objet de seconde main."
    condition = Item.Condition.GOOD
    category = Item.Category.OTHER
    price_cents = 2500
    # Where it is, as donations.services derives it: the organisation's department unless given.
    postal_code = ""
    department = factory.LazyAttribute(lambda o: item_department(postal_code=o.postal_code, campaign=o.campaign))

    @classmethod
    def _create(cls, model_class: type[Item], *args: Any, **kwargs: Any) -> Item:
        status = kwargs.pop("status", ItemStatus.LISTED)
        item = super()._create(model_class, *args, **kwargs)
        path = {
            ItemStatus.DRAFT: [],
            ItemStatus.IN_REVIEW: [ItemStatus.IN_REVIEW],
            ItemStatus.LISTED: [ItemStatus.IN_REVIEW, ItemStatus.LISTED],
            ItemStatus.REJECTED: [ItemStatus.IN_REVIEW, ItemStatus.REJECTED],
            ItemStatus.RESERVED: [ItemStatus.IN_REVIEW, ItemStatus.LISTED, ItemStatus.RESERVED],
            ItemStatus.SOLD: [ItemStatus.IN_REVIEW, ItemStatus.LISTED, ItemStatus.RESERVED, ItemStatus.SOLD],
            ItemStatus.WITHDRAWN: [ItemStatus.WITHDRAWN],
            ItemStatus.ACCEPTED: [ItemStatus.IN_REVIEW, ItemStatus.ACCEPTED],
            ItemStatus.RECEIVED: [ItemStatus.IN_REVIEW, ItemStatus.ACCEPTED, ItemStatus.RECEIVED],
        }[ItemStatus(status)]
        for step in path:
            item_transition(item=item, to=step, note="factory")
        if status == ItemStatus.RECEIVED:  # received gifts belong to the organisation
            Item.objects.filter(pk=item.pk).update(owner=None)
            item.owner = None
        return item


class GiftInKindFactory(ItemFactory):
    """An object offered to the organisation (no price until the organisation lists it)."""

    kind = Item.Kind.GIFT_IN_KIND
    price_cents = None
    handover = Item.Handover.DROP_OFF
    donor = factory.SelfAttribute("owner")


def add_photo(item: Item, *, size: tuple[int, int] = (64, 48), position: int = 0) -> ItemPhoto:
    photo = ItemPhoto(item=item, position=position, width=size[0], height=size[1])
    photo.image.save(f"photo-{item.pk}-{position}.png", ContentFile(image_bytes(size)), save=True)
    return photo


# --- qr: windows and placements (created through qr.services, like production) ---


class WindowFactory(factory.django.DjangoModelFactory):
    """A window on display now, with its own short code."""

    class Meta:
        model = "qr.Window"

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Vitrine {n}")
    place = "Boutique de la rue Carnot"
    address = "4 rue Carnot, 64000 Pau"
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    is_active = True

    @classmethod
    def _create(cls, model_class: type[Any], *args: Any, **kwargs: Any) -> Any:
        from qr.services import window_create

        return window_create(**kwargs)


def place_items(window: Any, count: int, **item_fields: Any) -> list[Any]:
    """``count`` new listed items of the window's organisation, placed in it in order (with photos)."""
    from qr.services import placement_add

    campaign = item_fields.pop("campaign", None) or CampaignFactory(organisation=window.organisation)
    placements = []
    for _ in range(count):
        item = ItemFactory(campaign=campaign, **item_fields)
        add_photo(item)
        placements.append(placement_add(window=window, item=item))
    return placements


def manager_of(organisation: Organisation, *, role: str = Membership.Role.MANAGER, **user_fields: Any) -> User:
    """A person who manages ``organisation``."""
    user = UserFactory(**user_fields)
    MembershipFactory(user=user, organisation=organisation, role=role)
    return user


def upload(name: str, data: bytes, content_type: str = "image/jpeg") -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


def photo_with_gps(size: tuple[int, int] = (300, 200), orientation: int = 6) -> bytes:
    """A JPEG whose EXIF carries GPS coordinates, a camera model and an orientation tag."""
    image = Image.new("RGB", size, "blue")
    image.paste(Image.new("RGB", (size[0] // 4, size[1] // 4), "yellow"), (0, 0))  # a marker in a corner
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation: 6 = rotate 90° clockwise to display
    exif[0x0110] = "Tremma Test Camera"  # Model
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (48.0, 51.0, 24.0)
    gps[3] = "E"
    gps[4] = (2.0, 21.0, 3.0)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def decompression_bomb() -> bytes:
    """A small PNG file that would decode to 100 megapixels."""
    buffer = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
    b"<script>alert(document.cookie)</script><rect width='100' height='100'/></svg>"
)


def item_post_data(for_campaign: Campaign, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "campaign": for_campaign.slug,
        "title": "Lampe de bureau",
        "description": "Lampe d'architecte en métal vert.",
        "condition": Item.Condition.VERY_GOOD,
        "category": Item.Category.DECORATION,
        "price_cents": 3500,
        "photos": [upload("lampe.jpg", image_bytes((640, 480), "JPEG"))],
    }
    data.update(overrides)
    return data


def reserve_rolled_back(item: Item) -> None:
    """A hold whose transaction fails after the item's UPDATE: nothing of it commits."""
    from django.db import transaction

    class Failed(Exception):
        pass

    try:
        with transaction.atomic():
            item_transition(item=item, to=ItemStatus.RESERVED)
            raise Failed
    except Failed:
        pass
    item.refresh_from_db()
