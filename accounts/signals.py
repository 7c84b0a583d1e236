"""What happens to a person's data in the rooms above accounts, without
accounts importing them: each room answers these signals for its own data
(connected in its AppConfig.ready).

- ``account_deleting(user=...)``: sent inside the deletion's transaction, the
  person's row locked. A receiver withdraws or erases what is the person's in
  its room, or raises (e.g. ``accounts.services.AccountBusy``) to refuse: the
  whole deletion is then undone.
- ``account_exporting(user=...)``: a receiver returns ``{section: data}`` (JSON-ready)
  for the person's data export (RGPD art. 15 and 20)."""

from django.dispatch import Signal

account_deleting = Signal()
account_exporting = Signal()
