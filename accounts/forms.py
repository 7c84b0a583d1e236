from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.backends import sign_in_locked
from accounts.models import User
from accounts.throttles import too_many_attempts_message
from kernel.countries import CountryField


class _LockedSignInMessage:
    """Past the sign-in limits, say so (the view answers 429) instead of "wrong password"."""

    request: Any

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()  # type: ignore[misc,no-any-return]
        except forms.ValidationError:
            if sign_in_locked(self.request):
                raise forms.ValidationError(too_many_attempts_message(), code="too_many_attempts") from None
            raise


class EmailAuthenticationForm(_LockedSignInMessage, AuthenticationForm):
    """Sign in with the email address, whatever its case."""

    def clean_username(self) -> str:
        return services.normalise_email(self.cleaned_data.get("username") or "")


class AdminEmailAuthenticationForm(_LockedSignInMessage, AdminAuthenticationForm):
    """The admin's sign-in, under the same limits, with the email in any case."""

    def clean_username(self) -> str:
        return services.normalise_email(self.cleaned_data.get("username") or "")


class AnyAccountPasswordResetForm(PasswordResetForm):
    """Django skips accounts without a usable password; ours have none only
    after an owner took their address back by its verification link, and
    the reset is how they choose one. Deleted accounts are inactive."""

    def get_users(self, email: str) -> Iterator[Any]:
        return iter(User.objects.filter(email=services.normalise_email(email), is_active=True))

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        """Not from the request: a task sends it (the link's token is made there, never stored)."""
        services.password_reset_email_enqueue(
            user_id=context["user"].pk,
            subject_template_name=subject_template_name,
            email_template_name=email_template_name,
            html_email_template_name=html_email_template_name,
            domain=context["domain"],
            site_name=context["site_name"],
            protocol=context["protocol"],
            from_email=from_email,
        )


class ResetSetPasswordForm(SetPasswordForm):
    """The new password of a reset, through ``user_password_reset`` (verifies the address, revokes the rest)."""

    def save(self, commit: bool = True) -> Any:
        self.user = services.user_password_reset(user=self.user, new_password=self.cleaned_data["new_password1"])
        return self.user


class SignUpForm(forms.Form):
    email = forms.EmailField(label=_("Adresse e-mail"), max_length=254)
    first_name = forms.CharField(label=_("Prénom"), max_length=150)
    last_name = forms.CharField(label=_("Nom"), max_length=150)
    password = forms.CharField(
        label=_("Mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("10 caractères au moins, ni trop courant ni trop proche de votre nom."),
    )

    def clean_email(self) -> str:
        email = services.normalise_email(self.cleaned_data["email"])
        if User.objects.filter(email=email).exists():
            raise forms.ValidationError(services.EmailTaken.default_detail)
        return email

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if {"email", "password"} <= set(data):
            problems = services.user_password_problems(
                password=data["password"],
                email=data["email"],
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
            )
            for problem in problems:
                self.add_error("password", problem)
        return data


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ("first_name", "last_name", "address_line1", "address_line2", "postal_code", "city", "country")
        labels = {"first_name": _("Prénom"), "last_name": _("Nom")}
        help_texts = {"address_line1": _("Votre adresse figure sur vos reçus fiscaux.")}

    country = CountryField(label=_("Pays"))


class VerifyForm(forms.Form):
    """The verification link opened while not signed in to its account:
    the owner of the address chooses the account's password."""

    new_password1 = forms.CharField(
        label=_("Choisissez votre mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("10 caractères au moins, ni trop courant ni trop proche de votre nom."),
    )
    new_password2 = forms.CharField(
        label=_("Le même, pour confirmer"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("new_password1"), data.get("new_password2")
        if first and second and first != second:
            self.add_error("new_password2", _("Les deux mots de passe ne sont pas identiques."))
        elif first:
            for problem in services.user_password_problems(password=first, email=self.user.email):
                self.add_error("new_password1", problem)
        return data


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        label=_("Votre mot de passe, pour confirmer"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("Mot de passe incorrect."))
        return password
