from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext

register = template.Library()


@register.filter
def or_missing(value: str, setting: str) -> SafeString:
    """The operator's detail, or a visible mark naming the setting that must provide it:
    a legal page must never show a blank where the law asks for a fact."""
    if value:
        return format_html("{}", value)
    return format_html(
        '<mark class="missing">{}</mark>',
        gettext("[à renseigner par l’exploitant du site : réglage %(setting)s]") % {"setting": setting},
    )
