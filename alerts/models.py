"""Saved searches: a verified person asks to hear, by email and at most once a day, about
the objects newly listed that match the filters of the catalogue they were looking at
(``alerts.services``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Alert(models.Model):
    """One saved search of one person. ``filters`` are the catalogue's filters as
    ``GET /api/items/`` validates them, minus ``status``, ``window`` and ``ordering``
    (an alert is always about listed objects); ``key`` is their canonical digest, so
    the same search saved twice is one row. ``watermark`` is the last listing time
    already considered: the next email speaks only of objects listed after it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts")
    filters = models.JSONField(_("filtres"), default=dict, blank=True)
    key = models.CharField(max_length=64, editable=False)
    label = models.CharField(_("intitulé"), max_length=300)
    # The language the person used when saving it: its emails are written in it.
    language = models.CharField(max_length=8, default="fr")
    created_at = models.DateTimeField(_("créée le"), default=timezone.now)
    watermark = models.DateTimeField(_("objets considérés jusqu'au"), default=timezone.now)
    last_sent_at = models.DateTimeField(_("dernier e-mail le"), null=True, blank=True)
    # Stopped by the email's link (no account needed): the row stays, so the link still says "done".
    unsubscribed_at = models.DateTimeField(_("arrêtée le"), null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("alerte de recherche")
        verbose_name_plural = _("alertes de recherche")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="alerts_one_alert_per_search"),
        ]
        indexes = [
            # The hourly sweep: active alerts, the least recently considered first.
            models.Index(
                fields=["watermark"], name="alerts_active_by_watermark", condition=Q(unsubscribed_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.label}"
