from django.urls import path

from kernel.urls import moved
from pages import account, catalogue, dashboard, manage_home, views
from pages.api import me

app_name = "pages"

urlpatterns = [
    path("", views.home, name="home"),
    path("campagnes/<slug:slug>/", views.campaign_detail, name="campaign"),
    path("campagnes/<slug:slug>/soutiens/", views.campaign_wall, name="campaign-wall"),
    path("objets/", catalogue.catalogue, name="catalogue"),
    path("objets/<int:pk>/", views.item_detail, name="item"),
    path("organisations/<slug:slug>/", catalogue.organisation_shop, name="organisation"),
    path("gestion/tableau-de-bord/", dashboard.dashboard, name="dashboard"),
    path("gestion/", manage_home.manage_home, name="manage"),
    # The managers' home's English address, before the public pages got French paths.
    path("manage/", moved("pages:manage")),
    path("mon-compte/", account.account, name="account"),
    path("mon-compte/recus/choix/", account.receipt_preference, name="account-receipt-preference"),
    path("mon-compte/remettre/", account.hand_over, name="account-hand-over"),
    path("mentions-legales/", views.legal_notice, name="legal-notice"),
    path("conditions/", views.terms, name="terms"),
    path("confidentialite/", views.privacy, name="privacy"),
]

# The JSON endpoints, mounted under /api/ by tremma/urls.py (outside the "pages" namespace, as the API's names are).
api_urlpatterns = [
    path("me/gifts/", me.MyGiftsView.as_view(), name="me-gifts"),
    path("me/orders/", me.MyOrdersView.as_view(), name="me-orders"),
]
