from django.urls import path

from payments import connect_views, views

app_name = "payments"

urlpatterns = [
    path("stripe/webhook/", views.stripe_webhook, name="stripe-webhook"),
    path("stripe/connect/webhook/", connect_views.stripe_connect_webhook, name="stripe-connect-webhook"),
    path("demo/inscription/<str:token>/", connect_views.demo_onboarding, name="demo-onboarding"),
    path("demo/abonnement/<slug:token>/", views.demo_subscription, name="demo-subscription"),
    path("demo/<str:token>/", views.demo_checkout, name="demo-checkout"),
]
