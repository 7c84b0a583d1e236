from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from tremma.money import CURRENCY


class ItemStatus(models.TextChoices):
    DRAFT = "draft", _("Brouillon")
    IN_REVIEW = "in_review", _("En relecture")
    LISTED = "listed", _("En vente")
    RESERVED = "reserved", _("Réservé")
    SOLD = "sold", _("Vendu")
    HANDED_OVER = "handed_over", _("Remis")
    REJECTED = "rejected", _("Refusé")
    WITHDRAWN = "withdrawn", _("Retiré")


# The item state machine, as data: the one function that moves an item
# (donations.services.item_transition) refuses any move not listed here.
TRANSITIONS: dict[str, frozenset[str]] = {
    ItemStatus.DRAFT: frozenset({ItemStatus.IN_REVIEW, ItemStatus.WITHDRAWN}),
    ItemStatus.IN_REVIEW: frozenset({ItemStatus.LISTED, ItemStatus.REJECTED, ItemStatus.WITHDRAWN, ItemStatus.DRAFT}),
    ItemStatus.LISTED: frozenset({ItemStatus.RESERVED, ItemStatus.WITHDRAWN, ItemStatus.IN_REVIEW}),
    ItemStatus.RESERVED: frozenset({ItemStatus.LISTED, ItemStatus.SOLD}),
    ItemStatus.SOLD: frozenset({ItemStatus.HANDED_OVER, ItemStatus.LISTED, ItemStatus.WITHDRAWN}),
    ItemStatus.HANDED_OVER: frozenset({ItemStatus.LISTED, ItemStatus.WITHDRAWN}),
    ItemStatus.REJECTED: frozenset({ItemStatus.IN_REVIEW}),
    ItemStatus.WITHDRAWN: frozenset(),
}

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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("objet")
        verbose_name_plural = _("objets")
        indexes = [models.Index(fields=["status", "campaign"], name="item_status_campaign")]
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
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("frontend:item", kwargs={"pk": self.pk})


class ItemPhoto(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(_("image"), upload_to="items/")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ("position", "id")
        verbose_name = _("photo")
        verbose_name_plural = _("photos")

    def __str__(self) -> str:
        return f"{self.item_id} #{self.position}"


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
    """A hold on one listed item for one checkout, until ``expires_at``.

    The hold itself is the item's ``reserved`` status (one conditional UPDATE);
    this row says for whom and until when. A partial unique constraint makes a
    second active hold on the same item impossible even if code went wrong."""

    class Status(models.TextChoices):
        HELD = "held", _("En cours")
        CONVERTED = "converted", _("Payée")
        RELEASED = "released", _("Libérée")

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="reservations")
    order = models.OneToOneField("Order", on_delete=models.CASCADE, related_name="reservation")
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
        ]
        constraints = [
            models.UniqueConstraint(fields=["item"], condition=Q(status="held"), name="one_active_hold_per_item"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} → {self.email} ({self.status})"


class PaymentStatus(models.TextChoices):
    """Status of an order or a gift; moves only forward (see donations.services)."""

    PENDING = "pending", _("En attente de paiement")
    PAID = "paid", _("Payé")
    FAILED = "failed", _("Échoué")
    EXPIRED = "expired", _("Expiré")
    REFUNDED = "refunded", _("Remboursé")


class Order(models.Model):
    """A passer-by's purchase of one item (no account needed)."""

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="orders")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="orders")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="orders"
    )
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
    expires_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    refunded_cents = models.PositiveIntegerField(default=0)
    # Why the order was refunded automatically (e.g. paid after its hold expired and the item was sold).
    refund_reason = models.CharField(max_length=40, blank=True)
    refund_id = models.CharField(max_length=255, blank=True)
    claim_code = models.CharField(_("code de retrait"), max_length=12, unique=True)
    # The buyer's language when they bought: their emails are written in it.
    language = models.CharField(max_length=8, default="fr")
    transfer_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("commande")
        verbose_name_plural = _("commandes")
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="order_amount_positive"),
            models.CheckConstraint(condition=Q(currency="EUR"), name="order_currency_eur"),
            models.CheckConstraint(
                condition=Q(refunded_cents__lte=models.F("amount_cents")), name="order_refund_within_amount"
            ),
        ]

    def __str__(self) -> str:
        return f"commande {self.pk} ({self.status})"


class Gift(models.Model):
    """Money given to a campaign; counts only once the payment is confirmed (ledger)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="gifts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="gifts"
    )
    email = models.EmailField(_("e-mail"))
    name = models.CharField(_("nom"), max_length=120, blank=True)
    anonymous = models.BooleanField(_("anonyme"), default=False)
    message = models.TextField(_("message"), max_length=1000, blank=True)
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
    transfer_id = models.CharField(max_length=255, blank=True)
    language = models.CharField(max_length=8, default="fr")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("don")
        verbose_name_plural = _("dons")
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gte=100), name="gift_amount_at_least_one_euro"),
            models.CheckConstraint(condition=Q(currency="EUR"), name="gift_currency_eur"),
            models.CheckConstraint(
                condition=Q(refunded_cents__lte=models.F("amount_cents")), name="gift_refund_within_amount"
            ),
        ]

    def __str__(self) -> str:
        return f"don {self.pk} ({self.status})"


class Refund(models.Model):
    """A refund a manager asked for (whole or partial, with a reason), sent to
    the provider with an idempotency key derived from this row. The ledger
    follows when the provider confirms (``charge.refunded``)."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Demandé")
        SENT = "sent", _("Envoyé")
        FAILED = "failed", _("Échoué")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds")
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
        ]

    def __str__(self) -> str:
        return f"remboursement {self.pk} ({self.amount_cents})"
