from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from campaigns.models import Organisation
from qr.models import Placement, Scan, ShortCode, Window

pytestmark = pytest.mark.django_db


def test_seed_demo_gives_each_organisation_a_window_of_eight_placements_with_scans_once() -> None:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    first = (Window.objects.count(), Placement.objects.count(), Scan.objects.count(), ShortCode.objects.count())
    call_command("seed_demo", stdout=io.StringIO())

    assert (Window.objects.count(), Placement.objects.count(), Scan.objects.count(), ShortCode.objects.count()) == first
    assert first[0] == Organisation.objects.count() == 2
    for window in Window.objects.all():
        placements = window.placements.select_related("item__campaign")
        assert placements.count() == 8
        assert all(p.item.campaign.organisation_id == window.organisation_id for p in placements)
        assert all(hasattr(p, "short_code") for p in placements)
        assert f"/windows/{window.pk}/screen/" in out.getvalue()
        assert f"/windows/{window.pk}/sheet.pdf" in out.getvalue()
    assert first[2] > 0 and not Scan.objects.filter(visitor_hash__contains="192.0.2").exists()
