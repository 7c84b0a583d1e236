"""Pages and files of tax receipts: the signed PDF link, and the managers'
list, yearly declaration and legal details. Thin: validate, call one
selector or service, shape the answer."""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from accounts.models import User
from campaigns.models import Organisation
from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may
from kernel.errors import DomainError
from kernel.photos import PhotoRefused, prepare_signature
from kernel.spreadsheet import Euros, csv_response
from kernel.uploads import TooManyUploads, upload_count
from receipts import changes, delivery, issuing, selectors
from receipts.models import TaxReceipt


@require_safe
def receipt_pdf(request: HttpRequest, token: str) -> HttpResponse:
    """The PDF behind a signed, time-limited link (emails, the giver's account)."""
    try:
        receipt = delivery.receipt_from_link(token=token)
    except DomainError:
        raise Http404 from None
    response = HttpResponse(delivery.receipt_pdf_content(receipt=receipt), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="recu-fiscal-{receipt.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


class ReceiptFilterForm(forms.Form):
    organisation = forms.SlugField(required=False, label=gettext_lazy("Organisation"))
    year = forms.IntegerField(required=False, min_value=2000, max_value=2100, label=gettext_lazy("Année"))
    status = forms.ChoiceField(
        required=False, choices=[("", "—"), *TaxReceipt.Status.choices], label=gettext_lazy("Statut")
    )
    q = forms.CharField(required=False, max_length=100, label=gettext_lazy("Numéro, nom ou e-mail"))


# French spreadsheet columns (kernel.spreadsheet): the treasurer's file, in French like the receipts themselves.
CSV_COLUMNS = [
    "numéro",
    "organisation",
    "année",
    "statut",
    "émis le",
    "montant (€)",
    "date du don",
    "début de période",
    "fin de période",
    "récapitulatif annuel",
    "nom",
    "prénoms",
    "e-mail",
    "adresse",
    "annulé le",
    "motif d'annulation",
    "remplace",
]


def _receipts_csv(receipts: Any) -> HttpResponse:
    rows = []
    for r in receipts.select_related("replaces"):
        address = ", ".join(
            part
            for part in [r.giver_address_line1, r.giver_address_line2, f"{r.giver_postal_code} {r.giver_city}"]
            if part
        )
        rows.append(
            [
                r.number,
                r.organisation.slug,
                r.year,
                r.get_status_display(),
                r.issued_at,
                Euros(r.amount_cents),
                r.payment_date,
                r.period_start,
                r.period_end,
                "oui" if r.consolidated else "non",
                r.giver_last_name,
                r.giver_first_names,
                r.giver_email,
                address,
                r.cancelled_at,
                r.cancellation_reason,
                r.replaces.number if r.replaces else "",
            ]
        )
    return csv_response(filename="recus-fiscaux.csv", header=CSV_COLUMNS, rows=rows)


class ReceiptCancelForm(forms.Form):
    receipt = forms.IntegerField(min_value=1)
    reason = forms.CharField(max_length=300, label=gettext_lazy("Motif d'annulation"))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def manage_receipts(request: HttpRequest) -> HttpResponse:
    """Receipts of the organisations whose receipts the user handles (treasurers and admins),
    filtered; ``?format=csv`` exports them. They cancel a receipt issued in error (POST, with a reason)."""
    user: User = request.user  # type: ignore[assignment]
    if request.method == "POST":
        cancel = ReceiptCancelForm(request.POST)
        if not cancel.is_valid():
            return HttpResponse(
                _("Indiquez le motif de l'annulation."), status=400, content_type="text/plain; charset=utf-8"
            )
        try:
            changes.receipt_cancel(
                receipt_id=cancel.cleaned_data["receipt"], actor=user, reason=cancel.cleaned_data["reason"]
            )
        except DomainError as error:
            return HttpResponse(str(error.detail), status=error.status_code, content_type="text/plain; charset=utf-8")
        return redirect("receipts:manage-receipts")
    form = ReceiptFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponse(_("Filtre invalide."), status=400, content_type="text/plain; charset=utf-8")
    filters = {name: value for name, value in form.cleaned_data.items() if value}
    receipts = selectors.receipts_managed(user=user, **filters)
    if request.GET.get("format") == "csv":
        return _receipts_csv(receipts)
    context = {
        "form": form,
        # Each number links to its PDF, by the same signed link the giver gets.
        "receipts": [(receipt, delivery.receipt_pdf_link(receipt=receipt)) for receipt in receipts[:500]],
        "organisations": organisations_user_may(user, Permission.RECEIPTS),
        "payouts": set(organisations_user_may(user, Permission.PAYOUT_ACCOUNT).values_list("pk", flat=True)),
        "year": timezone.localtime().year,
    }
    return render(request, "receipts/manage_receipts.html", context)


def _managed_organisation(request: HttpRequest, slug: str) -> Organisation:
    organisation = organisations_user_may(request.user, Permission.RECEIPTS).filter(slug=slug).first()
    if organisation is None:
        raise Http404
    return organisation


@login_required
@require_safe
def manage_declaration(request: HttpRequest, slug: str, year: int) -> HttpResponse:
    """The yearly declaration (article 222 bis of the CGI): total receipted and count, without identities."""
    organisation = _managed_organisation(request, slug)
    declaration = selectors.receipts_declaration(organisation=organisation, year=year)
    if request.GET.get("format") == "csv":
        return csv_response(
            filename=f"declaration-{organisation.slug}-{year}.csv",
            header=["organisation", "SIREN", "RNA", "année", "nombre de reçus", "montant total (€)"],
            rows=[
                [
                    organisation.legal_name,
                    organisation.siren,
                    organisation.rna,
                    year,
                    declaration.receipts_count,
                    Euros(declaration.total_cents),
                ]
            ],
        )
    return render(request, "receipts/manage_declaration.html", {"declaration": declaration})


class LegalDetailsForm(forms.ModelForm):
    class Meta:
        model = Organisation
        fields = list(issuing.LEGAL_DETAILS)
        # A plain file field: the signature goes through the image pipeline (clean_signature),
        # not through Django's ImageField check, which accepts any format Pillow reads, as sent.
        field_classes = {"signature": forms.FileField}
        widgets = {"signature": forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"})}

    def clean_signature(self) -> Any:
        value = self.cleaned_data.get("signature")
        if not isinstance(value, UploadedFile):
            return value  # the current file, or False when cleared
        try:
            png = prepare_signature(value)
        except PhotoRefused as refused:
            raise forms.ValidationError(refused.message) from refused
        # Re-encoded, under a random name: nothing of the sent file (name, metadata) is kept.
        return ContentFile(png, name=f"{secrets.token_urlsafe(18)}.png")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def manage_legal_details(request: HttpRequest, slug: str) -> HttpResponse:
    """The organisation's legal details and signatory: its treasurers and admins only."""
    user: User = request.user  # type: ignore[assignment]
    administered = (
        Organisation.objects.all() if user.is_superuser else organisations_user_may(user, Permission.RECEIPTS)
    )
    organisation = administered.filter(slug=slug).first()
    if organisation is None:
        raise Http404
    form = LegalDetailsForm(request.POST or None, request.FILES or None, instance=organisation)
    if request.method == "POST":
        try:
            upload_count(user_id=user.pk, images=len(request.FILES.getlist("signature")))
        except TooManyUploads as error:
            messages.error(request, str(error.detail))
            context = {"form": LegalDetailsForm(instance=organisation), "organisation": organisation}
            return render(request, "receipts/manage_legal_details.html", context, status=error.status_code)
        if form.is_valid():
            changes.organisation_legal_details_update(
                organisation=Organisation.objects.get(pk=organisation.pk), actor=user, **form.cleaned_data
            )
            return redirect("receipts:manage-legal-details", slug=organisation.slug)
        return render(
            request, "receipts/manage_legal_details.html", {"form": form, "organisation": organisation}, status=400
        )
    missing = [
        str(getattr(Organisation._meta.get_field(name), "verbose_name", name))
        for name in issuing.organisation_missing(organisation)
    ]
    context = {"form": form, "organisation": organisation, "missing": missing}
    return render(request, "receipts/manage_legal_details.html", context)
