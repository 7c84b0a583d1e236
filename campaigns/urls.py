from django.urls import path

from campaigns import views

# Namespace ``organisations:`` (``campaigns:`` names the campaign management pages of pages/).
app_name = "organisations"

urlpatterns = [
    path("gestion/organisations/<slug:slug>/equipe/", views.team_page, name="team"),
    path("gestion/organisations/<slug:slug>/journal/", views.journal, name="journal"),
    path("gestion/organisations/<slug:slug>/boutique/", views.shop_settings, name="shop-settings"),
    path("gestion/invitations/<str:token>/", views.invitation, name="invitation"),
]
