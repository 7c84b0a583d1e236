"""``{% give_form campaign %}``: the gift form of a campaign, empty on the campaign
page (the e-mail of a signed-in person filled in), or bound with its errors beside each field when a
submission is refused."""

from __future__ import annotations

from typing import Any

from django import template

from accounts.requests import signed_in
from checkout.forms import GiveForm

register = template.Library()


@register.inclusion_tag("checkout/_give_form.html", takes_context=True)
def give_form(context: template.Context, campaign: Any, form: GiveForm | None = None) -> dict[str, Any]:
    if form is None:
        # A signed-in person finds their e-mail already there (and may change it).
        request = context.get("request")
        user = signed_in(request) if hasattr(request, "user") else None
        form = GiveForm(initial={"email": user.email} if user else None)
    return {"campaign": campaign, "form": form, "csrf_token": context.get("csrf_token")}
