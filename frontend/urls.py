from django.urls import path

from frontend import dashboard, views

app_name = "frontend"

urlpatterns = [
    path("", views.home, name="home"),
    path("campagnes/<slug:slug>/", views.campaign_detail, name="campaign"),
    path("objets/<int:pk>/", views.item_detail, name="item"),
    path("manage/", dashboard.dashboard, name="dashboard"),
    path("mentions-legales/", views.legal_notice, name="legal-notice"),
    path("conditions/", views.terms, name="terms"),
    path("confidentialite/", views.privacy, name="privacy"),
]
