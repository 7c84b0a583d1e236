"""``python manage.py receipts_consolidate --year 2026 [--organisation slug]``:
issue the yearly consolidated tax receipts (one per giver and organisation) for
the gifts and final sales of that year receipted yearly. Safe to run again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from campaigns.models import Organisation
from receipts.issuing import receipts_issue_consolidated


class Command(BaseCommand):
    help = "Issue the yearly consolidated tax receipts of a year."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--organisation", help="slug of one organisation (default: all)")

    def handle(self, *args: Any, year: int, organisation: str | None = None, **options: Any) -> None:
        organisation_id = None
        if organisation:
            found = Organisation.objects.filter(slug=organisation).values_list("pk", flat=True).first()
            if found is None:
                raise CommandError(f"no organisation {organisation!r}")
            organisation_id = found
        receipts = receipts_issue_consolidated(year=year, organisation_id=organisation_id)
        # Each receipt's PDF and email are its own task, recorded with it (receipt_deliver).
        self.stdout.write(f"{len(receipts)} consolidated receipts issued for {year}")
