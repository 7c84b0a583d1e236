"""The money books: the ledger of campaigns (and of the platform's own
accounts), the transfers to organisations and their reversals, the provider's
fees. The tables kept the names they had in campaigns and payments."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kernel.money import CURRENCY


class LedgerEntry(models.Model):
    """Append-only money movement of a campaign: a credit when a payment is
    received, a debit on a refund or a dispute. Totals shown anywhere come from
    here. ``provider_event_id`` and ``key`` are unique, so a replayed event or
    a second event about the same payment can never count twice.

    ``account`` says whose money it is: a campaign's (the default: campaign and
    organisation set), or one of the platform's own accounts (shipping, tips,
    fees: no campaign, no organisation), which no campaign total, backer count,
    organisation balance or statement counts."""

    class Kind(models.TextChoices):
        CREDIT = "credit", _("Crédit")
        DEBIT = "debit", _("Débit")

    class Account(models.TextChoices):
        CAMPAIGN = "campaign", _("Campagne")
        PLATFORM_SHIPPING = "platform_shipping", _("Plateforme : frais de port")
        PLATFORM_TIPS = "platform_tips", _("Plateforme : pourboires")
        PLATFORM_FEES = "platform_fees", _("Plateforme : frais")

    account = models.CharField(max_length=20, choices=Account.choices, default=Account.CAMPAIGN)
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )
    organisation = models.ForeignKey(
        "campaigns.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )

    class Reason(models.TextChoices):
        PAYMENT = "payment", _("Paiement")
        REFUND = "refund", _("Remboursement")
        DISPUTE = "dispute", _("Litige")
        DISPUTE_WON = "dispute_won", _("Litige gagné")
        # A partner's payment of its matchfunding pledge, received by the organisation itself.
        PLEDGE = "pledge", _("Abondement reçu")

    kind = models.CharField(max_length=6, choices=Kind.choices)
    reason = models.CharField(max_length=12, choices=Reason.choices)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default=CURRENCY, editable=False)
    order = models.ForeignKey(
        "donations.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )
    # The line of the order the entry is about (a basket credits each item's campaign on its own line).
    order_line = models.ForeignKey(
        "donations.OrderLine", on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )
    gift = models.ForeignKey(
        "donations.Gift", on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )
    # A partner's payment of its pledge: money the organisation received directly (transfer or
    # cheque), never through the provider, so never transferred and never in the balance owed to it.
    pledge = models.ForeignKey(
        "campaigns.Pledge", on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )
    # What the entry stands for, e.g. "order:12:line:14:credit" or "gift:3:refund:500" (cumulative refunded
    # amount). Unique: the database refuses to count anything twice.
    key = models.CharField(max_length=120, unique=True)
    # The provider event that caused it: one event writes one entry per line of a basket, and
    # no more (the constraints below).
    provider_event_id = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "campaigns_ledgerentry"
        ordering = ("id",)
        verbose_name = _("écriture")
        verbose_name_plural = _("écritures")
        indexes = [models.Index(fields=["campaign", "kind"], name="ledger_campaign_kind")]
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="ledger_amount_positive"),
            models.CheckConstraint(condition=Q(currency="EUR"), name="ledger_currency_eur"),
            # About exactly one payment: an order, a gift, or a partner's payment of its pledge.
            models.CheckConstraint(
                condition=Q(order__isnull=False, gift__isnull=True, pledge__isnull=True)
                | Q(order__isnull=True, gift__isnull=False, pledge__isnull=True)
                | Q(order__isnull=True, gift__isnull=True, pledge__isnull=False, reason="pledge"),
                name="ledger_entry_for_one_payment",
            ),
            # A campaign's money has its campaign and organisation; the platform's has neither.
            # One event counts once: once per line of an order, once per account for anything else
            # (a tipped gift's payment credits its campaign and the platform's tips, once each).
            models.UniqueConstraint(
                fields=["provider_event_id", "account"],
                condition=Q(order_line__isnull=True),
                name="ledger_event_once_per_account",
            ),
            models.UniqueConstraint(
                fields=["provider_event_id", "order_line"],
                condition=Q(order_line__isnull=False),
                name="ledger_event_once_per_line",
            ),
            # A campaign's entry about an order names its line.
            models.CheckConstraint(
                condition=~Q(account="campaign") | Q(order__isnull=True) | Q(order_line__isnull=False),
                name="ledger_order_entry_has_line",
            ),
            models.CheckConstraint(
                condition=Q(account="campaign", campaign__isnull=False, organisation__isnull=False)
                | (~Q(account="campaign") & Q(campaign__isnull=True, organisation__isnull=True)),
                name="ledger_account_campaign",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_cents} ({self.key})"


def _for_order_or_gift(name: str) -> models.CheckConstraint:
    """A row about exactly one payment: an order or a gift, never both, never neither."""
    return models.CheckConstraint(
        condition=(models.Q(order__isnull=False) & models.Q(gift__isnull=True))
        | (models.Q(order__isnull=True) & models.Q(gift__isnull=False)),
        name=name,
    )


class Transfer(models.Model):
    """Money sent to an organisation's connected account for one paid gift, or
    for its part of one paid order (Connect "separate charges and transfers"), recorded once: the
    provider's id is unique, so a retried send can never count twice."""

    organisation = models.ForeignKey("campaigns.Organisation", on_delete=models.PROTECT, related_name="transfers")
    order = models.ForeignKey(
        "donations.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="transfers"
    )
    # An order's transfers are one per organisation's part of it (all in the order's transfer group).
    fulfilment = models.ForeignKey(
        "donations.Fulfilment", on_delete=models.PROTECT, null=True, blank=True, related_name="transfers"
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
        db_table = "payments_transfer"
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_cents__gt=0), name="transfer_amount_positive"),
            _for_order_or_gift("transfer_for_order_or_gift"),
            models.CheckConstraint(
                condition=Q(order__isnull=True) | Q(fulfilment__isnull=False), name="transfer_order_has_fulfilment"
            ),
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
        db_table = "payments_transferreversal"
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
        db_table = "payments_paymentfee"
        ordering = ("id",)
        constraints = [
            _for_order_or_gift("payment_fee_for_order_or_gift"),
        ]

    def __str__(self) -> str:
        return f"fee {self.amount_cents} ({self.provider_balance_id})"


class PledgeMatch(models.Model):
    """A partner's share of one paid gift under its pledge (campaigns.Pledge), or
    that share taken back (in part or in whole) when the gift is refunded. Kept
    as a ledger is, append-only and unique by ``key``; but it is a promise, never
    money received: no campaign total counts it (the partner's payment, once
    recorded, is a ``LedgerEntry`` of its own). One share per pledge and gift."""

    class Kind(models.TextChoices):
        MATCH = "match", _("Abondement promis")
        TAKEN_BACK = "taken_back", _("Abondement repris")

    pledge = models.ForeignKey("campaigns.Pledge", on_delete=models.PROTECT, related_name="matches")
    gift = models.ForeignKey("donations.Gift", on_delete=models.PROTECT, related_name="pledge_matches")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount_cents = models.PositiveIntegerField()
    # "pledge:3:gift:9:match", "pledge:3:gift:9:taken_back:1500" (the gift's cumulative refund): written once.
    key = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)
        verbose_name = _("part d'abondement")
        verbose_name_plural = _("parts d'abondement")
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="pledge_match_amount_positive"),
            models.CheckConstraint(condition=Q(kind__in=["match", "taken_back"]), name="pledge_match_kind_known"),
            models.UniqueConstraint(
                fields=["pledge", "gift"], condition=Q(kind="match"), name="pledge_match_once_per_gift"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_cents} ({self.key})"
