"""``{% give_form campaign %}``: the gift form of a campaign, empty on the campaign
page, or bound with its errors beside each field when a submission is refused."""

from __future__ import annotations

from typing import Any

from django import template

from checkout.forms import GiveForm

register = template.Library()


@register.inclusion_tag("checkout/_give_form.html", takes_context=True)
def give_form(context: template.Context, campaign: Any, form: GiveForm | None = None) -> dict[str, Any]:
    return {"campaign": campaign, "form": form or GiveForm(), "csrf_token": context.get("csrf_token")}
