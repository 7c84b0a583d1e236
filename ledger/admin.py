from django.contrib import admin

from kernel.admin import ReadOnlyAdmin
from ledger.models import LedgerEntry, PaymentFee, Transfer, TransferReversal


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "account",
        "campaign",
        "kind",
        "reason",
        "amount_cents",
        "order",
        "gift",
        "provider_event_id",
    )
    list_filter = ("account", "kind", "reason", "organisation")
    search_fields = ("key", "provider_event_id")


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "organisation", "provider_transfer_id", "amount_cents", "order", "gift")
    list_filter = ("provider", "organisation")
    search_fields = ("provider_transfer_id",)


@admin.register(TransferReversal)
class TransferReversalAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "transfer", "provider_reversal_id", "amount_cents", "key")
    search_fields = ("provider_reversal_id", "key", "transfer__provider_transfer_id")


@admin.register(PaymentFee)
class PaymentFeeAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "organisation", "provider_balance_id", "amount_cents", "order", "gift")
    list_filter = ("provider", "organisation")
    search_fields = ("provider_balance_id",)
