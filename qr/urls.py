from django.urls import path, re_path

from qr import api, views

app_name = "qr"

# Codes are matched loosely here (any case, any letter) so that a mistyped or
# unknown code reaches our own 404 page rather than another route.
CODE = r"(?P<code>[A-Za-z0-9]{1,32})"

urlpatterns = [
    re_path(rf"^q/{CODE}$", views.scan, name="scan"),
    re_path(rf"^q/{CODE}\.svg$", views.qr_image, {"fmt": "svg"}, name="qr-svg"),
    re_path(rf"^q/{CODE}\.png$", views.qr_image, {"fmt": "png"}, name="qr-png"),
    path("vitrines/<int:pk>/", views.window_page, name="window"),
    path("windows/<int:pk>/screen/", views.window_screen, name="window-screen"),
    path("windows/<int:pk>/sheet.pdf", views.window_sheet, name="window-sheet"),
    path("windows/<int:pk>/placements/<int:placement_pk>/card.pdf", views.placement_card, name="placement-card"),
    path("gestion/vitrines/", views.manage_windows, name="manage-windows"),
    path("gestion/vitrines/<int:pk>/", views.manage_window, name="manage-window"),
    path("gestion/vitrines/<int:pk>/entonnoir/", views.manage_window_funnel, name="manage-window-funnel"),
    path("api/windows/<int:pk>/funnel/", api.window_funnel, name="api-window-funnel"),
]
