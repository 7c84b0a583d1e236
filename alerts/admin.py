from django.contrib import admin

from alerts.models import Alert


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("label", "user", "language", "created_at", "last_sent_at", "unsubscribed_at")
    search_fields = ("label", "user__email")
    readonly_fields = ("user", "filters", "key", "label", "language", "created_at", "watermark", "last_sent_at")
