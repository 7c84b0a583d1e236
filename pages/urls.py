from django.urls import path

from kernel.urls import moved
from pages import dashboard, views

app_name = "pages"

urlpatterns = [
    path("", views.home, name="home"),
    path("campagnes/<slug:slug>/", views.campaign_detail, name="campaign"),
    path("objets/<int:pk>/", views.item_detail, name="item"),
    path("gestion/tableau-de-bord/", dashboard.dashboard, name="dashboard"),
    # The managers' home is the live dashboard for now; /manage/ was its English address.
    path("gestion/", moved("pages:dashboard")),
    path("manage/", moved("pages:dashboard")),
    path("mentions-legales/", views.legal_notice, name="legal-notice"),
    path("conditions/", views.terms, name="terms"),
    path("confidentialite/", views.privacy, name="privacy"),
]
