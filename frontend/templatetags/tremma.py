from __future__ import annotations

from django import template
from django.conf import settings
from django.utils.translation import get_language

from tremma.money import format_money, percent

register = template.Library()


@register.filter
def money(cents: int | None, currency: str = "EUR") -> str:
    """Integer cents as text in the active language: ``12,50 €`` / ``€12.50``."""
    if cents is None:
        return ""
    return format_money(int(cents), currency, get_language() or "fr")


@register.simple_tag
def progress(raised_cents: int, goal_cents: int) -> int:
    return percent(raised_cents, goal_cents)


@register.filter
def absolute(url: str) -> str:
    """An absolute address on our public site (share previews need one): media
    already on S3 keeps its own; a path gets ``SITE_URL`` in front, never the request's Host."""
    if not url or url.startswith(("https://", "http://")):
        return url
    return settings.SITE_URL + url
