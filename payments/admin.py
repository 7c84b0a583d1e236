from django.contrib import admin

from campaigns.models import LedgerEntry
from kernel.admin import ReadOnlyAdmin
from payments.models import PaymentFee, ProviderEvent, Transfer, TransferReversal


@admin.register(ProviderEvent)
class ProviderEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "provider", "type", "payment_id", "received_at", "processed_at")
    list_filter = ("provider", "type")
    search_fields = ("event_id", "payment_id")


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "campaign", "kind", "reason", "amount_cents", "order", "gift", "provider_event_id")
    list_filter = ("kind", "reason", "organisation")
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
