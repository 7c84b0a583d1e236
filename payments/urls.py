from django.urls import path

from payments import views

app_name = "payments"

urlpatterns = [
    path("stripe/webhook/", views.stripe_webhook, name="stripe-webhook"),
    path("demo/<str:token>/", views.demo_checkout, name="demo-checkout"),
    path("merci/", views.checkout_success, name="success"),
    path("annule/", views.checkout_cancel, name="cancel"),
    path("objets/<int:pk>/acheter/", views.item_buy, name="item-buy"),
    path("campagnes/<slug:slug>/donner/", views.campaign_give, name="campaign-give"),
    path("campagnes/<slug:slug>/ecritures.csv", views.campaign_ledger_csv, name="campaign-ledger-csv"),
]
