from django.urls import path

from donations import receipt_views

app_name = "donations"

urlpatterns = [
    path("recus/<str:token>.pdf", receipt_views.receipt_pdf, name="receipt-pdf"),
    path("gestion/recus/", receipt_views.manage_receipts, name="manage-receipts"),
    path(
        "gestion/recus/<slug:slug>/declaration/<int:year>/",
        receipt_views.manage_declaration,
        name="manage-declaration",
    ),
    path(
        "gestion/organisations/<slug:slug>/mentions-legales/",
        receipt_views.manage_legal_details,
        name="manage-legal-details",
    ),
]
