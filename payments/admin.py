from django.contrib import admin

from donations.models import Gift, Order, Refund, Reservation
from ledger.admin import ReadOnlyAdmin
from payments.models import ProviderEvent


@admin.register(ProviderEvent)
class ProviderEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "provider", "type", "payment_id", "received_at", "processed_at")
    list_filter = ("provider", "type")
    search_fields = ("event_id", "payment_id")


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
