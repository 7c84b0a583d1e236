"""Forms of the tax receipts' pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class ReceiptPreferenceForm(forms.Form):
    """A giver's choice: one receipt per gift, or one yearly receipt per organisation (sent in January)."""

    consolidated = forms.TypedChoiceField(
        label=_("Mes reçus fiscaux"),
        choices=[
            ("false", _("Un reçu pour chaque don, dès qu'il est reçu")),
            ("true", _("Un seul reçu par organisation et par an, envoyé en janvier")),
        ],
        coerce=lambda value: value == "true",
        widget=forms.RadioSelect,
    )
