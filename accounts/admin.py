from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.forms import AdminEmailAuthenticationForm
from accounts.models import User

# The admin's sign-in counts failures like every other (accounts/backends.py) and says so past the limits.
admin.site.login_form = AdminEmailAuthenticationForm


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "email_verified_at", "is_staff", "date_joined")
    search_fields = ("email", "first_name", "last_name")
    fieldsets = (
        (None, {"fields": ("email", "email_verified_at", "password")}),
        (_("Identité"), {"fields": ("first_name", "last_name")}),
        (_("Adresse"), {"fields": ("address_line1", "address_line2", "postal_code", "city", "country")}),
        (_("Droits"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
