from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kernel.money import CURRENCY
from kernel.places import department_of


class Organisation(models.Model):
    """An association (Emmaüs community, ressourcerie…) that runs campaigns.

    Its legal details are printed on tax receipts."""

    class LegalForm(models.TextChoices):
        ASSOCIATION = "association", _("Association loi 1901")
        FOUNDATION = "foundation", _("Fondation")
        ENTERPRISE = "enterprise", _("Entreprise d'insertion")
        OTHER = "other", _("Autre")

    name = models.CharField(_("nom"), max_length=200)
    slug = models.SlugField(_("identifiant"), max_length=80, unique=True)
    legal_name = models.CharField(_("raison sociale"), max_length=200)
    legal_form = models.CharField(_("forme juridique"), max_length=20, choices=LegalForm.choices)
    siren = models.CharField(_("SIREN"), max_length=9, blank=True)
    rna = models.CharField(_("numéro RNA"), max_length=10, blank=True)
    purpose = models.TextField(pgettext_lazy("raison d'être", "objet"), blank=True)
    address_line1 = models.CharField(_("adresse"), max_length=200)
    address_line2 = models.CharField(_("complément d'adresse"), max_length=200, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=20)
    city = models.CharField(_("ville"), max_length=100)
    country = models.CharField(_("pays"), max_length=2, default="FR")
    contact_email = models.EmailField(_("e-mail de contact"))
    contact_phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    website = models.URLField(_("site web"), blank=True)
    opening_hours = models.TextField(
        _("horaires d'ouverture"),
        blank=True,
        max_length=1000,
        help_text=_("Par exemple : du mardi au samedi, 10 h – 18 h."),
    )
    # The Stripe Connect account, created from the organisation's payments page
    # (payments.services.connect); its state comes from Stripe's account.updated events.
    stripe_account_id = models.CharField(_("compte Stripe Connect"), max_length=64, blank=True)
    stripe_transfers_active = models.BooleanField(_("virements possibles"), default=False)
    stripe_payouts_enabled = models.BooleanField(_("versements bancaires possibles"), default=False)
    stripe_details_submitted = models.BooleanField(_("dossier Stripe envoyé"), default=False)
    stripe_requirements_due = models.JSONField(_("informations demandées par Stripe"), default=list, blank=True)
    stripe_disabled_reason = models.CharField(_("motif de blocage Stripe"), max_length=80, blank=True)
    # When Stripe said so (the event's creation time): an older event never overwrites a newer state.
    stripe_state_at = models.DateTimeField(_("état Stripe au"), null=True, blank=True)

    class TaxRegime(models.TextChoices):
        """Which reduction its gifts open (article 200 of the CGI): the organisation declares it."""

        GENERAL_INTEREST = "general_interest", _("Organisme d'intérêt général (réduction de 66 %)")
        PEOPLE_IN_DIFFICULTY = (
            "people_in_difficulty",
            _("Organisme d'aide aux personnes en difficulté (réduction de 75 %, article 200-1 ter du CGI)"),
        )

    # Legal details of tax receipts (Cerfa n° 11580*05), edited by the organisation's admins.
    tax_regime = models.CharField(
        _("régime des dons"), max_length=24, choices=TaxRegime.choices, default=TaxRegime.GENERAL_INTEREST
    )
    qualifying_status = models.CharField(
        _("qualité déclarée"),
        max_length=300,
        blank=True,
        help_text=_("Telle qu'imprimée sur les reçus, par ex. « Association reconnue d'utilité publique »."),
    )
    signatory_name = models.CharField(_("nom du signataire"), max_length=120, blank=True)
    signatory_title = models.CharField(_("qualité du signataire"), max_length=120, blank=True)
    signature = models.ImageField(_("image de la signature"), upload_to="signatures/", blank=True)
    receipts_consolidated = models.BooleanField(
        _("reçus récapitulatifs annuels"),
        default=False,
        help_text=_("Un seul reçu par donateur et par an au lieu d'un reçu par don."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name",)
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.CheckConstraint(condition=~Q(siren="") | ~Q(rna=""), name="organisation_has_siren_or_rna"),
            models.UniqueConstraint(
                fields=["stripe_account_id"],
                condition=~Q(stripe_account_id=""),
                name="organisation_stripe_account_once",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def department(self) -> str:
        """Its department (``kernel.places``), ``""`` outside France's departments."""
        return department_of(self.postal_code)


class Membership(models.Model):
    """A person's role in an organisation. What each role may do is the table of
    ``campaigns.permissions``; ``campaigns.selectors.user_may`` is the one check."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Administrateur")
        TREASURER = "treasurer", _("Trésorier")
        MANAGER = "manager", _("Gestionnaire")
        VOLUNTEER = "volunteer", _("Bénévole")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("rôle"), max_length=10, choices=Role.choices, default=Role.MANAGER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membre")
        verbose_name_plural = _("membres")
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation"], name="one_membership_per_user_and_organisation"),
            # The roles of Role (campaigns.permissions says what each may do).
            models.CheckConstraint(
                condition=Q(role__in=["admin", "treasurer", "manager", "volunteer"]), name="membership_role_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation} ({self.role})"


class Invitation(models.Model):
    """An admin asks someone, by email, to join the organisation with a role. The
    email carries a signed link (campaigns.team), valid until ``expires_at`` and
    good once: accepted, revoked or expired, it opens nothing."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail"))
    role = models.CharField(_("rôle"), max_length=10, choices=Membership.Role.choices)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expire le"))
    accepted_at = models.DateTimeField(_("acceptée le"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(_("annulée le"), null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=["admin", "treasurer", "manager", "volunteer"]), name="invitation_role_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.organisation} ({self.role})"


class AuditEntry(models.Model):
    """One sensitive action on an organisation: who, when, what. Written by
    ``campaigns.services.audit_record`` in the transaction of the change itself,
    never edited. The actor's email stays when their account goes; no actor: Trëmma
    itself (a provider's event, a refund's consequences)."""

    class Action(models.TextChoices):
        REFUND = "refund", _("Remboursement demandé")
        RECEIPT_CANCELLED = "receipt_cancelled", _("Reçu fiscal annulé")
        LEGAL_DETAILS_CHANGED = "legal_details_changed", _("Mentions des reçus modifiées")
        PAYOUT_ACCOUNT_CREATED = "payout_account_created", _("Compte de versement créé")
        PAYOUT_ONBOARDING_OPENED = "payout_onboarding_opened", _("Formulaire du compte de versement ouvert")
        PAYOUT_ACCOUNT_UPDATED = "payout_account_updated", _("État du compte de versement changé")
        ROLE_CHANGED = "role_changed", _("Rôle changé")
        MEMBER_REMOVED = "member_removed", _("Membre retiré")
        INVITATION_SENT = "invitation_sent", _("Invitation envoyée")
        INVITATION_REVOKED = "invitation_revoked", _("Invitation annulée")
        INVITATION_ACCEPTED = "invitation_accepted", _("Invitation acceptée")
        NEWS_POSTED = "news_posted", _("Nouvelle publiée")
        PLEDGE_CREATED = "pledge_created", _("Abondement enregistré")
        PLEDGE_CHANGED = "pledge_changed", _("Abondement modifié")
        PLEDGE_SETTLED = "pledge_settled", _("Abondement reçu")
        WALL_APPROVED = "wall_approved", _("Message du mur des donateurs affiché")
        WALL_HIDDEN = "wall_hidden", _("Message du mur des donateurs masqué")
        COUNTER_RECORDED = "counter_recorded", _("Saisie au comptoir")
        COUNTER_CANCELLED = "counter_cancelled", _("Saisie au comptoir annulée")
        PARCEL_LABELS_PRINTED = "parcel_labels_printed", _("Étiquettes de colis imprimées")
        PARCEL_SHIPPED = "parcel_shipped", _("Colis expédié")
        PARCEL_CANCELLED = "parcel_cancelled", _("Colis non expédié à temps : annulé et remboursé")
        PARCEL_RETURNED = "parcel_returned", _("Colis revenu à l'expéditeur : remboursé")
        WITHDRAWAL_RECEIVED = "withdrawal_received", _("Rétractation : objet rendu, remboursé")
        WITHDRAWAL_CANCELLED = "withdrawal_cancelled", _("Rétractation close sans retour")

    # PROTECT: an organisation with a journal is not deleted by accident.
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="audit_entries")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_email = models.CharField(_("e-mail de l'auteur"), max_length=254, blank=True)
    action = models.CharField(_("action"), max_length=40, choices=Action.choices)
    subject = models.CharField(_("objet"), max_length=200)
    details = models.JSONField(_("détails"), default=dict, blank=True)
    at = models.DateTimeField(_("date"), default=timezone.now)

    class Meta:
        ordering = ("-at", "-id")
        verbose_name = _("entrée du journal")
        verbose_name_plural = _("journal des actions sensibles")
        indexes = [models.Index(fields=["organisation", "-at"], name="audit_by_organisation")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.organisation_id} {self.action} {self.subject}"


class Campaign(models.Model):
    """A concrete project of an organisation. Money raised comes from the ledger."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Brouillon")
        LIVE = "live", _("En cours")
        CLOSED = "closed", _("Terminée")

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="campaigns")
    slug = models.SlugField(_("identifiant"), max_length=80, unique=True)
    title = models.CharField(_("titre"), max_length=200)
    summary = models.CharField(_("résumé"), max_length=300)
    story = models.TextField(_("histoire"), blank=True)
    goal_cents = models.PositiveIntegerField(_("objectif (centimes)"))
    currency = models.CharField(max_length=3, default=CURRENCY, editable=False)
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    starts_at = models.DateTimeField(_("début"))
    ends_at = models.DateTimeField(_("fin"), null=True, blank=True)
    cover = models.ImageField(_("image de couverture"), upload_to="campaigns/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-starts_at", "id")
        verbose_name = _("campagne")
        verbose_name_plural = _("campagnes")
        constraints = [
            models.CheckConstraint(condition=Q(goal_cents__gt=0), name="campaign_goal_positive"),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="campaign_ends_after_start",
            ),
            models.CheckConstraint(condition=Q(currency="EUR"), name="campaign_currency_eur"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("pages:campaign", kwargs={"slug": self.slug})


# --- Matchfunding ----------------------------------------------------------------------------------


class Partner(models.Model):
    """A company or a foundation that promises an organisation to match the gifts
    to one of its campaigns (``Pledge``). Its legal identity is printed on the
    receipt its payment gets: a company's is Cerfa n° 16216, a foundation's or an
    association's the usual 11580."""

    class Kind(models.TextChoices):
        COMPANY = "company", _("Entreprise")
        FOUNDATION = "foundation", _("Fondation ou association")

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="partners")
    kind = models.CharField(_("statut du partenaire"), max_length=12, choices=Kind.choices)
    legal_name = models.CharField(_("raison sociale"), max_length=200)
    legal_form = models.CharField(_("forme juridique"), max_length=100, blank=True)
    siren = models.CharField(_("SIREN"), max_length=9, blank=True)
    address_line1 = models.CharField(_("adresse"), max_length=200)
    address_line2 = models.CharField(_("complément d'adresse"), max_length=200, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=20)
    city = models.CharField(_("ville"), max_length=100)
    country = models.CharField(_("pays"), max_length=2, default="FR")
    contact_email = models.EmailField(_("e-mail de contact"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("legal_name", "id")
        verbose_name = _("partenaire")
        verbose_name_plural = _("partenaires")
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["company", "foundation"]), name="partner_kind_known"),
            # A company's receipt (Cerfa 16216) names its SIREN: nine digits.
            models.CheckConstraint(
                condition=~Q(kind="company") | Q(siren__regex=r"^[0-9]{9}$"), name="partner_company_has_siren"
            ),
        ]

    def __str__(self) -> str:
        return self.legal_name


class Pledge(models.Model):
    """A partner's promise to match each gift paid to ``campaign`` until
    ``ends_at``: ``ratio_percent`` of the gift (100: the gift is doubled), never
    more in all than ``cap_cents``. The shares are recorded per gift in
    ``ledger.PledgeMatch``; they are a promise, never money received, until the
    partner pays and a manager records it (``settled``): that payment then
    enters the campaign's ledger, and the partner gets its receipt."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Promis")
        SETTLED = "settled", _("Reçu")

    class Means(models.TextChoices):
        TRANSFER = "transfer", _("Virement")
        CHEQUE = "cheque", _("Chèque")

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="pledges")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="pledges")
    ratio_percent = models.PositiveSmallIntegerField(_("part ajoutée à chaque don, en %"), default=100)
    cap_cents = models.PositiveIntegerField(_("plafond (centimes)"))
    ends_at = models.DateTimeField(_("jusqu'au"))
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    # When the partner was asked to pay what its pledge matched (once, after its end).
    called_at = models.DateTimeField(null=True, blank=True)
    # The partner's payment, as a manager recorded it.
    received_cents = models.PositiveIntegerField(_("montant reçu (centimes)"), null=True, blank=True)
    received_on = models.DateField(_("reçu le"), null=True, blank=True)
    received_means = models.CharField(_("mode de versement"), max_length=10, choices=Means.choices, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("abondement")
        verbose_name_plural = _("abondements")
        constraints = [
            models.CheckConstraint(condition=Q(cap_cents__gt=0), name="pledge_cap_positive"),
            models.CheckConstraint(
                condition=Q(ratio_percent__gte=1, ratio_percent__lte=1000), name="pledge_ratio_bounded"
            ),
            models.CheckConstraint(
                condition=Q(status="active", received_cents__isnull=True, settled_at__isnull=True)
                | Q(
                    status="settled",
                    received_cents__gt=0,
                    received_on__isnull=False,
                    received_means__in=["transfer", "cheque"],
                    settled_at__isnull=False,
                ),
                name="pledge_settlement_recorded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner} → {self.campaign}"


# A pledge matches gifts while active; once its payment is recorded, nothing moves it again.
PLEDGE_TRANSITIONS: dict[str, frozenset[str]] = {
    Pledge.Status.ACTIVE: frozenset({Pledge.Status.SETTLED}),
    Pledge.Status.SETTLED: frozenset(),
}
