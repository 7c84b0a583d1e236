from django.urls import path

from pages import manage_campaigns as views
from pages import manage_pledges

app_name = "campaigns"

urlpatterns = [
    path("gestion/campagnes/", views.campaign_list, name="manage_list"),
    path("gestion/campagnes/nouvelle/", views.campaign_new, name="new"),
    path("gestion/campagnes/<slug:slug>/", views.campaign_edit, name="edit"),
    path("gestion/campagnes/<slug:slug>/publier/", views.campaign_move, {"to": "live"}, name="publish"),
    path("gestion/campagnes/<slug:slug>/cloturer/", views.campaign_move, {"to": "closed"}, name="close"),
    path("gestion/campagnes/<slug:slug>/abondements/", manage_pledges.pledge_list, name="pledges"),
    path("gestion/campagnes/<slug:slug>/abondements/nouveau/", manage_pledges.pledge_new, name="pledge-new"),
    path("gestion/abondements/<int:pk>/", manage_pledges.pledge_edit, name="pledge-edit"),
    path("gestion/abondements/<int:pk>/recu/", manage_pledges.pledge_received, name="pledge-received"),
]
