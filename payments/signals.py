"""What the payments adapter tells the rooms above it, without importing them.

``transfers_enabled``: an organisation's connected account has just become able
to receive transfers (sent after commit, with ``organisation_id``); checkout
answers by sending the transfers that waited for it."""

from django.dispatch import Signal

transfers_enabled = Signal()
