"""The site's routes with the benchmark's own in front (as TREMMA_BENCH=true gives them), for tests
of bench tools that request them through Django's test client."""

from django.urls import path

from tremma import bench
from tremma.urls import urlpatterns as site

urlpatterns = [
    path("__bench__/ping", bench.ping),
    path("__bench__/reserve/<int:pk>/", bench.reserve),
    *site,
]
