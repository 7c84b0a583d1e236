from django.urls import path

from news import views

app_name = "news"

urlpatterns = [
    path("gestion/campagnes/<slug:slug>/nouvelles/", views.manage_news, name="manage"),
    path("nouvelles/desabonnement/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
