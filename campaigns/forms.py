from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from campaigns.models import Campaign, Partner, Pledge
from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may
from kernel.fields import EurosField, LocalDateTimeInput
from kernel.money import CAMPAIGN_GOAL
from kernel.photos import PhotoRefused, PreparedPhoto, prepare_photo


class CampaignForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Titre"), max_length=200)
    summary = forms.CharField(label=gettext_lazy("Résumé"), max_length=300)
    story = forms.CharField(label=gettext_lazy("Histoire"), widget=forms.Textarea, required=False, max_length=20_000)
    goal_cents = EurosField(limits=CAMPAIGN_GOAL, label=gettext_lazy("Objectif en euros"))
    starts_at = forms.DateTimeField(label=gettext_lazy("Début"), widget=LocalDateTimeInput)
    ends_at = forms.DateTimeField(label=gettext_lazy("Fin"), required=False, widget=LocalDateTimeInput)
    cover = forms.FileField(
        label=gettext_lazy("Image de couverture"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )

    def clean_cover(self) -> PreparedPhoto | None:
        upload = self.cleaned_data.get("cover")
        if not upload:
            return None
        try:
            return prepare_photo(upload)
        except PhotoRefused as refused:
            raise forms.ValidationError(refused.message) from refused

    def clean_ends_at(self) -> Any:
        """An end, once set, is moved but never erased: an empty end on a campaign that has one is refused."""
        ends_at = self.cleaned_data.get("ends_at")
        if ends_at is None and self.initial.get("ends_at") is not None:
            raise forms.ValidationError(
                _("Cette campagne a une date de fin : elle ne s'efface pas, vous pouvez la déplacer."),
                code="ends_at_kept",
            )
        return ends_at

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", _("La fin de la campagne doit venir après son début."))
        return data


class NewCampaignForm(CampaignForm):
    organisation = forms.ModelChoiceField(
        label=gettext_lazy("Organisation"), queryset=Campaign.objects.none(), to_field_name="slug"
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations_user_may(user, Permission.CAMPAIGNS)  # type: ignore[attr-defined]
        self.order_fields(["organisation"])


# --- Matchfunding ----------------------------------------------------------------------------------

# La Poste's SIREN is the one that fails the Luhn check (INSEE's rule for SIREN numbers).
_SIREN_OUTSIDE_LUHN = "356000000"


def siren_valid(siren: str) -> bool:
    """Nine ASCII digits passing the Luhn check, as INSEE gives them."""
    if len(siren) != 9 or not siren.isascii() or not siren.isdigit():
        return False
    if siren == _SIREN_OUTSIDE_LUHN:
        return True
    total = 0
    for position, digit in enumerate(int(char) for char in reversed(siren)):
        doubled = digit * 2 if position % 2 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


class PledgeForm(forms.Form):
    """A partner and its pledge to a campaign, as a manager types them (one form: creating and editing)."""

    kind = forms.ChoiceField(label=gettext_lazy("Le partenaire est"), choices=Partner.Kind.choices)
    legal_name = forms.CharField(label=gettext_lazy("Raison sociale"), max_length=200)
    legal_form = forms.CharField(
        label=gettext_lazy("Forme juridique (SAS, SA, fondation…)"), max_length=100, required=False
    )
    siren = forms.CharField(
        label=gettext_lazy("SIREN"), max_length=20, required=False, help_text=gettext_lazy("Neuf chiffres.")
    )
    address_line1 = forms.CharField(label=gettext_lazy("Adresse"), max_length=200)
    address_line2 = forms.CharField(label=gettext_lazy("Complément d'adresse"), max_length=200, required=False)
    postal_code = forms.CharField(label=gettext_lazy("Code postal"), max_length=20)
    city = forms.CharField(label=gettext_lazy("Ville"), max_length=100)
    contact_email = forms.EmailField(label=gettext_lazy("E-mail de contact du partenaire"))
    ratio_percent = forms.IntegerField(
        label=gettext_lazy("Part ajoutée à chaque don, en %"),
        min_value=1,
        max_value=1000,
        initial=100,
        help_text=gettext_lazy("100 : chaque don est doublé ; 50 : la moitié de chaque don est ajoutée."),
    )
    cap_cents = EurosField(limits=CAMPAIGN_GOAL, label=gettext_lazy("Plafond de l'abondement, en euros"))
    ends_on = forms.DateField(
        label=gettext_lazy("Jusqu'au (inclus)"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean_siren(self) -> str:
        siren = "".join(str(self.cleaned_data.get("siren") or "").split())
        if siren and not siren_valid(siren):
            raise forms.ValidationError(_("Ce numéro SIREN n'est pas valide (neuf chiffres)."), code="siren_invalid")
        return siren

    def clean_ends_on(self) -> date:
        ends_on: date = self.cleaned_data["ends_on"]
        unchanged = self.initial.get("ends_on") == ends_on
        if not unchanged and ends_on < timezone.localdate():
            raise forms.ValidationError(_("La date de fin ne peut pas être passée."), code="ends_on_past")
        return ends_on

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == Partner.Kind.COMPANY and "siren" in data and not data["siren"]:
            self.add_error("siren", _("Le SIREN d'une entreprise est obligatoire : il figure sur son reçu."))
        return data

    def partner_details(self) -> dict[str, str]:
        """The partner's fields, cleaned (for ``pledge_create`` and ``pledge_update``)."""
        names = ("kind", "legal_name", "legal_form", "siren", "address_line1", "address_line2", "postal_code", "city")
        return {name: self.cleaned_data[name] for name in (*names, "contact_email")}

    def ends_at(self) -> datetime:
        """The pledge runs to the end of its last day, in the site's time zone."""
        day: date = self.cleaned_data["ends_on"]
        return timezone.make_aware(datetime.combine(day, time.max), timezone.get_default_timezone())


class PledgeSettleForm(forms.Form):
    """The partner's payment, as a manager records it when it arrives."""

    received_cents = EurosField(limits=CAMPAIGN_GOAL, label=gettext_lazy("Montant reçu, en euros"))
    received_on = forms.DateField(
        label=gettext_lazy("Reçu le"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    means = forms.ChoiceField(label=gettext_lazy("Mode de versement"), choices=Pledge.Means.choices)

    def clean_received_on(self) -> date:
        received_on: date = self.cleaned_data["received_on"]
        if received_on > timezone.localdate():
            raise forms.ValidationError(_("La date de réception ne peut pas être à venir."), code="received_on_future")
        return received_on
