from django.urls import path

from delivery import api, views

app_name = "delivery"

urlpatterns = [
    path("demo/track/", views.demo_track, name="demo-track"),
]

# The JSON endpoints, mounted under /api/ by tremma/urls.py (outside the "delivery" namespace, as the API's names are).
api_urlpatterns = [
    path("delivery/relay-points/", api.RelayPointsView.as_view(), name="relay-points"),
]
