"""Account pages: sign-up, email verification, profile, data export, deletion.
Sign-in, sign-out and password reset are Django's own views with our
templates and forms (accounts/urls.py), answering 429 past the limits."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.serializers.json import DjangoJSONEncoder
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import requests, services
from accounts.backends import sign_in_locked
from accounts.forms import DeleteAccountForm, ProfileForm, SignUpForm, VerifyForm
from accounts.models import User
from accounts.selectors import memberships_of, user_data_export
from accounts.throttles import RESET, VERIFY, TooManyAttempts, attempt_check_and_count

BACKEND = "accounts.backends.ThrottledModelBackend"


@require_http_methods(["GET", "POST"])
def sign_up(request: HttpRequest) -> HttpResponse:
    # Where to go afterwards (an invitation's page, say): a path of this site only.
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    if request.user.is_authenticated:
        return redirect(next_url or "accounts:profile")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.user_sign_up(**form.cleaned_data)
        login(request, user, backend=BACKEND)
        messages.success(
            request,
            _(
                "Bienvenue ! Votre compte est créé. "
                "Regardez vos e-mails : un lien vous attend pour confirmer votre adresse."
            ),
        )
        return redirect(next_url or "accounts:profile")
    context = {"form": form, "next": next_url}
    return render(request, "accounts/sign_up.html", context, status=400 if form.errors else 200)


class SignInView(auth_views.LoginView):
    """Django's sign-in page; past the limits it says so, with status 429."""

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if sign_in_locked(self.request):
            response.status_code = 429
        return response


def admin_sign_in(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    """The admin's sign-in page (same form rules as ours), answering 429 past the limits."""
    response = admin.site.login(request)
    if sign_in_locked(request):
        response.status_code = 429
    return response


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset page; the emails it sends are limited per address and per client."""

    def form_valid(self, form: Form) -> HttpResponse:
        try:
            attempt_check_and_count(scope=RESET, request=self.request, email=form.cleaned_data["email"])
        except TooManyAttempts as refused:
            form.add_error("email", str(refused.detail))
            response = self.form_invalid(form)
            response.status_code = 429
            return response
        return super().form_valid(form)


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest, token: str) -> HttpResponse:
    """The link of the verification email. Signed in to its account: one
    button, nothing else changes. Otherwise the owner of the address takes
    the account over from scratch and chooses its password
    (``services.user_email_verify``)."""
    signed_in = requests.signed_in(request)
    try:
        user = services.user_for_verification_token(token)
        if signed_in is not None and signed_in.pk != user.pk:
            raise services.VerificationLinkOfAnotherAccount()
    except services.InvalidVerificationLink as error:
        return render(request, "accounts/verify.html", {"problem": error.detail}, status=400)
    form = VerifyForm(request.POST or None, user=user) if signed_in is None else None
    if request.method == "POST" and (form is None or form.is_valid()):
        new_password = form.cleaned_data["new_password1"] if form is not None else None
        try:
            user = services.user_email_verify(token=token, signed_in=signed_in, new_password=new_password)
        except services.InvalidVerificationLink as error:
            return render(request, "accounts/verify.html", {"problem": error.detail}, status=400)
        if signed_in is None:
            login(request, user, backend=BACKEND)
        messages.success(request, _("Merci : votre adresse e-mail est confirmée."))
        return redirect("accounts:profile")
    context = {"form": form, "account": user}
    return render(request, "accounts/verify.html", context, status=400 if form and form.errors else 200)


@login_required
@require_POST
def verify_resend(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not user.email_verified:
        try:
            attempt_check_and_count(scope=VERIFY, request=request, email=user.email)
        except TooManyAttempts as refused:
            return render(request, "accounts/too_many_attempts.html", {"problem": refused.detail}, status=429)
        services.user_email_verification_send(user=user)
        messages.success(request, _("Un nouveau lien vient de partir vers %(email)s.") % {"email": user.email})
    return redirect("accounts:profile")


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
    return render(request, "accounts/profile.html", context, status=400 if form.errors else 200)


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
    return render(request, "accounts/delete.html", {"form": form}, status=400 if form.errors else 200)


@require_safe
def deleted(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/deleted.html")
