from django.urls import path, re_path

from payments import statement_views as views

app_name = "statements"

MONTH = r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})"

urlpatterns = [
    path("", views.statement_index, name="index"),
    path("<slug:slug>/", views.statement_pick, name="pick"),
    re_path(rf"^(?P<slug>[-a-zA-Z0-9_]+)/{MONTH}/$", views.statement_month, name="month"),
    re_path(rf"^(?P<slug>[-a-zA-Z0-9_]+)/{MONTH}\.csv$", views.statement_month_csv, name="month-csv"),
]
