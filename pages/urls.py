from django.urls import path

from kernel.urls import moved
from pages import dashboard, manage_home, views

app_name = "pages"

urlpatterns = [
    path("", views.home, name="home"),
    path("campagnes/<slug:slug>/", views.campaign_detail, name="campaign"),
    path("objets/<int:pk>/", views.item_detail, name="item"),
    path("gestion/tableau-de-bord/", dashboard.dashboard, name="dashboard"),
    path("gestion/", manage_home.manage_home, name="manage"),
    # The managers' home's English address, before the public pages got French paths.
    path("manage/", moved("pages:manage")),
    path("mentions-legales/", views.legal_notice, name="legal-notice"),
    path("conditions/", views.terms, name="terms"),
    path("confidentialite/", views.privacy, name="privacy"),
]
