"""Pages of the money books, for the managers of an organisation: its
treasurer's monthly statement (a page with a month picker, and the same as a
CSV for a French spreadsheet) and a campaign's ledger as CSV. Another
organisation's statement or ledger is a 404, the same as a missing one."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from django.views.decorators.http import require_http_methods, require_safe

from accounts.models import User
from campaigns.models import Organisation
from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may
from kernel.errors import DomainError
from kernel.spreadsheet import Cell, Euros, csv_response
from ledger.models import LedgerEntry
from ledger.selectors import (
    campaign_ledger_for_manager,
    ledger_differences,
    organisation_balance_cents,
    platform_tips_by_month,
)
from ledger.statements import Statement, organisation_statement, statement_organisation
from payments.selectors import connect_summary, organisation_for_payments_admin
from payments.services import organisation_connect_refresh, organisation_connect_start

FIRST_YEAR = 2000
# Literal, so makemessages finds them; translated when the file is written.
STATEMENT_COLUMNS = [
    gettext_noop("date"),
    gettext_noop("opération"),
    gettext_noop("campagne"),
    gettext_noop("référence"),
    gettext_noop("identifiant du prestataire"),
    gettext_noop("montant dû à l'organisation (€)"),
    gettext_noop("frais du prestataire, à la charge de la plateforme (€)"),
    gettext_noop("encaissé au comptoir, détenu par l'organisation (€)"),
]
LEDGER_COLUMNS = [
    gettext_noop("date"),
    gettext_noop("sens"),
    gettext_noop("motif"),
    gettext_noop("montant (€)"),
    gettext_noop("commande"),
    gettext_noop("don"),
    gettext_noop("événement"),
]


class MonthForm(forms.Form):
    mois = forms.RegexField(
        label=gettext_lazy("Mois"),
        regex=re.compile(r"^\d{4}-\d{2}$"),
        error_messages={"invalid": gettext_lazy("Choisissez un mois, par exemple 2026-11.")},
    )

    def clean_mois(self) -> tuple[int, int]:
        year, month = (int(part) for part in self.cleaned_data["mois"].split("-"))
        if not (FIRST_YEAR <= year <= timezone.localdate().year + 1 and 1 <= month <= 12):
            raise forms.ValidationError(_("Choisissez un mois, par exemple 2026-11."), code="invalid")
        return year, month


def _organisation(request: HttpRequest, slug: str) -> Organisation:
    organisation = statement_organisation(user=request.user, slug=slug)
    if organisation is None:
        raise Http404
    return organisation


def _month(year: str, month: str) -> tuple[int, int]:
    """The month in the address, or a 404 (like an address that does not exist)."""
    form = MonthForm({"mois": f"{year}-{month}"})
    if not form.is_valid():
        raise Http404
    return form.cleaned_data["mois"]  # type: ignore[no-any-return]


def _this_month() -> tuple[int, int]:
    today = timezone.localdate()
    return today.year, today.month


def _month_url(slug: str, year: int, month: int) -> str:
    return reverse("ledger:statement-month", kwargs={"slug": slug, "year": f"{year:04d}", "month": f"{month:02d}"})


@login_required
@require_safe
def statement_index(request: HttpRequest) -> HttpResponse:
    """The organisations whose books the user reads, each with a link to this month's statement."""
    year, month = _this_month()
    organisations = [
        (organisation, _month_url(organisation.slug, year, month))
        for organisation in organisations_user_may(request.user, Permission.LEDGER).order_by("name")
    ]
    return render(request, "ledger/statement_index.html", {"organisations": organisations})


@login_required
@require_safe
def statement_pick(request: HttpRequest, slug: str) -> HttpResponse:
    """The month picker's target: on to the chosen month (this month when none is chosen)."""
    organisation = _organisation(request, slug)
    if "mois" not in request.GET:
        return redirect(_month_url(slug, *_this_month()))
    form = MonthForm(request.GET)
    if form.is_valid():
        return redirect(_month_url(slug, *form.cleaned_data["mois"]))
    statement = organisation_statement(organisation=organisation, year=_this_month()[0], month=_this_month()[1])
    return _page(request, statement, form, status=400)


@login_required
@require_safe
def statement_month(request: HttpRequest, slug: str, year: str, month: str) -> HttpResponse:
    organisation = _organisation(request, slug)
    chosen_year, chosen_month = _month(year, month)
    statement = organisation_statement(organisation=organisation, year=chosen_year, month=chosen_month)
    form = MonthForm(initial={"mois": f"{chosen_year:04d}-{chosen_month:02d}"})
    return _page(request, statement, form)


def _page(request: HttpRequest, statement: Statement, form: MonthForm, status: int = 200) -> HttpResponse:
    slug = statement.organisation.slug
    context = {
        "statement": statement,
        "form": form,
        "month_value": f"{statement.year:04d}-{statement.month:02d}",
        "month_start": statement.start.date(),
        "csv_url": reverse(
            "ledger:statement-month-csv",
            kwargs={"slug": slug, "year": f"{statement.year:04d}", "month": f"{statement.month:02d}"},
        ),
        "pick_url": reverse("ledger:statement-pick", kwargs={"slug": slug}),
    }
    return render(request, "ledger/statement.html", context, status=status)


@login_required
@require_safe
def statement_month_csv(request: HttpRequest, slug: str, year: str, month: str) -> HttpResponse:
    organisation = _organisation(request, slug)
    chosen_year, chosen_month = _month(year, month)
    statement = organisation_statement(organisation=organisation, year=chosen_year, month=chosen_month)
    rows: list[list[Cell]] = [
        [
            line.at,
            line.label,
            line.campaign,
            line.reference,
            line.provider_id,
            Euros(line.amount_cents),
            Euros(line.fee_cents),
            Euros(line.counter_cents),
        ]
        for line in statement.lines
    ]
    # The totals, after the lines: each one a label and its amount, in the same columns.
    summary = [
        (_("Solde dû au début du mois"), statement.opening_cents, 0),
        (_("Paiements reçus"), statement.credits_cents, 0),
        (_("Litiges gagnés"), statement.disputes_won_cents, 0),
        (_("Remboursements"), -statement.refunds_cents, 0),
        (_("Litiges"), -statement.disputes_cents, 0),
        (_("Virements envoyés"), -statement.transfers_cents, 0),
        (_("Annulations de virements"), statement.reversals_cents, 0),
        (_("Solde dû à la fin du mois"), statement.closing_cents, 0),
        (_("Frais du prestataire (à la charge de la plateforme)"), 0, statement.fees_cents),
        (_("dont frais conservés sur les paiements remboursés"), 0, statement.fees_kept_on_refunds_cents),
    ]
    rows.append([])
    rows += [[None, label, None, None, None, Euros(amount), Euros(fee), None] for label, amount, fee in summary]
    rows.append(
        [None, _("Encaissé au comptoir (hors solde)"), None, None, None, None, None, Euros(statement.counter_cents)]
    )
    filename = f"releve-{slug}-{chosen_year:04d}-{chosen_month:02d}.csv"
    return csv_response(filename=filename, header=[_(column) for column in STATEMENT_COLUMNS], rows=rows)


@require_safe
def campaign_ledger_csv(request: HttpRequest, slug: str) -> HttpResponse:
    """A campaign's ledger as CSV, for the managers of its organisation."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    entries = campaign_ledger_for_manager(user=request.user, slug=slug)  # type: ignore[arg-type]
    if entries is None:
        raise Http404
    rows: list[list[Cell]] = []
    for entry in entries:
        signed = entry.amount_cents if entry.kind == LedgerEntry.Kind.CREDIT else -entry.amount_cents
        rows.append(
            [
                entry.created_at,
                entry.get_kind_display(),
                entry.get_reason_display(),
                Euros(signed),
                entry.order_id,
                entry.gift_id,
                entry.provider_event_id,
            ]
        )
    return csv_response(filename=f"ecritures-{slug}.csv", header=[_(c) for c in LEDGER_COLUMNS], rows=rows)


# --- The platform's tips, for its operator (superusers) ---------------------------------------------

TIPS_COLUMNS = [
    gettext_noop("mois"),
    gettext_noop("dons avec contribution"),
    gettext_noop("contributions reçues (€)"),
    gettext_noop("remboursées (€)"),
    gettext_noop("reprises par litige (€)"),
    gettext_noop("net (€)"),
]


def _operator_only(request: HttpRequest) -> None:
    """The platform's own books are its operator's: a superuser; anyone else finds nothing there."""
    if not getattr(request.user, "is_superuser", False) or not request.user.is_active:
        raise Http404


@login_required
@require_safe
def platform_tips(request: HttpRequest) -> HttpResponse:
    """The tips givers added to their gifts, month by month: Trëmma's income, never a campaign's."""
    _operator_only(request)
    months = platform_tips_by_month()
    context = {
        "months": months,
        "total_cents": sum(month.net_cents for month in months),
        "differences": list(ledger_differences()),
    }
    response = render(request, "ledger/platform_tips.html", context)
    patch_cache_control(response, private=True, no_store=True)
    return response


@login_required
@require_safe
def platform_tips_csv(request: HttpRequest) -> HttpResponse:
    _operator_only(request)
    rows: list[list[Cell]] = [
        [
            f"{month.month:%Y-%m}",
            month.gifts,
            Euros(month.credited_cents),
            Euros(month.refunded_signed_cents),
            Euros(month.disputed_signed_cents),
            Euros(month.net_cents),
        ]
        for month in platform_tips_by_month()
    ]
    return csv_response(filename="contributions-tremma.csv", header=[_(c) for c in TIPS_COLUMNS], rows=rows)


# --- The organisation's payments page: its Stripe account, and what awaits transfer ---------------


def _payments_page(
    request: HttpRequest, organisation: Organisation, *, error: str = "", status: int = 200
) -> HttpResponse:
    context: dict[str, Any] = {
        "organisation": organisation,
        "summary": connect_summary(
            organisation, balance_cents=organisation_balance_cents(organisation_id=organisation.pk)
        ),
        "error": error,
        "link_expired": "lien" in request.GET,
        "returned": "retour" in request.GET,
        "demo": settings.PAYMENT_GATEWAY == "demo",
    }
    response = render(request, "ledger/organisation_payments.html", context, status=status)
    patch_cache_control(response, private=True, no_store=True)
    return response


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def organisation_payments(request: HttpRequest, slug: str) -> HttpResponse:
    """The organisation's payments page: the state of its Stripe account, and
    the button that starts (or resumes) the onboarding. Its admins only."""
    user: User = request.user  # type: ignore[assignment]
    organisation = organisation_for_payments_admin(user=user, slug=slug)
    if organisation is None:
        raise Http404
    if request.method == "POST":
        try:
            url = organisation_connect_start(organisation_id=organisation.pk, actor=user)
        except DomainError as error:
            organisation.refresh_from_db()
            return _payments_page(request, organisation, error=str(error.detail), status=error.status_code)
        return HttpResponseRedirect(url, status=303)
    if "retour" in request.GET and organisation.stripe_account_id:
        # Back from the onboarding form, maybe before the event: show the account as it is now.
        organisation_connect_refresh(organisation_id=organisation.pk)
        organisation.refresh_from_db()
    return _payments_page(request, organisation)
