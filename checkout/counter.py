"""The shop counter's pages, phone-first: ``/gestion/caisse/<organisation>/`` records a sale
of a catalogue object, a sale of an object not in the catalogue or a gift (cash, cheque,
the shop's card terminal), one form at a time; the day's summary (``journee/``) and its CSV;
the cancellation of a mistaken entry. The use cases are ``checkout.services.counter``'s.

Another organisation's counter, or entry, is a 404, as a missing one; a member whose role
may not use the counter (a volunteer) is told so (403)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from accounts.models import User
from campaigns.models import Campaign, Organisation
from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may, permission_require
from checkout.forms import CounterCancelForm, CounterDayForm, CounterGiftForm, CounterLineForm, CounterSaleForm
from checkout.selectors import CounterDay, counter_day, counter_entry_amount, counter_item_find
from checkout.services.counter import (
    counter_cancel,
    counter_entry_receipt,
    counter_gift,
    counter_line,
    counter_sale,
)
from checkout.services.orders import ItemUnavailable
from donations.models import CounterEntry
from kernel import errors
from kernel.money import format_money
from kernel.spreadsheet import Cell, Euros, csv_response

# The three entries, as the page's tabs name them (``?saisie=``).
FORMS = {"vente": CounterSaleForm, "hors-catalogue": CounterLineForm, "don": CounterGiftForm}


def _organisation(request: HttpRequest, slug: str) -> Organisation:
    """The organisation ``slug`` if the user may use its counter; a member who may not: 403; anyone else: 404."""
    organisation = Organisation.objects.filter(slug=slug).first()
    if organisation is None:
        raise Http404
    try:
        permission_require(request.user, organisation.pk, Permission.COUNTER)  # type: ignore[arg-type]
    except errors.PermissionDenied:
        raise PermissionDenied from None
    except errors.NotFound:
        raise Http404 from None
    return organisation


def _private(response: HttpResponse) -> HttpResponse:
    # Givers' names, emails and cheque numbers: no shared cache keeps these pages.
    patch_cache_control(response, private=True, no_store=True)
    return response


def _money(cents: int) -> str:
    return format_money(cents, language=get_language() or "fr")


@login_required
@require_safe
def counter_index(request: HttpRequest) -> HttpResponse:
    """``/gestion/caisse/``: straight to the counter of the person's organisation, or the choice of one."""
    user: User = request.user  # type: ignore[assignment]
    organisations = list(organisations_user_may(user, Permission.COUNTER).order_by("name"))
    if not organisations:
        raise PermissionDenied
    if len(organisations) == 1:
        return redirect("checkout:counter", slug=organisations[0].slug)
    return _private(render(request, "checkout/counter_index.html", {"organisations": organisations}))


def _live_campaigns(organisation: Organisation) -> Any:
    return Campaign.objects.filter(organisation=organisation, status=Campaign.Status.LIVE).order_by("title")


def _form(kind: str, organisation: Organisation, data: Any = None) -> Form:
    if kind == "vente":
        return CounterSaleForm(data)
    return FORMS[kind](data, campaigns=_live_campaigns(organisation))  # type: ignore[call-arg]


def _record(kind: str, form: Form, *, organisation: Organisation, user: User) -> CounterEntry | None:
    """Call the use case of ``kind``; a refusal is written beside its field (None)."""
    data = form.cleaned_data
    common = {
        "actor": user,
        "organisation_id": organisation.pk,
        "means": data["means"],
        "cheque_number": data["cheque_number"],
        "email": data.get("email") or "",
    }
    try:
        if kind == "vente":
            item = counter_item_find(organisation_id=organisation.pk, text=data["item"])
            if item is None:
                form.add_error("item", _("Aucun objet de votre organisation ne porte ce numéro ou ce code."))
                return None
            return counter_sale(item_id=item.pk, **common)
        if kind == "hors-catalogue":
            return counter_line(
                campaign_id=data["campaign"].pk, description=data["description"], amount_cents=data["amount"], **common
            )
        return counter_gift(
            campaign_id=data["campaign"].pk,
            amount_cents=data["amount"],
            name=data.get("name") or "",
            receipt=data["receipt_details"],
            **common,
        )
    except ItemUnavailable:
        message = _("Cet objet n'est pas en vente : quelqu'un est en train de l'acheter en ligne, ou il est vendu.")
        form.add_error("item", ValidationError(message, code="unavailable"))
    except errors.DomainError as refused:
        field = refused.field if refused.field in form.fields else None
        if isinstance(refused, errors.NotFound):
            field = "campaign" if "campaign" in form.fields else "item"
        form.add_error(field, str(refused.detail))
    return None


def _recorded_message(entry: CounterEntry) -> str:
    amount = _money(counter_entry_amount(entry))
    if entry.kind == CounterEntry.Kind.GIFT:
        receipt = counter_entry_receipt(entry)
        if receipt is not None:
            return _("Don de %(amount)s enregistré (%(means)s). Reçu fiscal n° %(number)s émis.") % {
                "amount": amount,
                "means": entry.get_means_display().lower(),
                "number": receipt.number,
            }
        return _("Don de %(amount)s enregistré (%(means)s).") % {
            "amount": amount,
            "means": entry.get_means_display().lower(),
        }
    title = entry.order.lines.select_related("item").get().item.title  # type: ignore[union-attr]
    return _("Vente enregistrée : « %(title)s », %(amount)s (%(means)s).") % {
        "title": title,
        "amount": amount,
        "means": entry.get_means_display().lower(),
    }


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def counter(request: HttpRequest, slug: str) -> HttpResponse:
    """``/gestion/caisse/<slug>/?saisie=vente|hors-catalogue|don``: one entry form, and the day so far."""
    organisation = _organisation(request, slug)
    user: User = request.user  # type: ignore[assignment]
    kind = request.GET.get("saisie", "vente")
    if kind not in FORMS:
        kind = "vente"
    status = 200
    if request.method == "POST":
        form = _form(kind, organisation, request.POST)
        if form.is_valid():
            entry = _record(kind, form, organisation=organisation, user=user)
            if entry is not None:
                messages.success(request, _recorded_message(entry))
                return redirect(f"{reverse('checkout:counter', kwargs={'slug': slug})}?saisie={kind}")
        status = 409 if any(e.code == "unavailable" for e in form.errors.as_data().get("item", [])) else 400
    else:
        form = _form(kind, organisation)
    today = counter_day(organisation_id=organisation.pk, day=timezone.localdate())
    context = {
        "organisation": organisation,
        "form": form,
        "kind": kind,
        "kinds": [
            ("vente", _("Objet du catalogue")),
            ("hors-catalogue", _("Hors catalogue")),
            ("don", _("Don")),
        ],
        "no_campaign": kind != "vente" and not _live_campaigns(organisation).exists(),
        "today": today,
        "rows": _rows(today),
    }
    return _private(render(request, "checkout/counter.html", context, status=status))


def _rows(day: CounterDay) -> list[dict[str, Any]]:
    """What each entry of a day shows: what was sold or given, for which campaign, how much, how."""
    rows = []
    for entry in day.entries:
        if entry.gift is not None:
            what, campaign = (
                (_("Don de %(name)s") % {"name": entry.gift.name} if entry.gift.name else _("Don")),
                (entry.gift.campaign.title),
            )
        else:
            line = entry.order.lines.all()[0]  # type: ignore[union-attr]
            what, campaign = line.item.title, line.campaign.title
        rows.append(
            {
                "entry": entry,
                "what": what,
                "campaign": campaign,
                "amount_cents": counter_entry_amount(entry),
                "at": timezone.localtime(entry.recorded_at),
            }
        )
    return rows


def _day(request: HttpRequest) -> tuple[date | None, CounterDayForm]:
    form = CounterDayForm(request.GET)
    if not form.is_valid():
        return None, form
    return form.cleaned_data.get("jour") or timezone.localdate(), form


@login_required
@require_safe
def counter_summary(request: HttpRequest, slug: str) -> HttpResponse:
    """``/gestion/caisse/<slug>/journee/?jour=AAAA-MM-JJ``: the day's entries and totals by means of payment."""
    organisation = _organisation(request, slug)
    day, form = _day(request)
    if day is None:
        context = {"organisation": organisation, "form": form, "summary": None}
        return _private(render(request, "checkout/counter_day.html", context, status=400))
    summary = counter_day(organisation_id=organisation.pk, day=day)
    context = {
        "organisation": organisation,
        "form": form,
        "summary": summary,
        "rows": _rows(summary),
        "means": [(label, summary.by_means[value]) for value, label in CounterEntry.Means.choices],
        "kinds": [(label, summary.by_kind[value]) for value, label in CounterEntry.Kind.choices],
        "csv_url": f"{reverse('checkout:counter-day-csv', kwargs={'slug': slug})}?jour={day.isoformat()}",
    }
    return _private(render(request, "checkout/counter_day.html", context))


# French spreadsheet columns (kernel.spreadsheet), whatever the page's language, as the other exports.
CSV_COLUMNS = [
    "saisie",
    "heure",
    "type",
    "campagne",
    "objet ou donateur",
    "référence",
    "moyen de paiement",
    "numéro de chèque",
    "montant (€)",
    "saisi par",
    "annulée le",
    "motif d'annulation",
]
CSV_KINDS = {"sale": "vente (catalogue)", "line": "vente (hors catalogue)", "gift": "don"}
CSV_MEANS = {"cash": "espèces", "cheque": "chèque", "card": "carte (terminal)"}


@login_required
@require_safe
def counter_summary_csv(request: HttpRequest, slug: str) -> HttpResponse:
    """The day's entries as a French spreadsheet, then its totals by means of payment."""
    organisation = _organisation(request, slug)
    day, _form_unused = _day(request)
    if day is None:
        return HttpResponse(_("Date invalide."), status=400, content_type="text/plain; charset=utf-8")
    summary = counter_day(organisation_id=organisation.pk, day=day)
    rows: list[list[Cell]] = []
    for row in _rows(summary):
        entry: CounterEntry = row["entry"]
        rows.append(
            [
                entry.pk,
                entry.recorded_at,
                CSV_KINDS[entry.kind],
                row["campaign"],
                row["what"],
                f"commande {entry.order_id}" if entry.order_id else f"don {entry.gift_id}",
                CSV_MEANS[entry.means],
                entry.cheque_number,
                Euros(row["amount_cents"]),
                entry.recorded_by.email if entry.recorded_by else "",
                entry.cancelled_at,
                entry.cancellation_reason,
            ]
        )
    rows.append([])
    for value in CounterEntry.Means.values:
        rows.append(
            [None, None, f"total {CSV_MEANS[value]}", None, None, None, None, None, Euros(summary.by_means[value])]
        )
    rows.append([None, None, "total", None, None, None, None, None, Euros(summary.total_cents)])
    response = csv_response(filename=f"caisse-{organisation.slug}-{day.isoformat()}.csv", header=CSV_COLUMNS, rows=rows)
    return _private(response)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def counter_entry_cancel(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """``/gestion/caisse/<slug>/saisies/<pk>/annuler/``: cancel a mistaken entry, with its reason."""
    organisation = _organisation(request, slug)
    entry = CounterEntry.objects.filter(pk=pk, organisation=organisation).first()
    if entry is None:
        raise Http404
    user: User = request.user  # type: ignore[assignment]
    form = CounterCancelForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                counter_cancel(actor=user, entry_id=entry.pk, reason=form.cleaned_data["reason"])
            except errors.DomainError as refused:
                form.add_error(None, str(refused.detail))
                status = refused.status_code
            else:
                messages.success(request, _("Saisie n° %(number)s annulée.") % {"number": entry.pk})
                url = reverse("checkout:counter-day", kwargs={"slug": slug})
                return redirect(f"{url}?jour={entry.day.isoformat()}")
        else:
            status = 400
    context = {
        "organisation": organisation,
        "entry": entry,
        "amount_cents": counter_entry_amount(entry),
        "form": form,
        "receipt": counter_entry_receipt(entry),
    }
    return _private(render(request, "checkout/counter_cancel.html", context, status=status))
