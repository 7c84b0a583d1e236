"""The donor wall's moderation: a giver's name and message show on the campaign page only once a
member of its organisation who may edit campaigns approved them; they may hide them again at any
time. Each decision is one conditional UPDATE of the gift and one entry of the audit trail, in the
same transaction."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from campaigns.models import AuditEntry
from campaigns.permissions import Permission
from campaigns.selectors import permission_require
from campaigns.services import audit_record
from checkout.selectors import wall_candidates
from donations.models import Gift
from kernel.errors import Conflict, NotFound

# What a decision makes of a gift's place on the wall, and what the audit trail says of it.
WALL_DECISIONS: dict[str, tuple[str, AuditEntry.Action]] = {
    "approve": (Gift.WallStatus.APPROVED, AuditEntry.Action.WALL_APPROVED),
    "hide": (Gift.WallStatus.HIDDEN, AuditEntry.Action.WALL_HIDDEN),
}


class NotOnWall(Conflict):
    code = "not_on_wall"
    default_detail = _("Ce don ne peut pas figurer sur le mur : il est anonyme, sans nom, ou n'est plus payé.")


def gift_wall_decide(*, actor: User, gift_id: int, decision: str) -> Gift:
    """Approve (``"approve"``) or hide (``"hide"``) a gift's name and message on its campaign's wall.
    Another organisation's gift is a 404 (as a missing one), a member whose role may not edit
    campaigns a 403. The same decision twice changes nothing and records nothing."""
    if decision not in WALL_DECISIONS:
        raise ValueError(f"wall decision {decision!r}")
    to, action = WALL_DECISIONS[decision]
    with transaction.atomic():
        gift = Gift.objects.select_for_update().select_related("campaign").filter(pk=gift_id).first()
        if gift is None:
            raise NotFound(f"gift {gift_id}")
        permission_require(actor, gift.campaign.organisation_id, Permission.CAMPAIGNS)
        if not wall_candidates().filter(pk=gift.pk).exists():
            raise NotOnWall(f"gift {gift.pk} is {gift.status}, anonymous {gift.anonymous}")
        if gift.wall_status == to:
            return gift
        now = timezone.now()
        Gift.objects.filter(pk=gift.pk, wall_status=gift.wall_status).update(wall_status=to, wall_decided_at=now)
        gift.wall_status, gift.wall_decided_at = to, now
        audit_record(
            organisation_id=gift.campaign.organisation_id,
            actor=actor,
            action=action,
            subject=f"gift:{gift.pk}",
            details={"campaign": gift.campaign.slug, "name": gift.name, "message": gift.message[:300]},
        )
    return gift
