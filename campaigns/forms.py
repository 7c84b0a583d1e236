from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from campaigns.models import Campaign
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
