"""Websocket routes under /ws/: the live-update streams."""

from __future__ import annotations

from django.urls import path

from realtime import consumers

websocket_urlpatterns = [
    path("ws/items/<int:pk>/", consumers.ItemStreamConsumer.as_asgi()),
    path("ws/campaigns/<slug:slug>/", consumers.CampaignStreamConsumer.as_asgi()),
    path("ws/windows/<int:pk>/", consumers.WindowStreamConsumer.as_asgi()),
    path("ws/dashboard/", consumers.DashboardConsumer.as_asgi()),
]
