from django.urls import path

from donations import views

app_name = "donations"

urlpatterns = [
    path("mes-objets/", views.my_items, name="my_items"),
    path("mes-objets/nouveau/", views.post_item, name="post_item"),
    path("mes-objets/<int:pk>/retirer/", views.withdraw_item, name="withdraw_item"),
    path("gestion/relecture/", views.review_queue, name="review_queue"),
    path("gestion/relecture/<int:pk>/accepter/", views.review_item, {"decision": "approve"}, name="approve_item"),
    path("gestion/relecture/<int:pk>/refuser/", views.review_item, {"decision": "reject"}, name="reject_item"),
    path("gestion/dons/<int:pk>/accepter/", views.review_item, {"decision": "accept"}, name="accept_gift"),
    path("gestion/dons/<int:pk>/recu/", views.review_item, {"decision": "receive"}, name="receive_gift"),
]
