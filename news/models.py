"""News to backers: the updates a campaign's managers post, the backers who agreed
to receive them by email (one subscription per email and campaign, with its
unsubscribe token), and each update's emails, one row per subscription so that
an update reaches a person once (news.services)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign


def new_unsubscribe_token() -> str:
    """256 random bits: the unsubscribe link names nothing else (and is signed besides)."""
    return secrets.token_urlsafe(32)


class Update(models.Model):
    """News of a campaign, posted by one of its managers: shown on the campaign page
    and emailed once to the backers who agreed to hear from it. ``text`` is plain
    text (paragraphs by blank lines), escaped wherever it is shown. The optional photo
    went through kernel.photos: ``image`` is its largest WebP, ``renditions`` every width."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="news_updates")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    title = models.CharField(_("titre"), max_length=200)
    text = models.TextField(_("texte"), max_length=10_000)
    image = models.ImageField(_("photo"), upload_to="news/", max_length=200, blank=True)
    fallback = models.FileField(_("photo JPEG de secours"), upload_to="news/", max_length=200, blank=True)
    # [{"name": storage name, "width": px, "height": px, "format": "webp" | "jpeg"}, …]
    renditions = models.JSONField(_("déclinaisons"), default=list, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(_("publiée le"), default=timezone.now)
    # When its emails were planned (news.services.update_dispatch): set once, by a conditional UPDATE.
    dispatched_at = models.DateTimeField(_("envoi préparé le"), null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("nouvelle")
        verbose_name_plural = _("nouvelles")
        indexes = [models.Index(fields=["campaign", "-created_at"], name="news_update_by_campaign")]

    def __str__(self) -> str:
        return self.title

    @property
    def photo(self) -> Update | None:
        """Itself when it has a photo (frontend/_picture.html reads the fields below), else None."""
        return self if self.image else None

    @property
    def webp_srcset(self) -> str:
        storage = self.image.storage
        webp = sorted((r for r in self.renditions if r.get("format") == "webp"), key=lambda r: r["width"])
        return ", ".join(f"{storage.url(r['name'])} {r['width']}w" for r in webp)

    @property
    def fallback_url(self) -> str:
        return self.fallback.url if self.fallback else self.image.url


class Subscription(models.Model):
    """A backer agreed to hear from a campaign (the gift form's or the API's ``news``,
    recorded once the payment is confirmed). ``email`` is kept in lower case: one row,
    so one email per update, however many times the person gave. Unsubscribing keeps
    the row (``unsubscribed_at``): a later gift with the box ticked again subscribes anew."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="news_subscriptions")
    email = models.EmailField(_("e-mail"), max_length=254)
    token = models.CharField(max_length=64, unique=True, default=new_unsubscribe_token, editable=False)
    # The language the person gave in: their news emails' own words are written in it.
    language = models.CharField(max_length=8, default="fr")
    consented_at = models.DateTimeField(_("accord donné le"), default=timezone.now)
    unsubscribed_at = models.DateTimeField(_("désabonné le"), null=True, blank=True)

    class Meta:
        ordering = ("campaign", "email")
        verbose_name = _("abonnement aux nouvelles")
        verbose_name_plural = _("abonnements aux nouvelles")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "email"], name="news_one_subscription_per_email"),
            models.CheckConstraint(condition=Q(email=Lower("email")), name="news_email_lower"),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.campaign_id}"


class Delivery(models.Model):
    """One update's email to one subscription: written when the update's emails are
    planned, claimed before sending, marked ``sent_at`` once the mail server took it."""

    update = models.ForeignKey(Update, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    # A sender's claim: another run leaves the row alone until then (a sender that died lets it go).
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("envoyé le"), null=True, blank=True)

    class Meta:
        ordering = ("update", "id")
        verbose_name = _("envoi d'une nouvelle")
        verbose_name_plural = _("envois des nouvelles")
        constraints = [
            models.UniqueConstraint(fields=["update", "subscription"], name="news_one_delivery_per_subscription"),
        ]

    def __str__(self) -> str:
        return f"{self.update_id} → {self.subscription_id}"
