from django.urls import path

from receipts import api, views

app_name = "receipts"

# The pages (namespace ``receipts:``); the paths are the ones they had under donations.
urlpatterns = [
    path("recus/<str:token>.pdf", views.receipt_pdf, name="receipt-pdf"),
    path("gestion/recus/", views.manage_receipts, name="manage-receipts"),
    path(
        "gestion/recus/<slug:slug>/declaration/<int:year>/",
        views.manage_declaration,
        name="manage-declaration",
    ),
    path(
        "gestion/organisations/<slug:slug>/mentions-legales/",
        views.manage_legal_details,
        name="manage-legal-details",
    ),
]

# The API, included under ``api/`` without a namespace (its names are unchanged).
api_urlpatterns = [
    path("me/receipts/", api.MyReceiptsView.as_view(), name="me-receipts"),
    path("me/receipts/status/", api.MyReceiptsStatusView.as_view(), name="me-receipts-status"),
    path("receipts/<int:pk>/cancel/", api.ReceiptCancelView.as_view(), name="receipt-cancel"),
]
