from django.contrib import admin
from django.http import HttpRequest

from campaigns.models import LedgerEntry
from donations.models import Gift, Order, Refund, Reservation
from payments.models import PaymentFee, ProviderEvent, Transfer, TransferReversal


class ReadOnlyAdmin(admin.ModelAdmin):
    """Money records change only through the services: the admin shows them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


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


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("pk", "item", "email", "amount_cents", "status", "provider", "created_at", "paid_at")
    list_filter = ("status", "provider", "campaign__organisation")
    search_fields = ("email", "claim_code", "provider_session_id", "provider_payment_id")


@admin.register(Gift)
class GiftAdmin(ReadOnlyAdmin):
    list_display = ("pk", "campaign", "email", "name", "amount_cents", "status", "provider", "created_at")
    list_filter = ("status", "provider", "campaign__organisation")
    search_fields = ("email", "name", "provider_session_id", "provider_payment_id")


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = ("item", "order", "status", "expires_at", "released_at")
    list_filter = ("status",)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("pk", "order", "gift", "amount_cents", "status", "actor", "created_at")
    list_filter = ("status",)


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
