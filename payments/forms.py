"""Forms of the payment pages (the API has its own serializers in payments.api)."""

from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from tremma.money import format_money

_EUROS = re.compile(r"^\s*(\d{1,7})(?:[.,](\d{1,2}))?\s*(?:€)?\s*$")


def euros_to_cents(text: str) -> int | None:
    """``"12"``, ``"12,5"`` or ``"12.50 €"`` → 1250; None when it is not an amount. No float on the way."""
    match = _EUROS.match(text)
    if match is None:
        return None
    units, decimals = match.group(1), (match.group(2) or "").ljust(2, "0")
    return int(units) * 100 + int(decimals)


class BuyForm(forms.Form):
    email = forms.EmailField(label=_("Votre e-mail (pour le reçu et le code de retrait)"), max_length=254)


class GiveForm(forms.Form):
    amount = forms.CharField(label=_("Montant (€)"), max_length=12)
    email = forms.EmailField(label=_("Votre e-mail"), max_length=254)
    name = forms.CharField(label=_("Votre nom (facultatif)"), max_length=120, required=False)
    anonymous = forms.BooleanField(label=_("Ne pas afficher mon nom"), required=False)
    message = forms.CharField(label=_("Un mot (facultatif)"), max_length=1000, required=False, widget=forms.Textarea)

    def clean_amount(self) -> int:
        cents = euros_to_cents(self.cleaned_data["amount"])
        if cents is None:
            raise forms.ValidationError(_("Indiquez un montant en euros, par exemple 20 ou 12,50."))
        if cents < settings.GIFT_MIN_CENTS:
            raise forms.ValidationError(_("Le don minimum est de 1 €."))
        if cents > settings.GIFT_MAX_CENTS:
            raise forms.ValidationError(
                _("Le don en ligne est limité à %(max)s.") % {"max": format_money(settings.GIFT_MAX_CENTS)}
            )
        return cents
