from django.urls import path

from frontend import dashboard, views
from kernel.urls import moved

app_name = "frontend"

urlpatterns = [
    path("", views.home, name="home"),
    path("campagnes/<slug:slug>/", views.campaign_detail, name="campaign"),
    path("objets/<int:pk>/", views.item_detail, name="item"),
    path("gestion/tableau-de-bord/", dashboard.dashboard, name="dashboard"),
    # The managers' home is the live dashboard for now; /manage/ was its English address.
    path("gestion/", moved("frontend:dashboard")),
    path("manage/", moved("frontend:dashboard")),
    path("mentions-legales/", views.legal_notice, name="legal-notice"),
    path("conditions/", views.terms, name="terms"),
    path("confidentialite/", views.privacy, name="privacy"),
]
