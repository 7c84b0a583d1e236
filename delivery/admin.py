from django.contrib import admin

from delivery.models import Shipment, TrackingEvent
from kernel.admin import ReadOnlyAdmin


@admin.register(TrackingEvent)
class TrackingEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "carrier", "tracking_number", "status", "received_at", "processed_at")
    list_filter = ("carrier", "status")
    search_fields = ("event_id", "tracking_number")


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdmin):
    list_display = ("reference", "carrier", "tracking_number", "method", "weight_grams", "status", "final", "polled_at")
    list_filter = ("carrier", "status", "final")
    search_fields = ("reference", "tracking_number")
