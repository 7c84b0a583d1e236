from django.contrib import admin

from campaigns.models import AuditEntry, Campaign, Invitation, Membership, Organisation
from kernel.admin import ReadOnlyAdmin


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "legal_form", "siren", "rna", "city", "stripe_account_id", "stripe_transfers_active")
    search_fields = ("name", "legal_name", "siren", "rna", "stripe_account_id")
    # The account is created from the organisation's payments page, and its state comes from Stripe.
    readonly_fields = (
        "stripe_account_id",
        "stripe_transfers_active",
        "stripe_payouts_enabled",
        "stripe_details_submitted",
        "stripe_requirements_due",
        "stripe_disabled_reason",
        "stripe_state_at",
        # Uploaded from the legal details page only, through the image pipeline.
        "signature",
    )
    prepopulated_fields = {"slug": ("name",)}
    inlines = (MembershipInline,)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("title", "organisation", "status", "goal_cents", "starts_at", "ends_at")
    list_filter = ("status", "organisation")
    search_fields = ("title", "summary")
    prepopulated_fields = {"slug": ("title",)}
    # Uploaded from the campaign's pages or API only, through the image pipeline.
    readonly_fields = ("cover",)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "organisation", "action", "actor_email", "subject")
    list_filter = ("action", "organisation")
    search_fields = ("subject", "actor_email", "organisation__name")
    date_hierarchy = "at"


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ("email", "organisation", "role", "created_at", "expires_at", "accepted_at", "revoked_at")
    list_filter = ("role", "organisation")
    search_fields = ("email", "organisation__name")
