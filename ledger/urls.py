from django.urls import path, re_path

from kernel.urls import moved
from ledger import views

app_name = "ledger"

MONTH = r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})"

urlpatterns = [
    path("gestion/releves/", views.statement_index, name="statement-index"),
    path("gestion/releves/<slug:slug>/", views.statement_pick, name="statement-pick"),
    re_path(rf"^gestion/releves/(?P<slug>[-a-zA-Z0-9_]+)/{MONTH}/$", views.statement_month, name="statement-month"),
    re_path(
        rf"^gestion/releves/(?P<slug>[-a-zA-Z0-9_]+)/{MONTH}\.csv$",
        views.statement_month_csv,
        name="statement-month-csv",
    ),
    path("gestion/organisations/<slug:slug>/paiements/", views.organisation_payments, name="organisation-payments"),
    path("gestion/campagnes/<slug:slug>/ecritures.csv", views.campaign_ledger_csv, name="campaign-ledger-csv"),
    # The platform's own tips account: its operator only (superusers).
    path("gestion/plateforme/contributions/", views.platform_tips, name="platform-tips"),
    path("gestion/plateforme/contributions.csv", views.platform_tips_csv, name="platform-tips-csv"),
    # Its address until the public pages got French paths.
    path("payments/campagnes/<slug:slug>/ecritures.csv", moved("ledger:campaign-ledger-csv")),
]
