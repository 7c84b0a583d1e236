from django.conf import settings
from django.contrib import admin
from django.http import FileResponse, HttpRequest
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

import accounts.schema  # noqa: F401  (registers our session authentication with drf-spectacular)
import frontend.views
import pages.alerts
from accounts.urls import api_urlpatterns as accounts_api
from accounts.views import admin_sign_in
from checkout.urls import api_urlpatterns as checkout_api
from checkout.urls import moved_urlpatterns as checkout_moved
from delivery.urls import api_urlpatterns as delivery_api
from pages.api.alerts import AlertViewSet
from pages.api.campaigns import CampaignViewSet, ManagedCampaignViewSet
from pages.api.items import ItemViewSet
from pages.urls import api_urlpatterns as pages_api
from qr.api import WindowViewSet
from receipts.urls import api_urlpatterns as receipts_api
from tremma.health import healthz


def local_media(request: HttpRequest, path: str) -> FileResponse:
    # MEDIA_ROOT is read per request (not bound at import) so it follows the settings in force.
    return serve(request, path, document_root=str(settings.MEDIA_ROOT))


router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("items", ItemViewSet, basename="item")
router.register("windows", WindowViewSet, basename="window")
router.register("manage/campaigns", ManagedCampaignViewSet, basename="managed-campaign")
router.register("alerts", AlertViewSet, basename="alert")

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Early: Stripe's webhook is the busiest POST of a campaign's burst, and each pattern before it is
    # tried first (nothing else answers under payments/ but the old addresses checkout redirects).
    path("payments/", include("payments.urls")),
    path("favicon.ico", frontend.views.favicon, name="favicon"),
    # Before the admin's own: its sign-in answers 429 past the limits (accounts/backends.py).
    path("admin/login/", admin_sign_in),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file (no inline script under our CSP).
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="frontend/api_docs.html"),
        name="api-docs",
    ),
    # The checkout's endpoints first under api/: a crowd's checkouts are the API's busiest requests,
    # and each pattern tried before theirs costs them (none of the others matches their paths).
    path("api/", include(checkout_api)),
    path("api/", include(accounts_api)),
    path("api/", include(router.urls)),
    path("api/", include(delivery_api)),
    path("comptes/", include("accounts.urls")),
    path("", include("donations.urls")),
    path("", include("receipts.urls")),
    path("", include("pages.campaign_urls")),
    path("api/", include(receipts_api)),
    path("api/", include(pages_api)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("qr.urls")),
    path("", include("checkout.urls")),
    path("", include("news.urls")),
    path("", include("alerts.urls")),
    path("objets/alerte/", pages.alerts.save_search, name="alert-save"),
    path("", include(checkout_moved)),
    path("delivery/", include("delivery.urls")),
    path("", include("ledger.urls")),
    path("", include("campaigns.urls")),
    path("", include("pages.urls")),
]

if not settings.MEDIA_ON_S3:
    # Local media (the embedded default) is served by the app itself so the
    # demo needs nothing else; production puts media on S3.
    urlpatterns += [re_path(r"^media/(?P<path>.*)$", local_media)]

if settings.BENCH_ROUTES:
    from tremma import bench

    urlpatterns = [
        path("__bench__/ping", bench.ping),
        path("__bench__/emit", bench.emit),
        path("__bench__/reserve/<int:pk>/", bench.reserve),
        *urlpatterns,
    ]

handler404 = "frontend.views.not_found"
handler500 = "frontend.views.server_error"
