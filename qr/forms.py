"""Input forms of the manager pages (validation only; the services do the writes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Organisation
from donations.models import Item
from kernel.fields import LocalDateTimeInput
from qr.models import Window


def _this_minute() -> datetime:
    return timezone.now().replace(second=0, microsecond=0)


class WindowDetailsForm(forms.Form):
    """What a window says of itself: name, place, address and dates (its dates in ``datetime-local``
    inputs written in ISO 8601, so that a form saved untouched keeps them)."""

    name = forms.CharField(label=_("Nom de la vitrine"), max_length=120)
    place = forms.CharField(label=_("Lieu"), max_length=200)
    address = forms.CharField(label=_("Adresse"), max_length=300, required=False)
    starts_at = forms.DateTimeField(label=_("Début"), widget=LocalDateTimeInput)
    ends_at = forms.DateTimeField(
        label=_("Fin"),
        required=False,
        widget=LocalDateTimeInput,
        help_text=_("Laissez vide pour une vitrine sans date de fin."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", _("La fin doit venir après le début."))
        return data


class WindowForm(WindowDetailsForm):
    """A new window, for one of the organisations the person manages; it starts this minute unless told."""

    organisation = forms.ModelChoiceField(queryset=Organisation.objects.none(), label=_("Organisation"))

    def __init__(self, *args: Any, organisations: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations  # type: ignore[attr-defined]
        self.fields["starts_at"].initial = _this_minute
        self.order_fields(["organisation"])


class WindowEditForm(WindowDetailsForm):
    """An existing window's details, shown as stored (``initial``); only what changed is saved."""

    def __init__(self, *args: Any, window: Window, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "window-%s")
        kwargs["initial"] = {
            name: getattr(window, name) for name in ("name", "place", "address", "starts_at", "ends_at")
        }
        super().__init__(*args, **kwargs)

    def changes(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.changed_data}


class PlacementAddForm(forms.Form):
    item = forms.ModelChoiceField(queryset=Item.objects.none(), label=_("Objet à mettre en vitrine"))

    def __init__(self, *args: Any, items: QuerySet[Item], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = items  # type: ignore[attr-defined]
