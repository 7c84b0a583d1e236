"""Managers' pages of payments, under /gestion/ beside the other management pages."""

from django.urls import path

from payments import connect_views

app_name = "payments_manage"

urlpatterns = [
    path(
        "gestion/organisations/<slug:slug>/paiements/",
        connect_views.organisation_payments,
        name="organisation-payments",
    ),
]
