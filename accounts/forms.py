from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.models import User


class EmailAuthenticationForm(AuthenticationForm):
    """Sign in with the email address, whatever its case."""

    def clean_username(self) -> str:
        return services.normalise_email(self.cleaned_data.get("username") or "")


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

    def clean_country(self) -> str:
        country = (self.cleaned_data.get("country") or "").strip().upper()
        if len(country) != 2 or not country.isalpha():
            raise forms.ValidationError(_("Un code pays à deux lettres, par exemple FR."))
        return country


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
