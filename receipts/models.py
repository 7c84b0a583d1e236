"""Tax receipts (reçus fiscaux) as stored. The tables keep the names they had
when these models lived in donations (``donations_taxreceipt``, …): the move
to this app changed no schema (migration 0001 is state-only)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from donations.models import Gift, Order, OrderLine
from kernel.money import CURRENCY


class ReceiptCounter(models.Model):
    """The last number given per organisation and year. Issuing a receipt locks
    this row (select_for_update) in the transaction that creates the receipt, so
    numbers have no gap (a rolled-back issue rolls the counter back too) and no
    duplicate (and the receipt's unique constraint says so again)."""

    organisation = models.ForeignKey(
        "campaigns.Organisation", on_delete=models.PROTECT, related_name="receipt_counters"
    )
    year = models.PositiveSmallIntegerField()
    last_sequence = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "donations_receiptcounter"
        constraints = [
            models.UniqueConstraint(fields=["organisation", "year"], name="one_receipt_counter_per_year"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id}/{self.year}: {self.last_sequence}"


class TaxReceipt(models.Model):
    """A tax receipt as issued: numbered, with a snapshot of the giver and of the
    beneficiary at issuing. Never edited nor deleted: a refund or a dispute
    cancels it (with a reason and a time); a correction is a new receipt that
    ``replaces`` the cancelled one."""

    class Status(models.TextChoices):
        ISSUED = "issued", _("Émis")
        CANCELLED = "cancelled", _("Annulé")

    organisation = models.ForeignKey("campaigns.Organisation", on_delete=models.PROTECT, related_name="receipts")
    year = models.PositiveSmallIntegerField(_("année"))
    sequence = models.PositiveIntegerField()
    number = models.CharField(_("numéro"), max_length=20)
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices, default=Status.ISSUED, editable=False)
    # The giver: the person who gave money, or the seller who gave the price of the object.
    giver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="tax_receipts"
    )
    giver_email = models.EmailField(_("e-mail du donateur"))
    giver_last_name = models.CharField(_("nom du donateur"), max_length=150)
    giver_first_names = models.CharField(_("prénoms du donateur"), max_length=150)
    giver_address_line1 = models.CharField(max_length=200)
    giver_address_line2 = models.CharField(max_length=200, blank=True)
    giver_postal_code = models.CharField(max_length=20)
    giver_city = models.CharField(max_length=100)
    giver_country = models.CharField(max_length=2, default="FR")
    # The beneficiary as it was at issuing.
    beneficiary_name = models.CharField(max_length=200)
    beneficiary_address_line1 = models.CharField(max_length=200)
    beneficiary_address_line2 = models.CharField(max_length=200, blank=True)
    beneficiary_postal_code = models.CharField(max_length=20)
    beneficiary_city = models.CharField(max_length=100)
    beneficiary_legal_form = models.CharField(max_length=100)
    beneficiary_registration = models.CharField(max_length=40)
    beneficiary_purpose = models.TextField()
    beneficiary_status = models.CharField(max_length=300)
    tax_regime = models.CharField(max_length=24)
    signatory_name = models.CharField(max_length=120)
    signatory_title = models.CharField(max_length=120)
    signature = models.CharField(max_length=255, blank=True)  # storage name of the signature image used
    amount_cents = models.PositiveIntegerField(_("montant (centimes)"))
    currency = models.CharField(max_length=3, default=CURRENCY, editable=False)
    # One payment (its date) or a consolidated receipt (a period).
    payment_date = models.DateField(_("date du versement"), null=True, blank=True)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    payment_method = models.CharField(_("mode de versement"), max_length=60)
    # What was given, as the form states it (receipts.document.GIFT_NATURES): money, or a seller's
    # renounced sale price. Receipts issued before this field existed said "numéraire".
    nature = models.CharField(_("nature du don"), max_length=20, default="cash")
    consolidated = models.BooleanField(_("récapitulatif"), default=False)
    # Which legal form the receipt is: "11580" (Cerfa n° 11580, gifts by individuals, foundations and
    # associations) or "16216" (Cerfa n° 16216, gifts by companies, article 238 bis of the CGI).
    form = models.CharField(_("formulaire"), max_length=5, default="11580")
    # The article of the CGI whose reduction the gift opens, as the form ticks it ("200", "238 bis").
    article = models.CharField(_("article du CGI"), max_length=10, default="200")
    # A legal person giving (a matchfunding partner): its SIREN and legal form, as printed.
    giver_registration = models.CharField(max_length=20, blank=True)
    giver_legal_form = models.CharField(max_length=100, blank=True)
    replaces = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrections")
    cancellation_reason = models.CharField(_("motif d'annulation"), max_length=300, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    pdf = models.FileField(_("PDF"), upload_to="receipts/%Y/", blank=True)
    issued_at = models.DateTimeField(_("émis le"))
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "donations_taxreceipt"
        ordering = ("-issued_at", "-id")
        verbose_name = _("reçu fiscal")
        verbose_name_plural = _("reçus fiscaux")
        indexes = [models.Index(fields=["organisation", "year", "status"], name="receipt_org_year_status")]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "year", "sequence"], name="receipt_number_unique"),
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="receipt_amount_positive"),
            models.CheckConstraint(condition=Q(sequence__gt=0), name="receipt_sequence_positive"),
            models.CheckConstraint(
                condition=Q(payment_date__isnull=False) | (Q(period_start__isnull=False) & Q(period_end__isnull=False)),
                name="receipt_has_date_or_period",
            ),
            models.CheckConstraint(
                condition=Q(status="issued", cancelled_at__isnull=True)
                | Q(status="cancelled", cancelled_at__isnull=False),
                name="receipt_cancellation_recorded",
            ),
            models.CheckConstraint(condition=Q(form__in=["11580", "16216"]), name="receipt_form_known"),
        ]

    def __str__(self) -> str:
        return self.number


class TaxReceiptLine(models.Model):
    """What a receipt covers: one paid gift or sale per line (several lines for a
    consolidated receipt). ``active`` follows the receipt's status, so that a
    payment is covered by one issued receipt at most: the database refuses a
    second one (partial unique constraints), whoever races to issue it."""

    receipt = models.ForeignKey(TaxReceipt, on_delete=models.PROTECT, related_name="lines")
    gift = models.ForeignKey(Gift, on_delete=models.PROTECT, null=True, blank=True, related_name="receipt_lines")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, null=True, blank=True, related_name="receipt_lines")
    # A sale is receipted per item: the line of the order that sold the seller's object.
    order_line = models.ForeignKey(
        OrderLine, on_delete=models.PROTECT, null=True, blank=True, related_name="receipt_lines"
    )
    # A matchfunding partner's payment of its pledge.
    pledge = models.ForeignKey(
        "campaigns.Pledge", on_delete=models.PROTECT, null=True, blank=True, related_name="receipt_lines"
    )
    amount_cents = models.PositiveIntegerField()
    paid_on = models.DateField()
    active = models.BooleanField(default=True)

    class Meta:
        db_table = "donations_taxreceiptline"
        ordering = ("paid_on", "id")
        constraints = [
            models.CheckConstraint(
                condition=Q(order__isnull=False, gift__isnull=True, pledge__isnull=True)
                | Q(order__isnull=True, gift__isnull=False, pledge__isnull=True)
                | Q(order__isnull=True, gift__isnull=True, pledge__isnull=False),
                name="receipt_line_for_one_payment",
            ),
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="receipt_line_amount_positive"),
            models.UniqueConstraint(fields=["gift"], condition=Q(active=True), name="one_active_receipt_per_gift"),
            models.UniqueConstraint(fields=["pledge"], condition=Q(active=True), name="one_active_receipt_per_pledge"),
            models.CheckConstraint(
                condition=Q(order__isnull=True) | Q(order_line__isnull=False), name="receipt_line_sale_has_line"
            ),
            models.UniqueConstraint(
                fields=["order_line"], condition=Q(active=True), name="one_active_receipt_per_order_line"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.receipt_id}: {self.amount_cents}"


class ReceiptWait(models.Model):
    """A payment due a receipt whose giver lacks a mandatory mention (name,
    address, or an account). No number is taken while it waits; the giver is
    told once what is missing (``notified_at``), and it goes once issued."""

    gift = models.OneToOneField(Gift, on_delete=models.CASCADE, null=True, blank=True, related_name="receipt_wait")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, null=True, blank=True, related_name="receipt_waits")
    order_line = models.OneToOneField(
        OrderLine, on_delete=models.CASCADE, null=True, blank=True, related_name="receipt_wait"
    )
    giver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="receipt_waits"
    )
    email = models.EmailField()
    missing = models.JSONField(default=list)
    notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "donations_receiptwait"
        constraints = [
            models.CheckConstraint(
                condition=(Q(order__isnull=False) & Q(gift__isnull=True))
                | (Q(order__isnull=True) & Q(gift__isnull=False)),
                name="receipt_wait_for_order_or_gift",
            ),
            models.CheckConstraint(
                condition=Q(order__isnull=True) | Q(order_line__isnull=False), name="receipt_wait_sale_has_line"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email}: {', '.join(self.missing)}"


class ReceiptPreference(models.Model):
    """A giver's choice of one consolidated receipt per organisation and year instead of one per gift."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="receipt_preference")
    consolidated = models.BooleanField(_("reçu récapitulatif annuel"), default=False)

    class Meta:
        db_table = "donations_receiptpreference"

    def __str__(self) -> str:
        return f"{self.user_id}: {self.consolidated}"
