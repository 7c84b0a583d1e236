"""OpenAPI description of our session authentication (it is DRF's, plus CSRF for anonymous browsers)."""

from drf_spectacular.authentication import SessionScheme


class CsrfSessionScheme(SessionScheme):
    target_class = "accounts.authentication.CsrfSessionAuthentication"
