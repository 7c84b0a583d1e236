from django.contrib import admin

from donations.models import (
    CounterEntry,
    Fulfilment,
    Gift,
    Order,
    OrderLine,
    RecurringGift,
    Refund,
    Reservation,
    Withdrawal,
)
from kernel.admin import ReadOnlyAdmin


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    fields = ("item", "campaign", "amount_cents", "refunded_cents")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class FulfilmentInline(admin.TabularInline):
    model = Fulfilment
    fields = ("organisation", "claim_code", "handed_over_at", "pickup_expired_at", "transfer_id")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("pk", "email", "amount_cents", "status", "provider", "created_at", "paid_at")
    list_filter = ("status", "provider", "fulfilments__organisation")
    search_fields = ("email", "fulfilments__claim_code", "provider_session_id", "provider_payment_id")
    inlines = (FulfilmentInline, OrderLineInline)


@admin.register(Gift)
class GiftAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "campaign",
        "email",
        "name",
        "amount_cents",
        "tip_cents",
        "status",
        "wall_status",
        "provider",
        "created_at",
    )
    list_filter = ("status", "wall_status", "provider", "campaign__organisation")
    search_fields = ("email", "name", "provider_session_id", "provider_payment_id")


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = ("item", "order", "status", "expires_at", "released_at")
    list_filter = ("status",)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("pk", "order", "gift", "amount_cents", "status", "actor", "created_at")
    list_filter = ("status",)


@admin.register(RecurringGift)
class RecurringGiftAdmin(ReadOnlyAdmin):
    # The signed link's token is a secret of the giver's: never listed.
    list_display = ("pk", "campaign", "email", "amount_cents", "status", "provider", "started_at")
    list_filter = ("status", "provider", "campaign__organisation")
    search_fields = ("email", "name", "provider_subscription_id")
    exclude = ("token",)


@admin.register(CounterEntry)
class CounterEntryAdmin(ReadOnlyAdmin):
    list_display = ("pk", "organisation", "day", "kind", "means", "order", "gift", "recorded_by", "cancelled_at")
    list_filter = ("kind", "means", "organisation")


@admin.register(Withdrawal)
class WithdrawalAdmin(ReadOnlyAdmin):
    """Buyers' withdrawals from parcels (checkout.services.withdrawals): read only, as orders are."""

    list_display = ("pk", "fulfilment", "status", "requested_at", "closed_at")
    list_filter = ("status",)
