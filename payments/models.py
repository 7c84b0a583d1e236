from __future__ import annotations

from django.db import models


class ProviderEvent(models.Model):
    """Each event a payment provider sent us, recorded once (unique id) in the
    same transaction as its effects, so a replay is recognised and ignored."""

    provider = models.CharField(max_length=10)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=80)
    payload = models.JSONField(default=dict)
    # The normalised event (payments.gateways.PaymentEvent without its payload), to apply it later.
    event = models.JSONField(default=dict)
    # The provider's payment it is about: a refund or dispute that arrives before
    # its payment waits here (processed_at empty) and is applied once the payment is.
    payment_id = models.CharField(max_length=255, blank=True, db_index=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("id",)
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="provider_event_once")]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_id} {self.type}"


class DemoSession(models.Model):
    """The demo gateway's own books: each checkout it opened, as Stripe keeps
    its sessions. The demo payment page, refunds and fees read these rows,
    never our orders or gifts: the demo provider knows only what it was told."""

    class Status(models.TextChoices):
        OPEN = "open", "open"
        COMPLETE = "complete", "complete"
        EXPIRED = "expired", "expired"

    session_id = models.CharField(max_length=80, unique=True)
    kind = models.CharField(max_length=10)  # our metadata, as Stripe carries it: "order" or "gift"
    object_id = models.BigIntegerField()
    amount_cents = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=300)
    email = models.EmailField(max_length=254)
    success_url = models.URLField(max_length=2000)
    cancel_url = models.URLField(max_length=2000)
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.session_id} {self.kind} {self.object_id} {self.status}"


def _for_order_or_gift(name: str) -> models.CheckConstraint:
    """A row about exactly one payment: an order or a gift, never both, never neither."""
    return models.CheckConstraint(
        condition=(models.Q(order__isnull=False) & models.Q(gift__isnull=True))
        | (models.Q(order__isnull=True) & models.Q(gift__isnull=False)),
        name=name,
    )


class Transfer(models.Model):
    """Money sent to an organisation's connected account for one paid order or
    gift (Connect "separate charges and transfers"), recorded once: the
    provider's id is unique, so a retried send can never count twice."""

    organisation = models.ForeignKey("campaigns.Organisation", on_delete=models.PROTECT, related_name="transfers")
    order = models.ForeignKey(
        "donations.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="transfers"
    )
    gift = models.ForeignKey(
        "donations.Gift", on_delete=models.PROTECT, null=True, blank=True, related_name="transfers"
    )
    provider = models.CharField(max_length=10)
    provider_transfer_id = models.CharField(max_length=255, unique=True)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="EUR", editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_cents__gt=0), name="transfer_amount_positive"),
            _for_order_or_gift("transfer_for_order_or_gift"),
        ]

    def __str__(self) -> str:
        return f"transfer {self.provider_transfer_id} {self.amount_cents}"


class TransferReversal(models.Model):
    """Part of a transfer taken back from the organisation after a refund or a
    lost dispute. ``key`` is the idempotency key sent to the provider (it names
    the cumulative amount reversed), and both it and the provider's id are
    unique: a replayed event or a second worker can never reverse twice."""

    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="reversals")
    provider_reversal_id = models.CharField(max_length=255, unique=True)
    key = models.CharField(max_length=120, unique=True)
    amount_cents = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_cents__gt=0), name="transfer_reversal_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"reversal {self.provider_reversal_id} {self.amount_cents}"


class PaymentFee(models.Model):
    """The provider's fee on one payment, from its balance transaction. The
    platform bears it (see checkout.services.settlements); it is recorded for the
    treasurer, never taken from the organisation. Stripe keeps it when the
    payment is refunded, so the row stays whatever happens to the payment."""

    organisation = models.ForeignKey("campaigns.Organisation", on_delete=models.PROTECT, related_name="payment_fees")
    order = models.OneToOneField(
        "donations.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="provider_fee"
    )
    gift = models.OneToOneField(
        "donations.Gift", on_delete=models.PROTECT, null=True, blank=True, related_name="provider_fee"
    )
    provider = models.CharField(max_length=10)
    # The balance transaction the fee was read from (Stripe txn_…).
    provider_balance_id = models.CharField(max_length=255, unique=True)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="EUR", editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            _for_order_or_gift("payment_fee_for_order_or_gift"),
        ]

    def __str__(self) -> str:
        return f"fee {self.amount_cents} ({self.provider_balance_id})"
