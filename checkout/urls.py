from django.urls import path, re_path

from checkout import api, basket, counter, manage_orders, manage_wall, parcels, parcels_api, recurring_views, views
from kernel.api import ID_IN_URL, SLUG_IN_URL
from kernel.urls import moved

app_name = "checkout"

urlpatterns = [
    path("paiement/merci/", views.checkout_success, name="success"),
    path("paiement/annule/", views.checkout_cancel, name="cancel"),
    path("objets/<int:pk>/acheter/", views.item_buy, name="item-buy"),
    # The basket (checkout/basket.py): several objects, one payment.
    path("panier/", basket.basket_page, name="basket"),
    path("panier/ajouter/<int:pk>/", basket.basket_add, name="basket-add"),
    path("panier/retirer/<int:pk>/", basket.basket_remove, name="basket-remove"),
    path("panier/annuler/", basket.basket_cancel, name="basket-cancel"),
    path("campagnes/<slug:slug>/donner/", views.campaign_give, name="campaign-give"),
    path("dons/mensuel/<str:signed>/", recurring_views.recurring_manage, name="recurring-manage"),
    path("retrait/<slug:token>/", views.claim, name="claim"),
    path("retrait/<slug:token>/qr.svg", views.claim_qr, name="claim-qr"),
    path("retrait/<slug:token>/remise/", views.hand_over, name="hand-over"),
    # Parcels after the payment (checkout/parcels.py): the senders' pages, a label, the buyer's withdrawal.
    path("retrait/<slug:token>/retractation/", parcels.withdrawal_page, name="withdrawal"),
    path("gestion/colis/", parcels.parcels_page, name="parcels"),
    path("gestion/colis/<int:pk>/etiquette.pdf", parcels.parcel_label, name="parcel-label"),
    path("mon-compte/colis/", parcels.giver_parcels_page, name="giver-parcels"),
    # The managers' orders and gifts (checkout/manage_orders.py).
    path("gestion/commandes/", manage_orders.orders_list, name="manage-orders"),
    path("gestion/commandes/export.csv", manage_orders.orders_csv, name="manage-orders-csv"),
    path("gestion/commandes/commande/<int:pk>/", manage_orders.order_detail, name="manage-order"),
    path("gestion/commandes/don/<int:pk>/", manage_orders.gift_detail, name="manage-gift"),
    path("gestion/retraits/", views.pickups, name="pickups"),
    # The donor wall's moderation (checkout/manage_wall.py).
    path("gestion/mur/", manage_wall.wall_moderation, name="manage-wall"),
    path("gestion/mur/<int:pk>/<slug:decision>/", manage_wall.wall_decide, name="manage-wall-decide"),
    # The shop counter: sales and gifts taken there (checkout/counter.py).
    path("gestion/caisse/", counter.counter_index, name="counter-index"),
    path("gestion/caisse/<slug:slug>/", counter.counter, name="counter"),
    path("gestion/caisse/<slug:slug>/journee/", counter.counter_summary, name="counter-day"),
    path("gestion/caisse/<slug:slug>/journee.csv", counter.counter_summary_csv, name="counter-day-csv"),
    path("gestion/caisse/<slug:slug>/saisies/<int:pk>/annuler/", counter.counter_entry_cancel, name="counter-cancel"),
]

# The JSON endpoints, mounted under /api/ by tremma/urls.py (outside the "checkout" namespace, as the API's names are).
api_urlpatterns = [
    re_path(rf"^items/(?P<pk>{ID_IN_URL})/checkout/$", api.ItemCheckoutView.as_view(), name="item-checkout"),
    re_path(rf"^campaigns/(?P<slug>{SLUG_IN_URL})/gifts/$", api.CampaignGiftView.as_view(), name="campaign-gifts"),
    path("orders/", api.OrderCreateView.as_view(), name="orders"),
    path("delivery/quote/", api.DeliveryQuoteView.as_view(), name="delivery-quote"),
    re_path(rf"^orders/(?P<pk>{ID_IN_URL})/$", parcels_api.OrderDetailView.as_view(), name="order-detail"),
    path("orders/<int:pk>/hand-over/", api.OrderHandOverView.as_view(), name="order-hand-over"),
    path("orders/<int:pk>/refund/", api.OrderRefundView.as_view(), name="order-refund"),
    path("gifts/<int:pk>/refund/", api.GiftRefundView.as_view(), name="gift-refund"),
]

# Where these pages were before (issue 15 gave every public page a French path): links in
# sent emails, a provider's pending return address or a page left open still arrive.
moved_urlpatterns = [
    path("payments/merci/", moved("checkout:success")),
    path("payments/annule/", moved("checkout:cancel")),
    path("payments/objets/<int:pk>/acheter/", moved("checkout:item-buy")),
    path("payments/campagnes/<slug:slug>/donner/", moved("checkout:campaign-give")),
]
