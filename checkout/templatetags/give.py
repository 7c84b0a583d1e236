"""``{% give_form campaign %}``: the gift form of a campaign, empty on the campaign
page (the e-mail of a signed-in person filled in), or bound with its errors beside each field when a
submission is refused. With it, the suggested amounts and, when the organisation can issue tax
receipts, what the gift costs after the tax reduction at its own rate (``{% gift_cost %}``, the
server's figure on the first render; frontend/static/frontend/give.js keeps it up to date)."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.utils.translation import get_language

from accounts.requests import signed_in
from checkout.forms import GiveForm, money_text, suggested_gift_cents
from checkout.tax_reduction import (
    GENERAL_PERCENT,
    ReductionRule,
    cost_after_reduction_cents,
    organisation_reduction_rule,
)
from kernel.money import euros_to_cents

register = template.Library()

# The amount the cost is shown for before one is chosen (the amount field's placeholder too).
EXAMPLE_CENTS = 2000


def _amount_shown(form: GiveForm) -> int | None:
    """The amount the form holds, if it is one a gift may have: the one typed if any,
    else the one chosen (the form's own rule, and give.js's)."""
    if not form.is_bound:
        return None
    text = str(form.data.get("amount") or "").strip() or str(form.data.get("suggested") or "").strip()
    cents = euros_to_cents(text)
    if cents is None or not settings.GIFT_MIN_CENTS <= cents <= settings.GIFT_MAX_CENTS:
        return None
    return cents


def _whole_euros(cents: int) -> str:
    """A suggested amount's button, the ceiling: ``1 000 €`` / ``€1,000`` (no cents when there are none)."""
    if cents % 100:
        return money_text(cents)
    french = (get_language() or "fr").startswith("fr")
    euros = f"{cents // 100:,}"
    return f"{euros.replace(',', chr(0x202F))}\u00a0€" if french else f"€{euros}"


@register.inclusion_tag("checkout/_give_form.html", takes_context=True)
def give_form(context: template.Context, campaign: Any, form: GiveForm | None = None) -> dict[str, Any]:
    if form is None:
        # A signed-in person finds their e-mail already there (and may change it).
        request = context.get("request")
        user = signed_in(request) if hasattr(request, "user") else None
        form = GiveForm(initial={"email": user.email} if user else None)
    chosen = euros_to_cents(str(form.data.get("suggested") or "")) if form.is_bound else None
    amounts = [
        {"value": str(cents // 100), "label": _whole_euros(cents), "checked": cents == chosen}
        for cents in suggested_gift_cents()
    ]
    reduction = organisation_reduction_rule(campaign.organisation)
    ceiling = reduction.ceiling_cents if reduction else None
    return {
        "campaign": campaign,
        "form": form,
        "csrf_token": context.get("csrf_token"),
        "amounts": amounts,
        "reduction": reduction,
        "ceiling_text": _whole_euros(ceiling) if ceiling is not None else "",
        "amount_cents": _amount_shown(form),
        "example_cents": EXAMPLE_CENTS,
        "example_text": _whole_euros(EXAMPLE_CENTS),
        "general_percent": GENERAL_PERCENT,
        "gift_min_cents": settings.GIFT_MIN_CENTS,
        "gift_max_cents": settings.GIFT_MAX_CENTS,
    }


@register.simple_tag
def gift_cost(amount_cents: int, rule: ReductionRule) -> str:
    """``{% gift_cost 2000 reduction %}`` → ``6,80 €``: the gift's cost after the tax reduction."""
    return money_text(cost_after_reduction_cents(amount_cents, rule))
