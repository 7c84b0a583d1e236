"""Account pages: sign-up, profile, data export, deletion. Sign-in, sign-out
and password reset are Django's own views with our templates (accounts/urls.py)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from accounts import services
from accounts.forms import DeleteAccountForm, ProfileForm, SignUpForm
from accounts.models import User
from accounts.selectors import user_data_export
from campaigns.selectors import memberships_of


@require_http_methods(["GET", "POST"])
def sign_up(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("accounts:profile")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.user_sign_up(**form.cleaned_data)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Bienvenue ! Votre compte est créé."))
        return redirect("accounts:profile")
    return render(request, "frontend/accounts/sign_up.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = ProfileForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        services.user_update_profile(user=user, changes=changes)
        messages.success(request, _("Votre profil est enregistré."))
        return redirect("accounts:profile")
    context = {"form": form, "memberships": memberships_of(user)}
    return render(request, "frontend/accounts/profile.html", context, status=400 if form.errors else 200)


@login_required
@require_safe
def export(request: HttpRequest) -> HttpResponse:
    data = user_data_export(user=request.user)  # type: ignore[arg-type]
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="tremma-mes-donnees.json"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = DeleteAccountForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        services.user_delete(user=user)
        logout(request)
        return redirect("accounts:deleted")
    return render(request, "frontend/accounts/delete.html", {"form": form}, status=400 if form.errors else 200)


@require_safe
def deleted(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/accounts/deleted.html")
