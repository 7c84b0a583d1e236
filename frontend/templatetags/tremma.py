from __future__ import annotations

from datetime import datetime

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext, ngettext, pgettext

from kernel.money import format_money, percent
from kernel.words import de_name

register = template.Library()


@register.filter
def money(cents: int | None, currency: str = "EUR") -> str:
    """Integer cents as text in the active language: ``12,50 €`` / ``€12.50``."""
    if cents is None:
        return ""
    return format_money(int(cents), currency, get_language() or "fr")


@register.filter(name="de")
def de(name: object) -> str:
    """``{{ organisation.name|de }}``, for ``{% blocktranslate %}Paiements {{ de_name }}…``: in French, the name
    after "de", elided the French way ("d'Emmaüs", "de Secours populaire"); in another language the name alone,
    its translation having its own word before it ("Payments of %(de_name)s")."""
    text = str(name)
    return de_name(text) if (get_language() or "fr").startswith("fr") else text


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


@register.simple_tag
def backers(count: int) -> str:
    """``3 soutiens`` in the page's language, with both forms for live.js's
    ``setCount`` so the word follows the number when it changes live."""
    one = pgettext("nombre de soutiens, pour 0 ou 1 en français", "soutien")
    other = pgettext("nombre de soutiens, au-delà", "soutiens")
    text = ngettext("%(count)s soutien", "%(count)s soutiens", count) % {"count": count}
    return format_html('<span data-backers data-one="{}" data-other="{}">{}</span>', one, other, text)


@register.filter
def seconds_left(until: datetime | None) -> int:
    """Whole seconds from now to ``until`` (0 once past): what a countdown starts from
    (frontend/countdown.js), counted by the server so that a phone's wrong clock does not matter."""
    if until is None:
        return 0
    return max(0, int((until - timezone.now()).total_seconds()))


@register.simple_tag
def match_banner(percent_matched: int, until: object = None) -> str:
    """« Votre don est doublé ! » while matchfunding partners add 100 % of each gift, « triplé »
    at 200 %, else « abondé de N % »; hidden at 0. It carries the three wordings for live.js's
    ``setMatchBanner``, which follows ``campaign.progress``'s ``match_percent``, and the end of
    the pledges (``until``) at which the page hides it."""
    double = gettext("Votre don est doublé !")
    triple = gettext("Votre don est triplé !")
    other = gettext("Votre don est abondé de {percent} % !")
    if percent_matched == 100:
        text = double
    elif percent_matched == 200:
        text = triple
    else:
        text = other.replace("{percent}", str(percent_matched))
    return format_html(
        '<strong class="match-banner" data-match-banner data-percent="{}" data-double="{}" data-triple="{}"'
        ' data-other="{}" data-until="{}"{}>{}</strong>',
        percent_matched,
        double,
        triple,
        other,
        until.isoformat() if hasattr(until, "isoformat") else "",
        mark_safe(" hidden") if percent_matched <= 0 else "",
        text,
    )
