"""Forms of the payment pages (the API has its own serializers in checkout.api)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from kernel.money import euros_to_cents, format_money
from receipts.details import FIELDS, receipt_details_clean

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise


class BuyForm(forms.Form):
    email = forms.EmailField(label=_("Votre e-mail (pour le reçu et le code de retrait)"), max_length=254)


def _receipt_field(label: _StrOrPromise, max_length: int, autocomplete: str, **attrs: str) -> forms.CharField:
    """Optional for the form itself: receipts.details checks them (lengths included, with
    the API's rules and words) only when a receipt is asked for."""
    widget = forms.TextInput(attrs={"maxlength": str(max_length), "autocomplete": autocomplete, **attrs})
    return forms.CharField(label=label, required=False, strip=False, widget=widget)


class GiveForm(forms.Form):
    amount = forms.CharField(
        label=_("Montant (€)"),
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "20"}),
    )
    email = forms.EmailField(
        label=_("Votre e-mail"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    name = forms.CharField(
        label=_("Votre nom (facultatif)"),
        max_length=120,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    anonymous = forms.BooleanField(label=_("Ne pas afficher mon nom"), required=False)
    message = forms.CharField(
        label=_("Un mot (facultatif)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"maxlength": "1000", "rows": "3"}),
    )
    receipt = forms.BooleanField(label=_("Je souhaite un reçu fiscal"), required=False)
    receipt_first_name = _receipt_field(_("Prénoms"), 150, "given-name")
    receipt_last_name = _receipt_field(_("Nom"), 150, "family-name")
    receipt_address_line1 = _receipt_field(_("Adresse"), 200, "address-line1")
    receipt_address_line2 = _receipt_field(_("Complément d'adresse (facultatif)"), 200, "address-line2")
    receipt_postal_code = _receipt_field(_("Code postal"), 12, "postal-code", inputmode="text")
    receipt_city = _receipt_field(_("Ville"), 100, "address-level2")
    receipt_country = _receipt_field(_("Pays (code à deux lettres)"), 2, "country", placeholder="FR")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "give-%s")
        super().__init__(*args, **kwargs)

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                # The message printed above the field is what a screen reader reads with it.
                self.fields[name].widget.attrs["aria-describedby"] = f"give-{name}-error"

    def clean(self) -> dict[str, Any]:
        """The receipt's details count only when "Je souhaite un reçu fiscal" is ticked
        (without JavaScript the fields are always on the page, maybe filled in)."""
        data = super().clean() or {}
        data["receipt_details"] = None
        if not data.get("receipt"):
            return data
        raw = {name: self.data.get(f"receipt_{name}") for name, _max, _required in FIELDS}
        if not (raw["country"] or "").strip():
            raw["country"] = "FR"
        details, errors = receipt_details_clean(raw)
        for name, messages in errors.items():
            for message in messages:
                self.add_error(f"receipt_{name}", message)
        data["receipt_details"] = details
        return data

    def error_messages_labelled(self) -> list[str]:
        """Every error, each after the label of its field (for a list above the form)."""
        return [
            _("%(label)s : %(message)s") % {"label": self.fields[name].label, "message": message}
            if name in self.fields
            else str(message)
            for name, messages in self.errors.items()
            for message in messages
        ]

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


class ClaimCodeForm(forms.Form):
    """The code a buyer reads out at the counter (/gestion/retraits/): case, spaces and dashes
    are forgiven (checkout.services.claim_code_normalise); the view looks the code up."""

    code = forms.CharField(
        label=_("Code de retrait dit par la personne"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false", "maxlength": "40"}
        ),
    )
