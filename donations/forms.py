from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import Campaign
from donations.models import ITEM_WEIGHT_GRAMS, Item
from donations.services import item_stays_with_giver, ships_refusal
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

# Where an object for sale waits for its buyer: at its giver's, or dropped at the organisation.
KEEP, DROP_OFF = "keep", Item.Handover.DROP_OFF


def ships_field() -> forms.BooleanField:
    return forms.BooleanField(
        label=gettext_lazy("J'accepte d'envoyer cet objet par colis"),
        help_text=gettext_lazy(
            "L'acheteur paie le port ; vous imprimez l'étiquette et déposez le colis en point relais. Il faut "
            "un poids : les objets encombrants (meubles, électroménager, vélos) ou trop lourds se retirent sur place."
        ),
        required=False,
        initial=False,
    )


def ships_check(form: forms.Form, data: dict[str, Any]) -> None:
    """A field error on ``ships`` when parcels are asked for an object that cannot travel so."""
    if data.get("ships") and "category" in data and "weight_grams" in data:
        refusal = ships_refusal(category=data["category"], weight_grams=data["weight_grams"])
        if refusal:
            form.add_error("ships", refusal)


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
    # For a sale: the giver keeps the object until it is sold, or drops it at the organisation first.
    keeping = forms.ChoiceField(
        label=gettext_lazy("Où attend l'objet (pour une vente)"),
        choices=[
            (KEEP, gettext_lazy("Je le garde chez moi")),
            (DROP_OFF, gettext_lazy("Je le dépose à l'organisation")),
        ],
        help_text=gettext_lazy(
            "Chez vous : vous le remettez en main propre à l'acheteur, qui vous donne son code de retrait "
            "(ou vous l'envoyez en point relais). Déposé : l'organisation le met en vente à réception."
        ),
        initial=KEEP,
        required=False,
        widget=forms.RadioSelect,
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
    # Never checked in advance: the giver agrees to pack and send the object themselves.
    ships = ships_field()
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
        keeping = data.pop("keeping", "") or KEEP
        if data.get("kind") == Item.Kind.SALE:
            data["handover"] = DROP_OFF if keeping == DROP_OFF else ""
            data["handover_note"] = ""
        ships_check(self, data)
        return data


class ReviewForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Titre"), max_length=120)
    description = forms.CharField(label=gettext_lazy("Description"), max_length=5000, widget=forms.Textarea)
    # The donor's choice, shown selected; the reviewer may correct it (left out: kept as it is).
    category = forms.ChoiceField(label=gettext_lazy("Catégorie"), choices=Item.Category.choices, required=False)
    price_cents = EurosField(limits=ITEM_PRICE, label=gettext_lazy("Prix en euros"))
    weight_grams = weight_field()
    ships = forms.BooleanField(label=gettext_lazy("Peut être envoyé par colis"), required=False)

    def __init__(self, *args: Any, item: Item, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.item = item
        # Only the giver agrees to ship from home: a reviewer may turn parcels off, not on.
        if item_stays_with_giver(item) and not item.ships:
            self.fields["ships"].disabled = True
            self.fields["ships"].help_text = gettext_lazy(
                "Le donateur garde l'objet chez lui et n'a pas proposé l'envoi : retrait en main propre seulement."
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("category"):
            data.pop("category", None)
        ships_check(self, {"category": self.item.category, "weight_grams": self.item.weight_grams, **data})
        return data


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Motif du refus (le donateur le lira)"),
        min_length=3,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),  # a reason in a sentence or two (at most 300 characters)
    )
