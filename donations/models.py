"""Objects given or sold (items, their photos and history) and the records of
buying and giving (orders, gifts, holds, refunds). The latter live here because
they point to items and campaigns, but only checkout writes them: their statuses
move by the tables below (PAYMENT_TRANSITIONS, RESERVATION_TRANSITIONS,
REFUND_TRANSITIONS) through checkout.services.states (docs/architecture.md)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from campaigns.models import Campaign
from kernel.money import CURRENCY
from kernel.places import department_name, department_of


class ItemStatus(models.TextChoices):
    DRAFT = "draft", _("Brouillon")
    IN_REVIEW = "in_review", _("En relecture")
    LISTED = "listed", _("En vente")
    RESERVED = "reserved", _("Réservé")
    SOLD = "sold", _("Vendu")
    HANDED_OVER = "handed_over", _("Remis")
    REJECTED = "rejected", _("Refusé")
    WITHDRAWN = "withdrawn", _("Retiré")
    # Gifts in kind only: the organisation said yes, then got the object.
    ACCEPTED = "accepted", _("Accepté, en attente de remise")
    RECEIVED = "received", _("Reçu par l'organisation")


# The item state machine, as data: the one function that moves an item
# (donations.services.items.item_transition) refuses any move not listed here.
TRANSITIONS: dict[str, frozenset[str]] = {
    ItemStatus.DRAFT: frozenset({ItemStatus.IN_REVIEW, ItemStatus.WITHDRAWN}),
    ItemStatus.IN_REVIEW: frozenset(
        {ItemStatus.LISTED, ItemStatus.REJECTED, ItemStatus.WITHDRAWN, ItemStatus.DRAFT, ItemStatus.ACCEPTED}
    ),
    ItemStatus.LISTED: frozenset({ItemStatus.RESERVED, ItemStatus.WITHDRAWN, ItemStatus.IN_REVIEW}),
    ItemStatus.RESERVED: frozenset({ItemStatus.LISTED, ItemStatus.SOLD}),
    ItemStatus.SOLD: frozenset({ItemStatus.HANDED_OVER, ItemStatus.LISTED, ItemStatus.WITHDRAWN}),
    ItemStatus.HANDED_OVER: frozenset({ItemStatus.LISTED, ItemStatus.WITHDRAWN}),
    ItemStatus.REJECTED: frozenset({ItemStatus.IN_REVIEW}),
    ItemStatus.WITHDRAWN: frozenset(),
    # A gift in kind: accepted → handed over to the organisation (received) →
    # listed by the organisation itself, or kept for its own use.
    ItemStatus.ACCEPTED: frozenset({ItemStatus.RECEIVED, ItemStatus.WITHDRAWN}),
    ItemStatus.RECEIVED: frozenset({ItemStatus.LISTED}),
}

# How an object may reach its buyer: collected (at the organisation with the claim code, or
# from the private giver who keeps it, in person, with the same code), or as a parcel to a
# relay point or to the buyer's home. ``Item.delivery_methods`` says which of these one object allows.
COLLECTION, RELAY, HOME = "collection", "relay", "home"
DELIVERY_METHODS = (COLLECTION, RELAY, HOME)

# Categories too bulky for a parcel, whatever their weight: collected only.
BULKY_CATEGORIES = frozenset({"furniture", "appliances", "bikes"})

# An object's weight, when its giver says it (grams): the forms and the API refuse anything else.
ITEM_WEIGHT_GRAMS = (1, 100_000)

# What anonymous visitors may see.
PUBLIC_STATUSES = frozenset({ItemStatus.LISTED, ItemStatus.RESERVED, ItemStatus.SOLD})


class Item(models.Model):
    """One unique object (quantity 1)."""

    class Kind(models.TextChoices):
        SALE = "sale", _("Vente")
        GIFT_IN_KIND = "gift_in_kind", _("Don en nature")

    class Condition(models.TextChoices):
        NEW = "new", _("Neuf")
        VERY_GOOD = "very_good", _("Très bon état")
        GOOD = "good", _("Bon état")
        FAIR = "fair", _("État correct")
        FOR_REPAIR = "for_repair", _("À réparer")

    class Handover(models.TextChoices):
        DROP_OFF = "drop_off", _("Je le dépose à l'organisation")
        PICK_UP = "pick_up", _("L'organisation vient le chercher")

    class Category(models.TextChoices):
        FURNITURE = "furniture", _("Mobilier")
        CLOTHING = "clothing", _("Vêtements")
        BOOKS = "books", _("Livres")
        TABLEWARE = "tableware", _("Vaisselle")
        ELECTRONICS = "electronics", _("Électronique")
        TOYS = "toys", _("Jouets")
        SPORTS = "sports", _("Sport")
        DECORATION = "decoration", _("Décoration")
        MUSIC = "music", _("Musique")
        BIKES = "bikes", _("Vélos")
        APPLIANCES = "appliances", _("Électroménager")
        DIY_GARDEN = "diy_garden", _("Bricolage et jardin")
        CHILDCARE = "childcare", _("Puériculture")
        OTHER = "other", _("Autre")

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="items")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="items"
    )
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices, default=Kind.SALE)
    title = models.CharField(_("titre"), max_length=120)
    description = models.TextField(_("description"))
    condition = models.CharField(_("état"), max_length=20, choices=Condition.choices)
    category = models.CharField(_("catégorie"), max_length=20, choices=Category.choices, default=Category.OTHER)
    price_cents = models.PositiveIntegerField(_("prix (centimes)"), null=True, blank=True)
    currency = models.CharField(max_length=3, default=CURRENCY, editable=False)
    status = models.CharField(
        _("statut"), max_length=20, choices=ItemStatus.choices, default=ItemStatus.DRAFT, editable=False
    )
    rejection_reason = models.TextField(_("motif du refus"), blank=True)
    # Gifts in kind: how the object reaches the organisation, and who gave it
    # (``owner`` becomes empty once the organisation has received it: it is theirs).
    handover = models.CharField(_("remise"), max_length=10, choices=Handover.choices, blank=True)
    handover_note = models.CharField(_("précisions pour la remise"), max_length=300, blank=True)
    donor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="gifts_in_kind",
        verbose_name=_("donateur"),
    )
    received_at = models.DateTimeField(_("reçu le"), null=True, blank=True)
    # Where the object is. A private giver's postal code (their own, or their account's); empty
    # when the object stands at the organisation. ``department`` is derived from it, else from the
    # campaign's organisation's postal code, on every write that sets a place
    # (donations.services.places): the catalogue filters on it without a join.
    postal_code = models.CharField(_("code postal"), max_length=5, blank=True)
    department = models.CharField(_("département"), max_length=3, blank=True, db_index=True)
    weight_grams = models.PositiveIntegerField(_("poids (grammes)"), null=True, blank=True)
    # The giver (or the organisation) agrees to pack and send it. It travels as a parcel only when
    # this is set, its weight is known and within PARCEL_MAX_GRAMS and its category is not bulky
    # (``parcel_allowed``); kept on every write by the services that set weight, category or this.
    # (A database default too: rows written outside the ORM, e.g. a bulk COPY, travel as collection only.)
    ships = models.BooleanField(_("peut être envoyé par colis"), default=False, db_default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # (PostgreSQL also has a ``search_vector`` column kept up to date by a trigger: migration
    # 0018, not a model field, so ordinary SELECTs never read it; donations.search uses it.)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("objet")
        verbose_name_plural = _("objets")
        indexes = [
            models.Index(fields=["status", "campaign"], name="item_status_campaign"),
            # The catalogue's order (newest first): without it PostgreSQL sorts the whole table for each page.
            models.Index(fields=["-created_at", "-id"], name="item_newest_first"),
            # The catalogue's common filters, each with its order, so a page reads an index range.
            models.Index(fields=["status", "-created_at", "-id"], name="item_status_newest"),
            models.Index(fields=["status", "category", "-created_at", "-id"], name="item_status_category_newest"),
            models.Index(fields=["status", "department", "-created_at", "-id"], name="item_status_dept_newest"),
            models.Index(fields=["status", "price_cents", "id"], name="item_status_price"),
            # Price orders over every public status at once (the anonymous list): see migration 0020.
            models.Index(fields=["price_cents", "id"], name="item_price_order"),
            # The catalogue's delivery filter (relay: objects that ship; home: those standing at the
            # organisation among them), each a partial index read in the catalogue's order: see 0022.
            models.Index(fields=["status", "-created_at", "-id"], condition=Q(ships=True), name="item_ships_newest"),
            models.Index(
                fields=["status", "-created_at", "-id"],
                condition=Q(ships=True, postal_code=""),
                name="item_ships_home_newest",
            ),
            # What a sold or held item's page offers instead (donations.selectors.items_on_sale_like): the
            # campaign's newest listed items of the same category, then of any: see 0026.
            models.Index(
                fields=["campaign", "category", "-created_at", "-id"],
                condition=Q(status="listed"),
                name="item_listed_campaign_category",
            ),
            models.Index(
                fields=["campaign", "-created_at", "-id"], condition=Q(status="listed"), name="item_listed_campaign"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(price_cents__isnull=True) | Q(price_cents__gt=0), name="item_price_positive"
            ),
            # A sale always has a price; a gift in kind gets one when it is listed.
            models.CheckConstraint(
                condition=~Q(kind="sale") | Q(price_cents__isnull=False), name="item_sale_has_price"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["listed", "reserved", "sold", "handed_over"]) | Q(price_cents__isnull=False),
                name="item_on_sale_has_price",
            ),
            models.CheckConstraint(condition=Q(currency="EUR"), name="item_currency_eur"),
            models.CheckConstraint(
                condition=~Q(kind="gift_in_kind") | ~Q(handover=""), name="item_gift_in_kind_has_handover"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("pages:item", kwargs={"pk": self.pk})

    @property
    def kept_by_giver(self) -> bool:
        """The object is at its private giver's (their postal code), not at the organisation."""
        return bool(self.postal_code)

    @property
    def delivery_methods(self) -> list[str]:
        """How a buyer may get the object. Always collection (at the organisation, or in person
        from the giver who keeps it); as a parcel when it ``ships``: to a relay point, and to a home
        only from the organisation, so that no private person ever holds a buyer's home address."""
        methods = [COLLECTION]
        if self.ships:
            methods.append(RELAY)
            if not self.postal_code:
                methods.append(HOME)
        return methods


def giver_town(*, giver: object, postal_code: str) -> str:
    """Where a private giver hands an object over, as a buyer is told it: the town of their
    account when the object is at that postal code, else the postal code and its department;
    never an address."""
    city = str(getattr(giver, "city", "") or "").strip()
    if city and (not postal_code or str(getattr(giver, "postal_code", "")).strip() == postal_code):
        return city
    if postal_code:
        name = department_name(department_of(postal_code))
        return f"{postal_code} ({name})" if name else postal_code
    return city


def parcel_allowed(*, category: str, weight_grams: int | None) -> bool:
    """May an object of this category and weight travel as a parcel at all?"""
    return (
        weight_grams is not None and 0 < weight_grams <= settings.PARCEL_MAX_GRAMS and category not in BULKY_CATEGORIES
    )


class ItemPhoto(models.Model):
    """One photo of an item. ``image`` is its largest WebP rendition; ``renditions``
    lists every stored width (see kernel.photos) and ``fallback`` is a JPEG."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(_("image"), upload_to="items/", max_length=200)
    fallback = models.FileField(_("image JPEG de secours"), upload_to="items/", max_length=200, blank=True)
    # [{"name": storage name, "width": px, "height": px, "format": "webp" | "jpeg"}, …]
    renditions = models.JSONField(_("déclinaisons"), default=list, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ("position", "id")
        verbose_name = _("photo")
        verbose_name_plural = _("photos")

    def __str__(self) -> str:
        return f"{self.item_id} #{self.position}"

    @property
    def webp_srcset(self) -> str:
        """``<url> 400w, <url> 800w, …``: every stored WebP width, for ``<source srcset>``."""
        storage = self.image.storage
        webp = sorted((r for r in self.renditions if r.get("format") == "webp"), key=lambda r: r["width"])
        return ", ".join(f"{storage.url(r['name'])} {r['width']}w" for r in webp)

    @property
    def fallback_url(self) -> str:
        """The JPEG for the rare browser without WebP (the WebP itself for photos stored before it existed)."""
        return self.fallback.url if self.fallback else self.image.url


class ItemTransition(models.Model):
    """Append-only log of every status change of an item, with who made it."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=20, choices=ItemStatus.choices)
    to_status = models.CharField(max_length=20, choices=ItemStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("at", "id")

    def __str__(self) -> str:
        return f"{self.item_id}: {self.from_status} → {self.to_status}"


class Reservation(models.Model):
    """A hold on one listed item of one order (a basket holds all its items or none), until ``expires_at``.

    The hold itself is the item's ``reserved`` status (one conditional UPDATE);
    this row says for whom and until when. A partial unique constraint makes a
    second active hold on the same item impossible even if code went wrong."""

    class Status(models.TextChoices):
        HELD = "held", pgettext_lazy("réservation", "En cours")
        CONVERTED = "converted", _("Payée")
        RELEASED = "released", _("Libérée")

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="reservations")
    # A basket holds each of its items: one hold per item of the order, all taken in one transaction.
    order = models.ForeignKey("Order", on_delete=models.CASCADE, related_name="reservations")
    email = models.EmailField(_("e-mail"))
    # A keyed hash of the client address (never the raw address), to cap holds per client.
    client_key = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.HELD)
    expires_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("réservation")
        verbose_name_plural = _("réservations")
        indexes = [
            models.Index(fields=["status", "expires_at"], name="reservation_status_expiry"),
            models.Index(fields=["email", "status"], name="reservation_email_status"),
            models.Index(fields=["client_key", "status"], name="reservation_client_status"),
            # The holds cap counts a person's running holds by e-mail, case aside
            # (checkout.services.orders._holds_check_cap): see 0027.
            models.Index(Upper("email"), "expires_at", condition=Q(status="held"), name="reservation_held_email"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["item"], condition=Q(status="held"), name="one_active_hold_per_item"),
            models.UniqueConstraint(fields=["order", "item"], name="one_hold_per_item_of_an_order"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} → {self.email} ({self.status})"


# A hold ends once: paid (converted) or released (expired, failed, abandoned).
RESERVATION_TRANSITIONS: dict[str, frozenset[str]] = {
    Reservation.Status.HELD: frozenset({Reservation.Status.CONVERTED, Reservation.Status.RELEASED}),
    Reservation.Status.CONVERTED: frozenset(),
    Reservation.Status.RELEASED: frozenset(),
}


def new_claim_token() -> str:
    """128 random bits, URL-safe: the claim page cannot be guessed from anything else."""
    return secrets.token_urlsafe(16)


class PaymentStatus(models.TextChoices):
    """Status of an order or a gift; moves only as PAYMENT_TRANSITIONS says (checkout.services.states)."""

    PENDING = "pending", _("En attente de paiement")
    PAID = "paid", _("Payé")
    FAILED = "failed", _("Échoué")
    EXPIRED = "expired", _("Expiré")
    REFUNDED = "refunded", _("Remboursé")


# The moves an order's or a gift's status may make, applied only by
# checkout.services.states.payment_transition (one conditional UPDATE). A payment
# may arrive after its checkout expired or failed: it is then received (a gift,
# or an item still free) or refunded at once (an item someone else bought).
PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    PaymentStatus.PENDING: frozenset(
        {PaymentStatus.PAID, PaymentStatus.FAILED, PaymentStatus.EXPIRED, PaymentStatus.REFUNDED}
    ),
    PaymentStatus.EXPIRED: frozenset({PaymentStatus.PAID, PaymentStatus.REFUNDED}),
    PaymentStatus.FAILED: frozenset({PaymentStatus.PAID, PaymentStatus.REFUNDED}),
    PaymentStatus.PAID: frozenset({PaymentStatus.REFUNDED}),
    PaymentStatus.REFUNDED: frozenset(),
}


class Payment(models.Model):
    """What an order and a gift share: how much, and the provider's side of it.
    (Each keeps its own ``user``, with its own reverse name.)"""

    email = models.EmailField(_("e-mail"))
    amount_cents = models.PositiveIntegerField(_("montant (centimes)"))
    currency = models.CharField(max_length=3, default=CURRENCY, editable=False)
    status = models.CharField(
        _("statut"), max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.PENDING, editable=False
    )
    provider = models.CharField(max_length=10)
    provider_session_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    provider_payment_id = models.CharField(max_length=255, blank=True, db_index=True)
    checkout_url = models.CharField(max_length=1000, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    refunded_cents = models.PositiveIntegerField(default=0)
    # The payer's language when they paid: their emails are written in it.
    language = models.CharField(max_length=8, default="fr")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(condition=Q(currency="EUR"), name="%(class)s_currency_eur"),
            models.CheckConstraint(
                condition=Q(refunded_cents__lte=models.F("amount_cents")), name="%(class)s_refund_within_amount"
            ),
        ]


class Order(Payment):
    """A buyer's basket of one or more unique items, possibly from several
    organisations, paid once (no account needed). Its ``lines`` say what was
    bought for which campaign; its ``fulfilments`` (one per organisation) say
    how each organisation's part reaches the buyer. ``POST /api/items/{id}/checkout/``
    is an order of one line."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="orders"
    )
    expires_at = models.DateTimeField()
    # Of ``amount_cents``, what pays for parcels (its fulfilments' ``shipping_cents``); the rest is the items'.
    shipping_cents = models.PositiveIntegerField(_("frais de port (centimes)"), default=0)
    # Why the order was refunded automatically (e.g. paid after its hold expired and an item was sold).
    refund_reason = models.CharField(max_length=40, blank=True)
    refund_id = models.CharField(max_length=255, blank=True)

    class Meta(Payment.Meta):
        verbose_name = _("commande")
        verbose_name_plural = _("commandes")
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="order_amount_positive"),
            models.CheckConstraint(
                condition=Q(shipping_cents__lt=models.F("amount_cents")), name="order_shipping_within_amount"
            ),
            *Payment.Meta.constraints,
        ]

    def __str__(self) -> str:
        return f"commande {self.pk} ({self.status})"


class ShipmentStatus(models.TextChoices):
    """Where a parcel is (a collected fulfilment has none); moves only as SHIPMENT_TRANSITIONS says."""

    NONE = "", _("Retrait, pas de colis")
    TO_SHIP = "to_ship", _("À expédier")
    SHIPPED = "shipped", _("Expédié")
    IN_TRANSIT = "in_transit", _("En cours d'acheminement")
    DELIVERED = "delivered", _("Livré")
    RETURNED = "returned", _("Retourné à l'expéditeur")
    CANCELLED = "cancelled", _("Annulé")


# The moves a parcel's status may make (kernel.states.transition_apply: one conditional UPDATE).
# A carrier may skip steps (delivered without in_transit, even before we marked it shipped).
SHIPMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    ShipmentStatus.TO_SHIP: frozenset(
        {ShipmentStatus.SHIPPED, ShipmentStatus.IN_TRANSIT, ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED}
    ),
    ShipmentStatus.SHIPPED: frozenset({ShipmentStatus.IN_TRANSIT, ShipmentStatus.DELIVERED, ShipmentStatus.RETURNED}),
    ShipmentStatus.IN_TRANSIT: frozenset({ShipmentStatus.DELIVERED, ShipmentStatus.RETURNED}),
    ShipmentStatus.DELIVERED: frozenset(),
    ShipmentStatus.RETURNED: frozenset(),
    ShipmentStatus.CANCELLED: frozenset(),
}


class Fulfilment(models.Model):
    """The part of an order that one sender hands over: an organisation (the objects
    standing there), or one private giver (the objects they keep at home). Collected
    with one claim code, or sent as one parcel to a relay point or a home (``method``).
    Its hand-over, or its parcel's delivery, starts the return period of its items; its
    transfer pays the organisation what remains of its lines, in the order's transfer group."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fulfilments")
    organisation = models.ForeignKey("campaigns.Organisation", on_delete=models.PROTECT, related_name="fulfilments")
    # The private giver who keeps these objects and hands them over (or ships them) themselves; empty: the organisation.
    giver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="fulfilments_to_send"
    )
    method = models.CharField(
        _("mode de remise"),
        max_length=10,
        default=COLLECTION,
        choices=[(COLLECTION, _("Retrait")), (RELAY, _("Point relais")), (HOME, _("Domicile"))],
    )
    # What the buyer paid to ship this part (the ledger's shipping account, never a campaign's nor a receipt's).
    shipping_cents = models.PositiveIntegerField(_("frais de port (centimes)"), default=0)
    # A parcel's destination: the relay point as the carrier described it when chosen, or the buyer's home.
    relay_point = models.JSONField(default=dict, blank=True)
    address = models.JSONField(default=dict, blank=True)
    carrier = models.CharField(max_length=20, blank=True)
    tracking_number = models.CharField(_("numéro de suivi"), max_length=64, blank=True, db_index=True)
    # The label's file in the default storage (served only to whoever ships it), once made.
    label = models.CharField(max_length=255, blank=True)
    shipment_status = models.CharField(
        _("colis"), max_length=12, choices=ShipmentStatus.choices, default=ShipmentStatus.NONE, blank=True
    )
    ship_by = models.DateTimeField(_("à expédier avant le"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("expédié le"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("livré le"), null=True, blank=True)
    returned_at = models.DateTimeField(_("retourné le"), null=True, blank=True)
    claim_code = models.CharField(_("code de retrait"), max_length=12, unique=True)
    # The secret of the buyer's claim page (/retrait/<token>/) and of the QR code it shows:
    # random, so that no order number or claim code can be turned into someone else's page.
    claim_token = models.CharField(max_length=32, unique=True, default=new_claim_token, editable=False)
    # When the organisation handed the objects to the buyer (fulfilment_hand_over); the return period starts then.
    handed_over_at = models.DateTimeField(_("remis le"), null=True, blank=True)
    # Paid objects not collected (checkout/services/pickups.py): when the buyer was reminded,
    # and when the never-collected rule refunded this part. Each is set once, by a conditional
    # UPDATE in the transaction that records its email: a job run twice sends nothing twice.
    pickup_reminded_at = models.DateTimeField(_("premier rappel de retrait"), null=True, blank=True)
    pickup_reminded_again_at = models.DateTimeField(_("second rappel de retrait"), null=True, blank=True)
    pickup_expired_at = models.DateTimeField(_("jamais retiré, remboursé le"), null=True, blank=True)
    transfer_id = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ("order", "id")
        verbose_name = _("retrait")
        verbose_name_plural = _("retraits")
        constraints = [
            models.UniqueConstraint(
                fields=["order", "organisation"],
                condition=Q(giver__isnull=True),
                name="one_fulfilment_per_organisation",
            ),
            models.UniqueConstraint(
                fields=["order", "organisation", "giver"],
                condition=Q(giver__isnull=False),
                name="one_fulfilment_per_giver",
            ),
            # Shipping is paid for parcels only; a private giver never holds a buyer's home address.
            models.CheckConstraint(
                condition=Q(method__in=["relay", "home"]) | Q(shipping_cents=0), name="fulfilment_shipping_parcels_only"
            ),
            models.CheckConstraint(
                condition=Q(giver__isnull=True) | ~Q(method="home"), name="fulfilment_giver_never_home"
            ),
        ]

    def __str__(self) -> str:
        return f"commande {self.order_id} / organisation {self.organisation_id}"

    @property
    def is_parcel(self) -> bool:
        return self.method in (RELAY, HOME)

    @property
    def giver_town(self) -> str:
        """The private giver's town (their account's), as the buyer is told it; "" for an organisation's part."""
        if self.giver_id is None or self.giver is None:
            return ""
        return giver_town(giver=self.giver, postal_code=self.giver.postal_code.strip())


class OrderLine(models.Model):
    """One item of an order, at the price it was bought for, credited to its own campaign."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    fulfilment = models.ForeignKey(Fulfilment, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="order_lines")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="order_lines")
    amount_cents = models.PositiveIntegerField(_("montant (centimes)"))
    # What the provider confirmed refunding of this line (checkout.services.events allocates an
    # order's refunds to its lines); the ledger's debits follow.
    refunded_cents = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("order", "id")
        verbose_name = _("ligne de commande")
        verbose_name_plural = _("lignes de commande")
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="order_line_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_cents__lte=models.F("amount_cents")), name="order_line_refund_within_amount"
            ),
            models.UniqueConstraint(fields=["order", "item"], name="one_line_per_item_of_an_order"),
        ]

    def __str__(self) -> str:
        return f"commande {self.order_id}: {self.item_id} ({self.amount_cents})"


class Gift(Payment):
    """Money given to a campaign; counts only once the payment is confirmed (ledger)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="gifts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="gifts"
    )
    name = models.CharField(_("nom"), max_length=120, blank=True)
    anonymous = models.BooleanField(_("anonyme"), default=False)
    message = models.TextField(_("message"), max_length=1000, blank=True)
    # "Je souhaite un reçu fiscal": the name and postal address the receipt is issued
    # to (receipts.details validates them), with or without an account.
    receipt_requested = models.BooleanField(_("reçu fiscal demandé"), default=False)
    receipt_first_name = models.CharField(_("prénoms (reçu)"), max_length=150, blank=True)
    receipt_last_name = models.CharField(_("nom (reçu)"), max_length=150, blank=True)
    receipt_address_line1 = models.CharField(_("adresse (reçu)"), max_length=200, blank=True)
    receipt_address_line2 = models.CharField(_("complément d'adresse (reçu)"), max_length=200, blank=True)
    receipt_postal_code = models.CharField(_("code postal (reçu)"), max_length=20, blank=True)
    receipt_city = models.CharField(_("ville (reçu)"), max_length=100, blank=True)
    receipt_country = models.CharField(_("pays (reçu)"), max_length=2, blank=True)
    transfer_id = models.CharField(max_length=255, blank=True)
    # A charge of a monthly gift (each month's payment is a gift of its own), and the
    # provider's invoice it paid: unique, so that a replayed invoice counts once.
    recurring = models.ForeignKey(
        "RecurringGift", on_delete=models.PROTECT, null=True, blank=True, related_name="charges"
    )
    provider_invoice_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    # The giver agreed to hear from the campaign (never ticked for them): once paid, a
    # news subscription (news.services.subscription_consent).
    news = models.BooleanField(_("accepte les nouvelles de la campagne"), default=False)
    # The giver's voluntary contribution to Trëmma's costs, paid in the same payment (the provider
    # charges amount_cents + tip_cents). Never the campaign's: the platform's tips account in the
    # ledger, never receipted, never transferred. ``amount_cents`` stays the gift.
    tip_cents = models.PositiveIntegerField(_("contribution aux frais de Trëmma (centimes)"), default=0)

    class WallStatus(models.TextChoices):
        """The donor wall (the campaign page): a giver's name and message show only once approved."""

        PENDING = "pending", _("À modérer")
        APPROVED = "approved", _("Affiché")
        HIDDEN = "hidden", _("Masqué")

    wall_status = models.CharField(
        _("mur des donateurs"), max_length=10, choices=WallStatus.choices, default=WallStatus.PENDING
    )
    wall_decided_at = models.DateTimeField(_("modéré le"), null=True, blank=True)

    class Meta(Payment.Meta):
        verbose_name = _("don")
        verbose_name_plural = _("dons")
        indexes = [models.Index(fields=["campaign", "wall_status"], name="gift_wall")]
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gte=100), name="gift_amount_at_least_one_euro"),
            # A tip is never more than the gift itself (checkout.services.orders.gift_start has the finer bound).
            models.CheckConstraint(condition=Q(tip_cents__lte=models.F("amount_cents")), name="gift_tip_within_amount"),
            # A requested receipt always has every mention Cerfa 11580*05 needs of the giver.
            models.CheckConstraint(
                condition=Q(receipt_requested=False)
                | (
                    ~Q(receipt_first_name="")
                    & ~Q(receipt_last_name="")
                    & ~Q(receipt_address_line1="")
                    & ~Q(receipt_postal_code="")
                    & ~Q(receipt_city="")
                    & ~Q(receipt_country="")
                ),
                name="gift_receipt_details_complete",
            ),
            *Payment.Meta.constraints,
        ]

    def __str__(self) -> str:
        return f"don {self.pk} ({self.status})"


class RecurringGift(models.Model):
    """A monthly gift: the giver's commitment (the provider's subscription). Each
    month's charge is a ``Gift`` of its own (``charges``): paid, credited, thanked
    and receipted as any gift, the receipts once a year. The giver changes the
    amount or stops it from their space or from the signed link of every email,
    no account needed. Its status moves by RECURRING_TRANSITIONS (checkout.services.states)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("En attente du premier paiement")
        ACTIVE = "active", _("Actif")
        STOPPED = "stopped", _("Arrêté")

    class Interval(models.TextChoices):
        MONTH = "month", _("Tous les mois")

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="recurring_gifts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="recurring_gifts"
    )
    email = models.EmailField(_("e-mail"))
    # The amount of the next charges (a change applies from the next one).
    amount_cents = models.PositiveIntegerField(_("montant mensuel (centimes)"))
    currency = models.CharField(max_length=3, default=CURRENCY, editable=False)
    interval = models.CharField(max_length=10, choices=Interval.choices, default=Interval.MONTH)
    status = models.CharField(
        _("statut"), max_length=10, choices=Status.choices, default=Status.PENDING, editable=False
    )
    name = models.CharField(_("nom"), max_length=120, blank=True)
    anonymous = models.BooleanField(_("anonyme"), default=False)
    message = models.TextField(_("message"), max_length=1000, blank=True)
    # Copied to each charge: the receipt is issued to them (as Gift's fields).
    receipt_requested = models.BooleanField(_("reçu fiscal demandé"), default=False)
    receipt_first_name = models.CharField(max_length=150, blank=True)
    receipt_last_name = models.CharField(max_length=150, blank=True)
    receipt_address_line1 = models.CharField(max_length=200, blank=True)
    receipt_address_line2 = models.CharField(max_length=200, blank=True)
    receipt_postal_code = models.CharField(max_length=20, blank=True)
    receipt_city = models.CharField(max_length=100, blank=True)
    receipt_country = models.CharField(max_length=2, blank=True)
    provider = models.CharField(max_length=10)
    provider_subscription_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    language = models.CharField(max_length=8, default="fr")
    # The secret of the giver's management link (signed, in every charge's email).
    token = models.CharField(max_length=32, unique=True, default=new_claim_token, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(_("arrêté le"), null=True, blank=True)
    # Who stopped it: "giver", "provider" (the provider gave up after its retries, or its dashboard).
    stopped_by = models.CharField(max_length=10, blank=True)
    last_paid_at = models.DateTimeField(_("dernier prélèvement"), null=True, blank=True)
    # Failed charges (the provider retries them): shown to managers while no charge succeeded since.
    failed_charges = models.PositiveIntegerField(default=0)
    last_failed_at = models.DateTimeField(_("dernier prélèvement échoué"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # How many times the giver changed the amount: each change's idempotency key at the provider.
    amount_changes = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("don mensuel")
        verbose_name_plural = _("dons mensuels")
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gte=100), name="recurring_amount_at_least_one_euro"),
            models.CheckConstraint(condition=Q(currency="EUR"), name="recurring_currency_eur"),
        ]

    def __str__(self) -> str:
        return f"don mensuel {self.pk} ({self.status})"

    @property
    def failing(self) -> bool:
        """A charge failed and none succeeded since (the provider is retrying, or gave up)."""
        return self.last_failed_at is not None and (
            self.last_paid_at is None or self.last_paid_at < self.last_failed_at
        )


# A monthly gift starts with its first payment and stops once (by its giver, or by the
# provider after its retries); nothing restarts it: a new one is a new commitment.
RECURRING_TRANSITIONS: dict[str, frozenset[str]] = {
    RecurringGift.Status.PENDING: frozenset({RecurringGift.Status.ACTIVE, RecurringGift.Status.STOPPED}),
    RecurringGift.Status.ACTIVE: frozenset({RecurringGift.Status.STOPPED}),
    RecurringGift.Status.STOPPED: frozenset(),
}


class Refund(models.Model):
    """A refund a manager asked for (whole or partial, with a reason), sent to
    the provider with an idempotency key derived from this row. The ledger
    follows when the provider confirms (``charge.refunded``)."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Demandé")
        SENT = "sent", _("Envoyé")
        FAILED = "failed", _("Échoué")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds")
    # One line of an order (its item's price, or part of it); empty: the order as a whole.
    line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds")
    # One part of an order (its lines in turn, then, when the refund covers it, its shipping).
    fulfilment = models.ForeignKey(Fulfilment, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds")
    gift = models.ForeignKey(Gift, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds")
    amount_cents = models.PositiveIntegerField(_("montant (centimes)"))
    reason = models.CharField(_("motif"), max_length=300)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    provider_refund_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)
        verbose_name = _("remboursement")
        verbose_name_plural = _("remboursements")
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=(Q(order__isnull=False) & Q(gift__isnull=True))
                | (Q(order__isnull=True) & Q(gift__isnull=False)),
                name="refund_for_order_or_gift",
            ),
            models.CheckConstraint(
                condition=Q(line__isnull=True) | Q(order__isnull=False), name="refund_line_of_order"
            ),
            models.CheckConstraint(
                condition=Q(fulfilment__isnull=True) | (Q(order__isnull=False) & Q(line__isnull=True)),
                name="refund_fulfilment_of_order",
            ),
        ]

    def __str__(self) -> str:
        return f"remboursement {self.pk} ({self.amount_cents})"


REFUND_TRANSITIONS: dict[str, frozenset[str]] = {
    Refund.Status.REQUESTED: frozenset({Refund.Status.SENT, Refund.Status.FAILED}),
    Refund.Status.SENT: frozenset(),
    Refund.Status.FAILED: frozenset(),
}


# The ``provider`` of an order or a gift recorded at the shop counter: money the organisation
# already holds (cash, a cheque, its own card terminal), never charged nor transferred by Stripe.
COUNTER_PROVIDER = "counter"


class CounterEntry(models.Model):
    """A sale or a gift a manager recorded at the shop counter (checkout.services.counter):
    the order of one line or the gift it made (provider ``counter``, paid and, for a sale,
    handed over at once), how the money was handed over, and by whom. A mistaken entry is
    cancelled, never deleted: ``cancelled_at`` is set once (a conditional UPDATE) with a reason."""

    class Kind(models.TextChoices):
        SALE = "sale", _("Vente d'un objet du catalogue")
        LINE = "line", _("Vente hors catalogue")
        GIFT = "gift", _("Don")

    class Means(models.TextChoices):
        CASH = "cash", _("Espèces")
        CHEQUE = "cheque", _("Chèque")
        CARD = "card", _("Carte (terminal de la boutique)")

    organisation = models.ForeignKey("campaigns.Organisation", on_delete=models.PROTECT, related_name="counter_entries")
    order = models.OneToOneField(Order, on_delete=models.PROTECT, null=True, blank=True, related_name="counter_entry")
    gift = models.OneToOneField(Gift, on_delete=models.PROTECT, null=True, blank=True, related_name="counter_entry")
    kind = models.CharField(_("type"), max_length=5, choices=Kind.choices)
    means = models.CharField(_("moyen de paiement"), max_length=10, choices=Means.choices)
    cheque_number = models.CharField(_("numéro de chèque"), max_length=20, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(_("saisi le"))
    # The counter's day (local date of ``recorded_at``): the daily summary groups by it.
    day = models.DateField(_("journée"))
    cancelled_at = models.DateTimeField(_("annulé le"), null=True, blank=True)
    cancellation_reason = models.CharField(_("motif d'annulation"), max_length=300, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ("recorded_at", "id")
        verbose_name = _("saisie au comptoir")
        verbose_name_plural = _("saisies au comptoir")
        indexes = [models.Index(fields=["organisation", "day"], name="counter_entry_org_day")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(order__isnull=False) & Q(gift__isnull=True))
                | (Q(order__isnull=True) & Q(gift__isnull=False)),
                name="counter_entry_for_order_or_gift",
            ),
            models.CheckConstraint(
                condition=(Q(kind="gift") & Q(gift__isnull=False)) | (~Q(kind="gift") & Q(order__isnull=False)),
                name="counter_entry_kind_matches",
            ),
            # A cheque has its number; nothing else has one.
            models.CheckConstraint(
                condition=(Q(means="cheque") & ~Q(cheque_number="")) | (~Q(means="cheque") & Q(cheque_number="")),
                name="counter_entry_cheque_number",
            ),
            models.CheckConstraint(
                condition=Q(cancelled_at__isnull=True, cancellation_reason="")
                | (Q(cancelled_at__isnull=False) & ~Q(cancellation_reason="")),
                name="counter_entry_cancellation_recorded",
            ),
        ]

    def __str__(self) -> str:
        return f"comptoir {self.pk} ({self.means})"


class WithdrawalStatus(models.TextChoices):
    REQUESTED = "requested", _("Demandée")
    RECEIVED = "received", _("Objet rendu, remboursé")
    CANCELLED = "cancelled", _("Close sans retour")


# A withdrawal waits for its objects; once they are back (or never will be) it is closed for good.
WITHDRAWAL_TRANSITIONS: dict[str, frozenset[str]] = {
    WithdrawalStatus.REQUESTED: frozenset({WithdrawalStatus.RECEIVED, WithdrawalStatus.CANCELLED}),
    WithdrawalStatus.RECEIVED: frozenset(),
    WithdrawalStatus.CANCELLED: frozenset(),
}


class Withdrawal(models.Model):
    """A buyer's withdrawal from a distance sale (droit de rétractation): some lines of a
    delivered parcel, asked within WITHDRAWAL_DAYS of its delivery. The buyer sends the
    objects back; the organisation confirms it has them, and they are refunded
    (checkout.services.withdrawals). While it is open, those lines' sale is not final: no
    seller's receipt; closed without a return, their return period starts again."""

    fulfilment = models.ForeignKey(Fulfilment, on_delete=models.PROTECT, related_name="withdrawals")
    lines = models.ManyToManyField(OrderLine, related_name="withdrawals")
    status = models.CharField(max_length=10, choices=WithdrawalStatus.choices, default=WithdrawalStatus.REQUESTED)
    reason = models.CharField(_("motif (facultatif)"), max_length=500, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        ordering = ("id",)
        verbose_name = _("rétractation")
        verbose_name_plural = _("rétractations")

    def __str__(self) -> str:
        return f"rétractation {self.pk} ({self.status})"
