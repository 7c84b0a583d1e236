from __future__ import annotations

from django.db import models


class ProviderEvent(models.Model):
    """Each event a payment provider sent us, recorded once (unique id), so a replay is
    recognised and ignored; applied in one transaction with its effects, which marks it
    processed (in the request for the demo page, by a worker for Stripe's webhook)."""

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
    # What the page lists, as Stripe's page does: [{"description": …, "amount_cents": …}, …] (empty: one line).
    lines = models.JSONField(default=list, blank=True)
    email = models.EmailField(max_length=254)
    success_url = models.URLField(max_length=2000)
    cancel_url = models.URLField(max_length=2000)
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    # "month": a subscription (Stripe's mode "subscription"); empty: one payment.
    interval = models.CharField(max_length=10, blank=True)
    # A subscription's own metadata (our monthly gift), as Stripe's subscription_data carries it.
    subscription_kind = models.CharField(max_length=10, blank=True)
    subscription_object_id = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.session_id} {self.kind} {self.object_id} {self.status}"


class DemoSubscription(models.Model):
    """The demo gateway's books of a subscription opened by a paid demo session: its
    amount (changed as Stripe's would be), its status, and how many months it
    charged. Each charge it plays ("Simuler le prochain prélèvement") goes through
    the same processing as Stripe's ``invoice.paid`` or ``invoice.payment_failed``."""

    class Status(models.TextChoices):
        ACTIVE = "active", "active"
        CANCELED = "canceled", "canceled"

    subscription_id = models.CharField(max_length=80, unique=True)
    session = models.OneToOneField(DemoSession, on_delete=models.PROTECT, related_name="subscription")
    kind = models.CharField(max_length=10)  # our metadata: "recurring"
    object_id = models.BigIntegerField()
    amount_cents = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    # Invoices issued so far (each month's, paid or failed): the next one is number ``invoices + 1``.
    invoices = models.PositiveIntegerField(default=0)
    # The number of an invoice whose charge failed and is retried next (as Stripe retries it), or 0.
    retrying_invoice = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.kind} {self.object_id} {self.status}"
