"""Websocket routes under /ws/: the live-update streams, each with the consumer
of the room that says who may watch it (realtime.consumers.StreamConsumer).

Only the managers' dashboard needs to know who is connected: it alone goes
through the session and authentication middleware. The public streams (an
item, a campaign, a window) skip it: Channels' session wrapper reads the
session at every message a socket is sent, a cost paid once per socket for
every live event (``make bench``, fan-out)."""

from __future__ import annotations

from channels.auth import AuthMiddlewareStack
from django.urls import path

from campaigns.live import CampaignStreamConsumer, DashboardConsumer
from donations.live import ItemStreamConsumer
from qr.live import WindowStreamConsumer

websocket_urlpatterns = [
    path("ws/items/<int:pk>/", ItemStreamConsumer.as_asgi()),
    path("ws/campaigns/<slug:slug>/", CampaignStreamConsumer.as_asgi()),
    path("ws/windows/<int:pk>/", WindowStreamConsumer.as_asgi()),
    path("ws/dashboard/", AuthMiddlewareStack(DashboardConsumer.as_asgi())),
]
