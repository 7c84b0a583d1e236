"""The Content-Security-Policy header (django-csp), with the site's policy built
once per process instead of at every response.

django-csp builds the policy's text from the settings for every response, about
a twentieth of a plain request's time here (``make bench``: ceiling (c)). The
site's policy depends only on the settings, so it is kept; a response that
brings parts of its own (django-csp's ``csp_update`` / ``csp_replace`` /
``csp_override`` decorators, a nonce a template asked for) gets its policy built
for it by django-csp itself, as before."""

from __future__ import annotations

from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from django.http.response import HttpResponseBase

_OWN_PARTS = ("_csp_config", "_csp_update", "_csp_replace", "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro")
# (header, the response attribute that exempts it, its setting, report only)
_HEADERS = (
    (HEADER, "_csp_exempt", "CONTENT_SECURITY_POLICY", False),
    (HEADER_REPORT_ONLY, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY", True),
)
_site_policies: dict[bool, str] = {}


def site_policy(*, report_only: bool = False) -> str:
    """The policy the settings give (empty when they give none), built once."""
    try:
        return _site_policies[report_only]
    except KeyError:
        policy = _site_policies[report_only] = build_policy(report_only=report_only)
        return policy


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _site_policies.clear()


class CSPMiddleware(DjangoCSPMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        own = getattr(request, "_csp_nonce", None) is not None or any(
            getattr(response, name, None) is not None for name in _OWN_PARTS
        )
        if own or (settings.DEBUG and response.status_code in (404, 500)):
            return super().process_response(request, response)
        for header, exempt, setting, report_only in _HEADERS:
            policy = site_policy(report_only=report_only)
            if not policy or header in response or getattr(response, exempt, False) is not False:
                continue
            prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
            if not request.path_info.startswith(tuple(prefixes)):
                response[header] = policy
        # As django-csp does: a nonce asked for after the header is written is an error, not a silent miss.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
