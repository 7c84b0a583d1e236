from django.contrib import admin

from news.models import Delivery, Subscription, Update


@admin.register(Update)
class UpdateAdmin(admin.ModelAdmin):
    list_display = ("title", "campaign", "created_at", "dispatched_at")
    list_filter = ("campaign__organisation",)
    search_fields = ("title", "campaign__title")
    readonly_fields = ("campaign", "author", "image", "fallback", "renditions", "created_at", "dispatched_at")


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("email", "campaign", "consented_at", "unsubscribed_at")
    search_fields = ("email",)
    readonly_fields = ("campaign", "email", "language", "consented_at", "unsubscribed_at")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("update", "subscription", "sent_at")
    readonly_fields = ("update", "subscription", "claimed_until", "sent_at")
