from django.contrib import admin

from kernel.admin import ReadOnlyAdmin
from payments.models import ProviderEvent


@admin.register(ProviderEvent)
class ProviderEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "provider", "type", "payment_id", "received_at", "processed_at")
    list_filter = ("provider", "type")
    search_fields = ("event_id", "payment_id")
