"""The client's address, trusting only the configured number of proxies."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.crypto import salted_hmac


def client_address(request: HttpRequest) -> str:
    """REMOTE_ADDR, or with TRUSTED_PROXY_HOPS = n the n-th address from the
    right of X-Forwarded-For (what our own n proxies saw); anything further
    left is written by the client and never trusted."""
    hops = settings.TRUSTED_PROXY_HOPS
    remote = str(request.META.get("REMOTE_ADDR", ""))
    if hops <= 0:
        return remote
    forwarded = [part.strip() for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",") if part.strip()]
    if len(forwarded) < hops:
        return remote
    return forwarded[-hops]


def client_key(request: HttpRequest) -> str:
    """A keyed hash of the client address: enough to count per client, no raw address kept."""
    address = client_address(request)
    return salted_hmac("tremma.client-address", address).hexdigest()[:32] if address else ""
