from django.urls import path

from payments import connect_views, views

app_name = "payments"

urlpatterns = [
    path("stripe/webhook/", views.stripe_webhook, name="stripe-webhook"),
    path("stripe/connect/webhook/", connect_views.stripe_connect_webhook, name="stripe-connect-webhook"),
    path("demo/inscription/<str:token>/", connect_views.demo_onboarding, name="demo-onboarding"),
    path("demo/<str:token>/", views.demo_checkout, name="demo-checkout"),
    path("merci/", views.checkout_success, name="success"),
    path("annule/", views.checkout_cancel, name="cancel"),
    path("objets/<int:pk>/acheter/", views.item_buy, name="item-buy"),
    path("campagnes/<slug:slug>/donner/", views.campaign_give, name="campaign-give"),
]
