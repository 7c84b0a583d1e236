"""The organisation's own pages: its team (admins) and the invitation link.
Thin: validate, call one service or selector (campaigns.team), shape the answer."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from accounts.models import User
from accounts.requests import signed_in
from campaigns import team
from campaigns.models import AuditEntry, Membership, Organisation
from campaigns.permissions import Permission, role_permissions
from campaigns.selectors import organisations_user_may
from campaigns.services import organisation_opening_hours_set
from kernel.errors import DomainError
from kernel.money import format_money

ROLE_CHOICES = Membership.Role.choices


class InvitationForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Adresse e-mail"), max_length=254)
    role = forms.ChoiceField(label=gettext_lazy("Rôle"), choices=ROLE_CHOICES, initial=Membership.Role.VOLUNTEER)


class RoleForm(forms.Form):
    member = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    role = forms.ChoiceField(label=gettext_lazy("Rôle"), choices=ROLE_CHOICES)


class MemberForm(forms.Form):
    member = forms.IntegerField(min_value=1)


class RevokeForm(forms.Form):
    invitation = forms.IntegerField(min_value=1)


class ShopForm(forms.Form):
    opening_hours = forms.CharField(
        label=gettext_lazy("Horaires d'ouverture"),
        help_text=gettext_lazy(
            "Affichés sur la boutique de l'organisation. Par exemple : du mardi au samedi, 10 h – 18 h."
        ),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


def organisation_for(request: HttpRequest, slug: str, permission: Permission) -> Organisation:
    """The organisation ``slug`` if the user holds ``permission`` there (superusers: any); else 404."""
    user: User = request.user  # type: ignore[assignment]
    allowed = Organisation.objects.all() if user.is_superuser else organisations_user_may(user, permission)
    organisation = allowed.filter(slug=slug).first()
    if organisation is None:
        raise Http404
    return organisation


def _roles_explained() -> list[tuple[str, list[str]]]:
    labels = dict(PERMISSION_LABELS)
    return [(str(label), [str(labels[p]) for p in role_permissions(role)]) for role, label in ROLE_CHOICES]


PERMISSION_LABELS = [
    (Permission.TEAM, gettext_lazy("l'équipe")),
    (Permission.AUDIT, gettext_lazy("le journal")),
    (Permission.REFUND, gettext_lazy("les remboursements")),
    (Permission.RECEIPTS, gettext_lazy("les reçus fiscaux")),
    (Permission.PAYOUT_ACCOUNT, gettext_lazy("le compte de versement")),
    (Permission.LEDGER, gettext_lazy("les relevés")),
    (Permission.ORDERS, gettext_lazy("les commandes")),
    (Permission.CAMPAIGNS, gettext_lazy("les campagnes")),
    (Permission.OBJECTS, gettext_lazy("les objets et leur relecture")),
    (Permission.WINDOWS, gettext_lazy("les vitrines")),
    (Permission.HAND_OVER, gettext_lazy("les remises au comptoir")),
    (Permission.COUNTER, gettext_lazy("la caisse (ventes et dons au comptoir)")),
    (Permission.DASHBOARD, gettext_lazy("le tableau de bord")),
    (Permission.NEWS, gettext_lazy("les nouvelles aux donateurs")),
]


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def team_page(request: HttpRequest, slug: str) -> HttpResponse:
    """``/gestion/organisations/<slug>/equipe/``: members and their roles, invitations. Admins only."""
    organisation = organisation_for(request, slug, Permission.TEAM)
    user: User = request.user  # type: ignore[assignment]
    invite = InvitationForm()
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "invite":
                invite = InvitationForm(request.POST)
                if invite.is_valid():
                    try:
                        invitation = team.invitation_send(
                            actor=user, organisation_id=organisation.pk, **invite.cleaned_data
                        )
                    except DomainError as error:
                        invite.add_error(
                            "role" if isinstance(error, team.RoleAboveYours) else "email", str(error.detail)
                        )
                    else:
                        messages.success(request, _("Invitation envoyée à %(email)s.") % {"email": invitation.email})
                        return redirect("organisations:team", slug=organisation.slug)
                status = 400
            elif action in {"role", "remove", "revoke"}:
                _member_action(request, user, organisation, action)
                return redirect("organisations:team", slug=organisation.slug)
            else:
                status = 400
                messages.error(request, _("Action inconnue."))
        except DomainError as error:
            messages.error(request, str(error.detail))
            status = error.status_code
    context: dict[str, Any] = {
        "organisation": organisation,
        **team.team_of(organisation),
        "invite": invite,
        "roles": ROLE_CHOICES,
        "roles_explained": _roles_explained(),
        "me": user.pk,
    }
    return render(request, "campaigns/team.html", context, status=status)


def _member_action(request: HttpRequest, user: User, organisation: Organisation, action: str) -> None:
    """Change a role, remove a member or revoke an invitation; a DomainError says why not."""
    if action == "role":
        form: forms.Form = RoleForm(request.POST)
        if not form.is_valid():
            raise DomainError("role form", detail=_("Choisissez un rôle de la liste."))
        membership = team.member_role_change(
            actor=user,
            organisation_id=organisation.pk,
            membership_id=form.cleaned_data["member"],
            role=form.cleaned_data["role"],
        )
        messages.success(
            request,
            _("%(who)s : %(role)s.") % {"who": membership.user.email, "role": membership.get_role_display()},
        )
    elif action == "remove":
        form = MemberForm(request.POST)
        if not form.is_valid():
            raise DomainError("member form")
        team.member_remove(actor=user, organisation_id=organisation.pk, membership_id=form.cleaned_data["member"])
        messages.success(request, _("Membre retiré de l'équipe."))
    else:
        form = RevokeForm(request.POST)
        if not form.is_valid():
            raise DomainError("revoke form")
        team.invitation_revoke(
            actor=user, organisation_id=organisation.pk, invitation_id=form.cleaned_data["invitation"]
        )
        messages.success(request, _("Invitation annulée."))


@require_http_methods(["GET", "HEAD", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The link of an invitation's email. Signed out: sign in or sign up with the invited
    address, then back here. Signed in with it: one button to join. Anyone else: refused."""
    try:
        found = team.invitation_from_token(token)
    except team.InvitationInvalid as error:
        return render(request, "campaigns/invitation.html", {"problem": error.detail}, status=400)
    user = signed_in(request)
    here = request.get_full_path()
    context: dict[str, Any] = {"invitation": found, "organisation": found.organisation}
    if user is None:
        context["sign_in"] = f"{reverse('accounts:sign_in')}?{urlencode({'next': here})}"
        context["sign_up"] = f"{reverse('accounts:sign_up')}?{urlencode({'next': here})}"
        return render(request, "campaigns/invitation.html", context)
    try:
        team.invitation_check_recipient(invitation=found, user=user)
        if request.method == "POST":
            membership = team.invitation_accept(token=token, user=user)
            messages.success(
                request,
                _("Bienvenue dans l'équipe de %(organisation)s (%(role)s).")
                % {"organisation": found.organisation.name, "role": membership.get_role_display()},
            )
            return redirect("pages:dashboard")
    except DomainError as error:
        context["problem"] = error.detail
        return render(request, "campaigns/invitation.html", context, status=error.status_code)
    return render(request, "campaigns/invitation.html", context)


class JournalFilterForm(forms.Form):
    action = forms.ChoiceField(
        label=gettext_lazy("Action"), required=False, choices=[("", gettext_lazy("Toutes")), *AuditEntry.Action.choices]
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)


JOURNAL_PAGE_SIZE = 100


def _details_shown(details: dict[str, Any]) -> list[tuple[str, str]]:
    """An entry's details as the page shows them: amounts in euros, lists joined, the rest as stored."""
    shown = []
    for key, value in details.items():
        if key.endswith("_cents") and isinstance(value, int):
            shown.append((key.removesuffix("_cents"), format_money(value, language=get_language() or "fr")))
        elif isinstance(value, list):
            shown.append((key, " → ".join(str(part) for part in value)))
        else:
            shown.append((key, str(value)))
    return shown


@login_required
@require_safe
def journal(request: HttpRequest, slug: str) -> HttpResponse:
    """``/gestion/organisations/<slug>/journal/``: the organisation's sensitive actions,
    newest first. Its treasurers and admins (and the platform's superusers)."""
    organisation = organisation_for(request, slug, Permission.AUDIT)
    form = JournalFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponse(_("Filtre invalide."), status=400, content_type="text/plain; charset=utf-8")
    entries = AuditEntry.objects.filter(organisation=organisation)
    if form.cleaned_data["action"]:
        entries = entries.filter(action=form.cleaned_data["action"])
    page = Paginator(entries.order_by("-at", "-id"), JOURNAL_PAGE_SIZE).get_page(form.cleaned_data["page"] or 1)
    query = {"action": form.cleaned_data["action"]} if form.cleaned_data["action"] else {}
    context = {
        "organisation": organisation,
        "form": form,
        "page": page,
        "rows": [(entry, _details_shown(entry.details)) for entry in page],
        "previous": f"?{urlencode({**query, 'page': page.previous_page_number()})}" if page.has_previous() else "",
        "next": f"?{urlencode({**query, 'page': page.next_page_number()})}" if page.has_next() else "",
    }
    response = render(request, "campaigns/journal.html", context)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def shop_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """``/gestion/organisations/<slug>/boutique/``: what the organisation's shop page says of it
    (its opening hours). Its admins and managers."""
    organisation = organisation_for(request, slug, Permission.CAMPAIGNS)
    form = ShopForm(request.POST or None, initial={"opening_hours": organisation.opening_hours})
    if request.method == "POST":
        if form.is_valid():
            organisation_opening_hours_set(organisation_id=organisation.pk, **form.cleaned_data)
            messages.success(request, _("C'est enregistré."))
            return redirect("organisations:shop-settings", slug=organisation.slug)
        return render(request, "campaigns/shop_settings.html", {"organisation": organisation, "form": form}, status=400)
    return render(request, "campaigns/shop_settings.html", {"organisation": organisation, "form": form})
