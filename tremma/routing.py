"""Websocket routes under /ws/: the live-update streams, each with the consumer
of the room that says who may watch it (realtime.consumers.StreamConsumer)."""

from __future__ import annotations

from django.urls import path

from campaigns.live import CampaignStreamConsumer, DashboardConsumer
from donations.live import ItemStreamConsumer
from qr.live import WindowStreamConsumer

websocket_urlpatterns = [
    path("ws/items/<int:pk>/", ItemStreamConsumer.as_asgi()),
    path("ws/campaigns/<slug:slug>/", CampaignStreamConsumer.as_asgi()),
    path("ws/windows/<int:pk>/", WindowStreamConsumer.as_asgi()),
    path("ws/dashboard/", DashboardConsumer.as_asgi()),
]
