"""Our own domain errors. One handler (kernel.api.exception_handler) turns
them into the one JSON error shape (kernel.api.error_body); users never see a stack trace."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """Base of the errors a service raises on purpose."""

    status_code = 400
    code = "invalid"
    default_detail: str | Promise = _("La demande n'a pas pu être traitée.")
    # The input field the error is about, if one: the API then names it in ``fields``.
    field: str | None = None
    # For a refusal that ends with time (a 429): the seconds after which trying again may succeed,
    # sent as ``Retry-After``.
    retry_after: int | None = None

    def __init__(self, internal: str = "", *, detail: str | Promise | None = None) -> None:
        # ``internal`` is for logs only; ``detail`` is what the user reads.
        super().__init__(internal or self.code)
        self.detail = detail if detail is not None else self.default_detail


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    default_detail = _("Introuvable.")


class PermissionDenied(DomainError):
    status_code = 403
    code = "permission_denied"
    default_detail = _("Vous n'avez pas le droit de faire cela.")


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
    default_detail = _("Cette action n'est plus possible dans l'état actuel.")
