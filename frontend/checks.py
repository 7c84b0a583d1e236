"""System checks of the frontend: the legal pages' details in production."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Warning, register

from frontend.legal import legal_settings_missing


@register("tremma", deploy=True)
def check_legal_details(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warn, under ``check --deploy``, when the operator's legal details are not set:
    the site would sell with a legal notice and terms that say "to be provided"."""
    missing = legal_settings_missing()
    if not missing:
        return []
    return [
        Warning(
            f"The legal pages lack the operator's details: {', '.join(missing)} not set.",
            hint=(
                "Set them in the environment (see README, settings): French law requires the legal notice "
                "(LCEN art. 6 III) and a consumer mediator (Code de la consommation L612-1) before selling."
            ),
            id="frontend.W001",
        )
    ]
