from django.urls import path

from alerts import views

app_name = "alerts"

urlpatterns = [
    path("alertes/desabonnement/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("mon-compte/alertes/<int:alert_id>/supprimer/", views.delete, name="delete"),
]
