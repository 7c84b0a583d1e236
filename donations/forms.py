from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import Campaign
from donations.models import ITEM_WEIGHT_GRAMS, Item
from kernel.fields import EurosField
from kernel.money import ITEM_PRICE
from kernel.photos import MAX_PHOTOS, PreparedPhoto, prepare_photos
from kernel.places import is_french_postal_code, normalise_postal_code


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    """1 to 8 photos, each run through the photo pipeline during validation."""

    widget = MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"})

    def clean(self, data: Any, initial: Any = None) -> list[PreparedPhoto]:
        files = [f for f in (data if isinstance(data, (list, tuple)) else [data]) if f]
        if not files:
            raise forms.ValidationError(_("Ajoutez au moins une photo."))
        if len(files) > MAX_PHOTOS:
            raise forms.ValidationError(_("%(max)d photos au plus.") % {"max": MAX_PHOTOS})
        prepared, errors = prepare_photos(files)
        if errors:
            raise forms.ValidationError(errors)
        return prepared


class PostalCodeField(forms.CharField):
    """A French postal code ("75004"; spaces ignored), cleaned to its five digits."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 10)
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "numeric", "autocomplete": "postal-code"})

    def clean(self, value: Any) -> str:
        code = normalise_postal_code(super().clean(value) or "")
        if code and not is_french_postal_code(code):
            raise forms.ValidationError(_("Saisissez un code postal français à 5 chiffres, par exemple 75004."))
        return code


def weight_field() -> forms.IntegerField:
    return forms.IntegerField(
        label=gettext_lazy("Poids en grammes"),
        help_text=gettext_lazy("Facultatif : utile pour l'envoi en colis."),
        min_value=ITEM_WEIGHT_GRAMS[0],
        max_value=ITEM_WEIGHT_GRAMS[1],
        required=False,
    )


# The empty first option of a choice the person must make.
CHOOSE = ("", gettext_lazy("— Choisir —"))


class ItemForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Je souhaite"),
        choices=[
            (Item.Kind.SALE, gettext_lazy("vendre l'objet au profit de la campagne")),
            (Item.Kind.GIFT_IN_KIND, gettext_lazy("donner l'objet à l'organisation")),
        ],
        initial=Item.Kind.SALE,
        required=False,
        widget=forms.RadioSelect,
    )
    campaign = forms.ModelChoiceField(
        label=gettext_lazy("Campagne soutenue"),
        queryset=Campaign.objects.filter(status=Campaign.Status.LIVE).select_related("organisation"),
        to_field_name="slug",
    )
    title = forms.CharField(label=gettext_lazy("Titre"), max_length=120)
    description = forms.CharField(label=gettext_lazy("Description"), max_length=5000, widget=forms.Textarea)
    # Nothing chosen in advance: the person says the state and the kind of the object.
    condition = forms.ChoiceField(label=gettext_lazy("État"), choices=[CHOOSE, *Item.Condition.choices])
    category = forms.ChoiceField(label=gettext_lazy("Catégorie"), choices=[CHOOSE, *Item.Category.choices])
    price_cents = EurosField(
        limits=ITEM_PRICE,
        label=gettext_lazy("Prix en euros"),
        help_text=gettext_lazy("Par exemple 12,50 (pour une vente)"),
        required=False,
    )
    handover = forms.ChoiceField(
        label=gettext_lazy("Remise de l'objet (pour un don)"),
        choices=[("", "—"), *Item.Handover.choices],
        required=False,
    )
    handover_note = forms.CharField(label=gettext_lazy("Précisions pour la remise"), max_length=300, required=False)
    postal_code = PostalCodeField(
        label=gettext_lazy("Code postal où se trouve l'objet"),
        help_text=gettext_lazy("Facultatif : par défaut, celui de votre compte."),
        required=False,
    )
    weight_grams = weight_field()
    photos = MultiplePhotoField(
        label=gettext_lazy("Photos"),
        help_text=gettext_lazy("De 1 à 8 photos JPEG, PNG ou WebP, 12 Mo chacune au plus."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["kind"] = data.get("kind") or Item.Kind.SALE
        if data.get("kind") == Item.Kind.SALE and not data.get("price_cents"):
            self.add_error("price_cents", _("Fixez un prix."))
        if data.get("kind") == Item.Kind.GIFT_IN_KIND and not data.get("handover"):
            self.add_error("handover", _("Choisissez comment remettre l'objet."))
        return data


class ReviewForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Titre"), max_length=120)
    description = forms.CharField(label=gettext_lazy("Description"), max_length=5000, widget=forms.Textarea)
    # The donor's choice, shown selected; the reviewer may correct it (left out: kept as it is).
    category = forms.ChoiceField(label=gettext_lazy("Catégorie"), choices=Item.Category.choices, required=False)
    price_cents = EurosField(limits=ITEM_PRICE, label=gettext_lazy("Prix en euros"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("category"):
            data.pop("category", None)
        return data


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Motif du refus (le donateur le lira)"),
        min_length=3,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),  # a reason in a sentence or two (at most 300 characters)
    )
