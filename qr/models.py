"""Short codes, their scan log, shop windows and the items placed in them."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, Organisation
from donations.models import Item

# Upper-case letters and digits without the look-alikes 0/O, 1/I/L: a code read
# aloud or typed from a printed card cannot be misread. Lower-case input is
# upper-cased before lookup, so "l" never needs to exist either.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 7  # 31**7 ≈ 2.7e10 codes: random draws practically never collide


class Window(models.Model):
    """A physical shop-window display of an organisation, for a period."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="windows")
    name = models.CharField(_("nom"), max_length=120)
    place = models.CharField(_("lieu"), max_length=200, help_text=_("Par exemple : la boutique de la rue Carnot."))
    address = models.CharField(_("adresse"), max_length=300, blank=True)
    starts_at = models.DateTimeField(_("début"))
    ends_at = models.DateTimeField(_("fin"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-starts_at", "id")
        verbose_name = _("vitrine")
        verbose_name_plural = _("vitrines")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="window_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.place})"

    def get_absolute_url(self) -> str:
        return reverse("qr:window", kwargs={"pk": self.pk})


class Placement(models.Model):
    """One item shown in one window. Removing it keeps the row (``removed_at``)
    so a card still hanging in the window keeps leading to the item's page."""

    window = models.ForeignKey(Window, on_delete=models.CASCADE, related_name="placements")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="placements")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    added_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(_("retiré le"), null=True, blank=True)

    class Meta:
        ordering = ("position", "id")
        verbose_name = _("emplacement")
        verbose_name_plural = _("emplacements")
        constraints = [
            models.UniqueConstraint(
                fields=["window", "item"],
                condition=Q(removed_at__isnull=True),
                name="one_current_placement_per_item_and_window",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.window_id}#{self.position}: {self.item_id}"


class ShortCode(models.Model):
    """``/q/<code>``: stored (not signed), so codes survive a new SECRET_KEY.

    It points at exactly one target. Each target has at most one code (the
    one-to-one fields), which is what makes ``short_code_for`` race safe: the
    database refuses a second code for the same target.
    """

    code = models.CharField(_("code"), max_length=16, unique=True)
    item = models.OneToOneField(Item, on_delete=models.CASCADE, null=True, blank=True, related_name="short_code")
    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, null=True, blank=True, related_name="short_code"
    )
    window = models.OneToOneField(Window, on_delete=models.CASCADE, null=True, blank=True, related_name="short_code")
    placement = models.OneToOneField(
        Placement, on_delete=models.CASCADE, null=True, blank=True, related_name="short_code"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    TARGET_FIELDS = ("item", "campaign", "window", "placement")

    class Meta:
        verbose_name = _("code court")
        verbose_name_plural = _("codes courts")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(item__isnull=False, campaign__isnull=True, window__isnull=True, placement__isnull=True)
                    | Q(item__isnull=True, campaign__isnull=False, window__isnull=True, placement__isnull=True)
                    | Q(item__isnull=True, campaign__isnull=True, window__isnull=False, placement__isnull=True)
                    | Q(item__isnull=True, campaign__isnull=True, window__isnull=True, placement__isnull=False)
                ),
                name="short_code_has_exactly_one_target",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def target(self) -> Item | Campaign | Window | Placement:
        for name in self.TARGET_FIELDS:
            value = getattr(self, name)
            if value is not None:
                return value  # type: ignore[no-any-return]
        raise ValueError(f"short code {self.code} has no target")

    @property
    def path(self) -> str:
        return reverse("qr:scan", kwargs={"code": self.code})


class Scan(models.Model):
    """One scan of a short code. Never the raw IP address: at most a hash salted
    with a random salt of the day, which is deleted once the day is over, so the hash
    counts unique visitors for a day and can never be reversed later."""

    class ClientClass(models.TextChoices):
        MOBILE = "mobile", _("Mobile")
        DESKTOP = "desktop", _("Ordinateur")
        BOT = "bot", _("Robot")
        UNKNOWN = "unknown", _("Inconnu")

    short_code = models.ForeignKey(ShortCode, on_delete=models.CASCADE, related_name="scans")
    placement = models.ForeignKey(Placement, on_delete=models.SET_NULL, null=True, blank=True, related_name="scans")
    window = models.ForeignKey(Window, on_delete=models.SET_NULL, null=True, blank=True, related_name="scans")
    at = models.DateTimeField(db_index=True)
    client_class = models.CharField(max_length=10, choices=ClientClass.choices, default=ClientClass.UNKNOWN)
    visitor_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ("-at", "-id")
        verbose_name = _("scan")
        verbose_name_plural = _("scans")

    def __str__(self) -> str:
        return f"{self.short_code_id} @ {self.at:%Y-%m-%d %H:%M}"


class ScanSalt(models.Model):
    """The random salt of one day for visitor hashes; older ones are deleted."""

    day = models.DateField(unique=True)
    salt = models.CharField(max_length=64)

    def __str__(self) -> str:
        return str(self.day)
