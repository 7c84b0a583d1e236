"""``python manage.py reconcile [--provider]``: check that the ledger agrees
with our orders and gifts (and with the provider); exit 1 on any difference."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ledger.selectors import ledger_differences


class Command(BaseCommand):
    help = "Compare the ledger with orders, gifts and (with --provider) the payment provider."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--provider", action="store_true", help="also ask the provider about each payment")

    def handle(self, *args: Any, provider: bool = False, **options: Any) -> None:
        differences = list(ledger_differences(with_provider=provider))
        for line in differences:
            self.stdout.write(line)
        if differences:
            raise CommandError(f"{len(differences)} difference(s) between the ledger and the payments")
        self.stdout.write(self.style.SUCCESS("The ledger agrees with the payments."))
