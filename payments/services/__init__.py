"""Writes of the payments adapter: ``connect`` (the organisations' connected
accounts: onboarding and ``account.updated``). Import from here."""

from payments.services.connect import (
    ConnectUnavailable,
    connect_event_receive,
    demo_onboarding_complete,
    organisation_connect_refresh,
    organisation_connect_start,
    organisation_connect_state_apply,
)

__all__ = [
    "ConnectUnavailable",
    "connect_event_receive",
    "demo_onboarding_complete",
    "organisation_connect_refresh",
    "organisation_connect_start",
    "organisation_connect_state_apply",
]
