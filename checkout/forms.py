"""Forms of the payment pages (the API has its own serializers in checkout.api)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from checkout.managed import STATUS_CHOICES
from checkout.services import MAX_REFUND_CENTS, tip_max_cents, tip_refused_text
from checkout.services.counter import (
    CHEQUE_NUMBER,
    COUNTER_GIFT_MIN_CENTS,
    COUNTER_MAX_CENTS,
    LINE_MIN_CENTS,
    ChequeNumberInvalid,
)
from donations.models import CounterEntry
from kernel.countries import DEFAULT_COUNTRY, NOT_IN_LIST_MESSAGE, CountrySelect
from kernel.fields import EurosField
from kernel.money import CentsRange, euros_to_cents, format_money
from receipts.details import FIELDS, no_control_characters, receipt_details_clean

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise


class BuyForm(forms.Form):
    email = forms.EmailField(label=_("Votre e-mail (pour le reçu et le code de retrait)"), max_length=254)


def _receipt_field(label: _StrOrPromise, max_length: int, autocomplete: str, **attrs: str) -> forms.CharField:
    """Optional for the form itself: receipts.details checks them (lengths included, with
    the API's rules and words) only when a receipt is asked for."""
    widget = forms.TextInput(attrs={"maxlength": str(max_length), "autocomplete": autocomplete, **attrs})
    return forms.CharField(label=label, required=False, strip=False, widget=widget)


# The gift form's suggested amounts, in cents: 10, 20, 50 and 100 € (any outside the gifts' bounds left out).
SUGGESTED_GIFT_CENTS = (1000, 2000, 5000, 10000)

# What euros_to_cents refuses only for having too many digits: a huge amount, told the largest gift.
_TOO_MANY_EUROS = re.compile(r"^\s*\d{10,}(?:[.,]\d{1,2})?\s*(?:€)?\s*$", re.ASCII)


def suggested_gift_cents() -> list[int]:
    return [cents for cents in SUGGESTED_GIFT_CENTS if settings.GIFT_MIN_CENTS <= cents <= settings.GIFT_MAX_CENTS]


def money_text(cents: int) -> str:
    """An amount in the active language (the page's)."""
    return format_money(cents, language=get_language() or "fr")


class GiveForm(forms.Form):
    # One of the suggested amounts (radio buttons)…
    suggested = forms.CharField(label=_("Montant du don"), required=False)
    # … or an amount typed (the page's script keeps only one of the two). Not ``max_length``: a huge
    # amount is told the largest gift, not a length.
    amount = forms.CharField(
        label=_("Montant (€)"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "20", "maxlength": "12"}),
    )
    # "Une fois" or "Tous les mois" (a monthly gift: checkout.services.recurring).
    interval = forms.ChoiceField(
        label=_("Fréquence"),
        required=False,
        choices=[("", _("Une fois")), ("month", _("Tous les mois"))],
        initial="",
        widget=forms.RadioSelect,
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
    # Chosen by its name; receipts.details checks the code posted, as the API's.
    receipt_country = forms.CharField(
        label=_("Pays"), required=False, strip=False, initial=DEFAULT_COUNTRY, widget=CountrySelect
    )
    # Never ticked for the giver: hearing from the campaign is their choice.
    news = forms.BooleanField(
        label=_("Je souhaite recevoir les nouvelles de ce projet par e-mail (désabonnement en un clic)"),
        required=False,
    )
    # A voluntary tip to Trëmma: empty (0) unless the giver types one; never pre-filled.
    tip = forms.CharField(
        label=_("Contribution aux frais de Trëmma (€, facultatif)"),
        required=False,
        widget=forms.TextInput(
            attrs={"inputmode": "decimal", "placeholder": "0", "maxlength": "12", "aria-describedby": "give-tip-help"}
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "give-%s")
        super().__init__(*args, **kwargs)

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                # The message printed above the field is what a screen reader reads with it.
                help_id = " give-tip-help" if name == "tip" else ""
                self.fields[name].widget.attrs["aria-describedby"] = f"give-{name}-error{help_id}"

    def clean(self) -> dict[str, Any]:
        """The receipt's details count only when "Je souhaite un reçu fiscal" is ticked
        (without JavaScript the fields are always on the page, maybe filled in)."""
        data = super().clean() or {}
        self._amount_choose(data)
        self._tip_check(data)
        data["receipt_details"] = None
        if not data.get("receipt"):
            return data
        raw = {name: self.data.get(f"receipt_{name}") for name, _max, _required in FIELDS}
        if not (raw["country"] or "").strip():
            raw["country"] = "FR"
        details, errors = receipt_details_clean(raw)
        for name, messages in errors.items():
            if name == "country":  # a value the list does not offer, posted by hand
                messages = [str(NOT_IN_LIST_MESSAGE)]
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

    def clean_amount(self) -> int | None:
        text = self.cleaned_data["amount"]
        if not text:
            return None
        cents = euros_to_cents(text)
        if cents is None:
            if _TOO_MANY_EUROS.match(text):
                raise forms.ValidationError(self._too_much())
            raise forms.ValidationError(_("Indiquez un montant en euros, par exemple 20 ou 12,50."))
        if cents < settings.GIFT_MIN_CENTS:
            raise forms.ValidationError(_("Le don minimum est de 1 €."))
        if cents > settings.GIFT_MAX_CENTS:
            raise forms.ValidationError(self._too_much())
        return cents

    def clean_suggested(self) -> int | None:
        text = self.cleaned_data["suggested"]
        if not text:
            return None
        cents = euros_to_cents(text)
        if cents is None or cents not in suggested_gift_cents():
            raise forms.ValidationError(_("Choisissez un des montants proposés, ou saisissez le vôtre."))
        return cents

    def clean_tip(self) -> int:
        text = self.cleaned_data["tip"].strip()
        if not text:
            return 0
        cents = euros_to_cents(text)
        if cents is None:
            raise forms.ValidationError(_("Indiquez un montant en euros, par exemple 0, 2 ou 2,50."))
        return cents

    def _tip_check(self, data: dict[str, Any]) -> None:
        """A tip is at most the gift and ``TIP_MAX_CENTS`` (checkout.services.orders.tip_max_cents)."""
        tip, amount = data.get("tip"), data.get("amount")
        if tip and isinstance(amount, int) and tip > tip_max_cents(amount):
            self.add_error("tip", tip_refused_text())

    def _amount_choose(self, data: dict[str, Any]) -> None:
        """``amount`` becomes the cents given: the amount typed, else the one chosen. Both, and
        different (possible only without the page's script, which keeps one of them): refused
        rather than guessed."""
        if "amount" not in data or "suggested" not in data:
            return  # already refused, beside its field
        typed, chosen = data["amount"], data["suggested"]
        if typed is None and chosen is None:
            self.add_error("amount", _("Choisissez ou saisissez un montant."))
        elif typed is not None and chosen is not None and typed != chosen:
            self.add_error(
                "amount",
                _("Vous avez choisi %(chosen)s et saisi %(typed)s : gardez un seul des deux montants.")
                % {"chosen": money_text(chosen), "typed": money_text(typed)},
            )
        else:
            data["amount"] = typed if typed is not None else chosen

    @staticmethod
    def _too_much() -> str:
        return _("Le don en ligne est limité à %(max)s.") % {"max": money_text(settings.GIFT_MAX_CENTS)}


class RecurringAmountForm(forms.Form):
    """A monthly gift's new amount, in euros (its management page)."""

    amount = forms.CharField(
        label=_("Nouveau montant mensuel (€)"),
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "maxlength": "12"}),
    )

    def clean_amount(self) -> int:
        cents = euros_to_cents(self.cleaned_data["amount"])
        if cents is None:
            raise forms.ValidationError(_("Indiquez un montant en euros, par exemple 20 ou 12,50."))
        if cents < settings.GIFT_MIN_CENTS:
            raise forms.ValidationError(_("Le don minimum est de 1 €."))
        if cents > settings.GIFT_MAX_CENTS:
            raise forms.ValidationError(
                _("Le don en ligne est limité à %(max)s.") % {"max": money_text(settings.GIFT_MAX_CENTS)}
            )
        return cents


# --- The managers' orders page (/gestion/commandes/) ---------------------------------------------


class PaymentFilterForm(forms.Form):
    """The filters of the orders page, as GET parameters (kept by the pages and the export).
    A campaign is chosen among the ones the person manages: another one is not a valid choice."""

    kind = forms.ChoiceField(
        label=_("Type"), required=False, choices=[("", "—"), ("order", _("Commandes")), ("gift", _("Dons"))]
    )
    status = forms.ChoiceField(label=_("Statut"), required=False, choices=[("", "—"), *STATUS_CHOICES])
    campaign = forms.ModelChoiceField(
        label=_("Campagne"), required=False, queryset=Campaign.objects.none(), to_field_name="slug", empty_label="—"
    )
    date_from = forms.DateField(label=_("Du"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("Au"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    q = forms.CharField(
        label=_("E-mail, code de retrait ou objet"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search"}),
    )

    def __init__(self, *args: Any, campaigns: QuerySet[Campaign], **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "filter-%s")
        super().__init__(*args, **kwargs)
        field = self.fields["campaign"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = campaigns
        several = len({campaign.organisation_id for campaign in campaigns}) > 1

        def label(campaign: Campaign) -> str:
            return f"{campaign.organisation.name} — {campaign.title}" if several else campaign.title

        field.label_from_instance = label  # type: ignore[method-assign,assignment]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("La date de fin est avant la date de début."))
        return data

    def filters(self) -> dict[str, Any]:
        """The filters chosen, for ``checkout.managed.payments_managed``."""
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}


class RefundForm(forms.Form):
    """A manager's refund: an amount in euros (the whole of what remains, or less) and a reason.
    What may still be refunded is checked here for the message, and again by ``payment_refund``."""

    amount = EurosField(label=_("Montant à rembourser (€)"), limits=CentsRange(min_cents=1, max_cents=MAX_REFUND_CENTS))
    reason = forms.CharField(label=_("Motif"), max_length=300, widget=forms.TextInput(attrs={"maxlength": "300"}))

    def __init__(self, *args: Any, refundable_cents: int, paid: bool, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "refund-%s")
        super().__init__(*args, **kwargs)
        self.refundable_cents = refundable_cents
        self.paid = paid

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                # The message printed beside the field is what a screen reader reads with it.
                # (A line's form has its own ids: several are on one order's page.)
                ids = self.auto_id if isinstance(self.auto_id, str) else "refund-%s"
                self.fields[name].widget.attrs["aria-describedby"] = f"{ids % name}-error"

    def clean_amount(self) -> int:
        cents: int = self.cleaned_data["amount"]
        if self.paid and cents > self.refundable_cents:
            raise forms.ValidationError(
                _("Le montant dépasse ce qui reste à rembourser (%(amount)s).")
                % {"amount": format_money(self.refundable_cents, language=get_language() or "fr")},
                code="refund_too_large",
            )
        return cents

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.paid:
            raise forms.ValidationError(
                _("Ce paiement n'est pas reçu, ou déjà remboursé : il n'y a rien à rembourser."), code="not_refundable"
            )
        return data


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


# --- The shop counter (/gestion/caisse/<organisation>/) -------------------------------------------


class _CounterForm(forms.Form):
    """What every counter entry asks: how the money was handed over (a cheque with its number),
    and an email, optional (a seller's or a giver's receipt is sent to it when given)."""

    means = forms.ChoiceField(
        label=_("Moyen de paiement"),
        choices=CounterEntry.Means.choices,
        widget=forms.RadioSelect,
        initial=CounterEntry.Means.CASH,
    )
    cheque_number = forms.CharField(
        label=_("Numéro du chèque"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "maxlength": "40"}),
    )
    email = forms.EmailField(
        label=_("E-mail de la personne (facultatif)"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    prefix_name = "counter"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.prefix_name}-%s")
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        number = (data.get("cheque_number") or "").strip()
        if data.get("means") == CounterEntry.Means.CHEQUE:
            if not number:
                self.add_error("cheque_number", _("Indiquez le numéro du chèque."))
            elif not CHEQUE_NUMBER.match(number):
                self.add_error("cheque_number", ChequeNumberInvalid.default_detail)
        elif number and "means" in data:
            self.add_error("cheque_number", _("Un numéro de chèque ne va qu'avec un paiement par chèque."))
        data["cheque_number"] = number if data.get("means") == CounterEntry.Means.CHEQUE else ""
        return data


def _counter_campaign_field() -> forms.ModelChoiceField:  # type: ignore[type-arg]
    return forms.ModelChoiceField(label=_("Campagne"), queryset=Campaign.objects.none(), empty_label=None)


class CounterSaleForm(_CounterForm):
    """A catalogue object sold at the counter: its number (on its page and its card) or the code of its label."""

    item = forms.CharField(
        label=_("Numéro de l'objet ou code de son étiquette"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "maxlength": "200", "autocapitalize": "characters"}),
    )
    prefix_name = "sale"
    field_order = ["item", "means", "cheque_number", "email"]


class CounterLineForm(_CounterForm):
    """An object sold at the counter that is not in the catalogue: what it is, its price, its campaign."""

    campaign = _counter_campaign_field()
    description = forms.CharField(
        label=_("Objet vendu"), max_length=120, widget=forms.TextInput(attrs={"maxlength": "120"})
    )
    amount = EurosField(
        label=_("Prix (€)"),
        limits=CentsRange(min_cents=LINE_MIN_CENTS, max_cents=COUNTER_MAX_CENTS),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "maxlength": "12"}),
    )
    prefix_name = "line"

    field_order = ["campaign", "description", "amount", "means", "cheque_number", "email"]

    def __init__(self, *args: Any, campaigns: QuerySet[Campaign], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = campaigns  # type: ignore[attr-defined]

    def clean_description(self) -> str:
        text: str = self.cleaned_data["description"]
        no_control_characters(text)
        return text


class CounterGiftForm(_CounterForm):
    """A gift handed over at the counter; the giver's name and address if they want a tax receipt."""

    campaign = _counter_campaign_field()
    amount = EurosField(
        label=_("Montant du don (€)"),
        limits=CentsRange(min_cents=COUNTER_GIFT_MIN_CENTS, max_cents=COUNTER_MAX_CENTS),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "maxlength": "12"}),
    )
    name = forms.CharField(label=_("Nom du donateur (facultatif)"), max_length=120, required=False)
    receipt = forms.BooleanField(label=_("La personne souhaite un reçu fiscal"), required=False)
    receipt_first_name = _receipt_field(_("Prénoms"), 150, "off")
    receipt_last_name = _receipt_field(_("Nom"), 150, "off")
    receipt_address_line1 = _receipt_field(_("Adresse"), 200, "off")
    receipt_address_line2 = _receipt_field(_("Complément d'adresse (facultatif)"), 200, "off")
    receipt_postal_code = _receipt_field(_("Code postal"), 12, "off", inputmode="text")
    receipt_city = _receipt_field(_("Ville"), 100, "off")
    receipt_country = forms.CharField(
        label=_("Pays"), required=False, strip=False, initial=DEFAULT_COUNTRY, widget=CountrySelect
    )
    prefix_name = "gift"
    field_order = ["campaign", "amount", "means", "cheque_number", "name", "email", "receipt"]

    def __init__(self, *args: Any, campaigns: QuerySet[Campaign], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = campaigns  # type: ignore[attr-defined]

    def clean_name(self) -> str:
        text: str = self.cleaned_data["name"]
        no_control_characters(text)
        return text

    def clean(self) -> dict[str, Any]:
        """The receipt's details are checked (receipts.details, as the gift page's) only when asked for."""
        data = super().clean()
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


class CounterCancelForm(forms.Form):
    """Why a counter entry is cancelled (kept with it and in the journal)."""

    reason = forms.CharField(
        label=_("Motif de l'annulation"), max_length=300, widget=forms.TextInput(attrs={"maxlength": "300"})
    )

    def clean_reason(self) -> str:
        text: str = self.cleaned_data["reason"]
        no_control_characters(text)
        return text


class CounterDayForm(forms.Form):
    """The day of the counter's summary (``?jour=2026-11-30``); today without one."""

    jour = forms.DateField(label=_("Journée"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
