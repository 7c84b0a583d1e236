"""Demo data: two organisations, three live campaigns, forty-odd items with
photos drawn locally. Idempotent: running it twice duplicates nothing."""

from __future__ import annotations

import hashlib
import io
import os
import unicodedata
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from PIL import Image, ImageDraw

from accounts.models import User
from campaigns.models import Campaign, Membership, Organisation
from checkout.services import gift_start
from donations.models import Gift, Item, ItemPhoto, ItemStatus, parcel_allowed
from donations.services import item_department, item_transition
from payments.demo_gateway import ACCOUNT_PREFIX, session_pay
from payments.services import demo_onboarding_complete
from qr.models import Window
from qr.services import placement_add, scan_record, short_code_for, window_create

DEFAULT_PASSWORD = "tremma-demo-2026"  # noqa: S105 -- demo accounts only, printed by make demo

ORGANISATIONS: list[dict[str, Any]] = [
    {
        "slug": "emmaus-lescar-pau",
        "name": "Emmaüs Lescar-Pau",
        "legal_name": "Communauté Emmaüs de Lescar-Pau",
        "legal_form": Organisation.LegalForm.ASSOCIATION,
        "rna": "W643000123",
        "siren": "323456789",
        "purpose": "Accueillir et loger des personnes en difficulté, et financer leur accueil par le réemploi.",
        "address_line1": "Chemin de la Tuilerie",
        "postal_code": "64230",
        "city": "Lescar",
        "contact_email": "contact@emmaus-lescar.example",
        "opening_hours": "Du mardi au samedi, 10 h – 12 h et 14 h – 18 h.\n"
        "Bric-à-brac ouvert le premier dimanche du mois.",
        "tax_regime": Organisation.TaxRegime.PEOPLE_IN_DIFFICULTY,
        "signatory_name": "Claire Dupuis",
        "signatory_title": "Présidente",
        "manager": ("Claire", "Dupuis", "claire@emmaus-lescar.example"),
        # Its team besides its admin: a treasurer (refunds, receipts, payouts) and a volunteer at the counter.
        "team": [
            ("Marc", "Lefèvre", "tresorier@emmaus-lescar.example", Membership.Role.TREASURER),
            ("Inès", "Moreau", "benevole@emmaus-lescar.example", Membership.Role.VOLUNTEER),
        ],
        # Its Stripe account is connected (demo gateway); La Boucle's admin sees the button to connect one.
        "connected": True,
    },
    {
        "slug": "ressourcerie-la-boucle",
        "name": "Ressourcerie La Boucle",
        "legal_name": "Association La Boucle",
        "legal_form": Organisation.LegalForm.ASSOCIATION,
        "rna": "W751234567",
        "siren": "812345678",
        "purpose": "Collecter, réparer et revendre des objets pour réduire les déchets "
        "et créer des emplois d'insertion.",
        "address_line1": "12 rue des Vinaigriers",
        "postal_code": "75010",
        "city": "Paris",
        "contact_email": "bonjour@laboucle.example",
        "opening_hours": "Du mercredi au samedi, 11 h – 19 h.",
        "signatory_name": "Karim Benali",
        "signatory_title": "Président",
        "manager": ("Karim", "Benali", "karim@laboucle.example"),
    },
]

CAMPAIGNS: list[dict[str, Any]] = [
    {
        "organisation": "emmaus-lescar-pau",
        "slug": "un-toit-pour-l-hiver",
        "title": "Un toit pour l'hiver",
        "summary": "Rénover six chambres d'accueil avant les grands froids.",
        "story": "Chaque hiver, nous accueillons plus de personnes que nous n'avons de lits.\n\n"
        "Avec 12 000 €, nous isolons et rénovons six chambres de la communauté.",
        "goal_cents": 1_200_000,
    },
    {
        "organisation": "emmaus-lescar-pau",
        "slug": "atelier-velo-solidaire",
        "title": "Atelier vélo solidaire",
        "summary": "Équiper un atelier où compagnons et habitants réparent des vélos.",
        "story": "Outils, pièces, établis : l'atelier vélo forme des compagnons à un métier.",
        "goal_cents": 450_000,
    },
    {
        "organisation": "ressourcerie-la-boucle",
        "slug": "camion-de-collecte",
        "title": "Un camion de collecte",
        "summary": "Un utilitaire électrique pour collecter les objets dans tout l'arrondissement.",
        "story": "Aujourd'hui nous refusons des dons faute de pouvoir les transporter.\n\n"
        "Un camion, c'est trois tonnes d'objets sauvés chaque mois.",
        "goal_cents": 2_500_000,
    },
]

# (title, description, condition, category, price in cents)
ITEMS: list[tuple[str, str, str, str, int]] = [
    (
        "Buffet en chêne massif",
        "Buffet deux portes des années 50, tiroirs qui coulissent bien.",
        "good",
        "furniture",
        18000,
    ),
    ("Lampe de bureau articulée", "Lampe d'architecte métal vert, ampoule fournie.", "very_good", "decoration", 3500),
    (
        "Service à café en porcelaine",
        "Six tasses et sous-tasses, une théière, motif bleu.",
        "very_good",
        "tableware",
        2800,
    ),
    ("Vélo de ville Peugeot", "Cadre acier, trois vitesses, révisé à l'atelier.", "good", "bikes", 9500),
    ("Fauteuil crapaud", "Velours moutarde, assise refaite.", "very_good", "furniture", 12000),
    ("Lot de romans policiers", "Vingt livres de poche, Simenon et Vargas.", "good", "books", 1500),
    ("Machine à coudre Singer", "Modèle électrique, testée, avec pédale.", "good", "electronics", 6000),
    ("Miroir doré ovale", "Cadre en bois doré, 80 cm de haut.", "fair", "decoration", 4500),
    ("Platine vinyle Technics", "Entraînement direct, cellule neuve.", "very_good", "music", 15000),
    ("Table basse en rotin", "Plateau verre, pieds en rotin tressé.", "good", "furniture", 4000),
    ("Manteau en laine taille M", "Laine bouillie grise, doublure intacte.", "very_good", "clothing", 3000),
    ("Jeu d'échecs en bois", "Pièces complètes, plateau pliant.", "good", "toys", 2000),
    ("Guitare classique", "Cordes neuves, housse fournie.", "good", "music", 7000),
    ("Cocotte en fonte 24 cm", "Émail rouge, aucun éclat.", "very_good", "tableware", 4500),
    ("Chaise bistrot", "Bois courbé, assise cannée.", "fair", "furniture", 2500),
    ("Radio vintage Philips", "Fonctionne en FM, grain d'époque.", "good", "electronics", 3800),
    ("Poussette canne", "Pliage compact, harnais cinq points.", "good", "childcare", 2200),
    ("Encyclopédie Universalis", "Vingt volumes reliés.", "good", "books", 3000),
    ("Veste en jean", "Taille L, délavage clair.", "very_good", "clothing", 1800),
    ("Luminaire en laiton", "Suspension trois bras, rewiré.", "good", "decoration", 8000),
    ("Bureau d'écolier", "Plateau inclinable, encrier d'origine.", "fair", "furniture", 6500),
    ("Raquettes de tennis", "Paire de raquettes et trois balles.", "good", "sports", 2000),
    ("Carafe en cristal", "Bouchon taillé, 1 litre.", "very_good", "tableware", 2500),
    ("Appareil photo argentique", "Reflex 35 mm avec objectif 50 mm.", "good", "electronics", 9000),
    ("Tapis berbère", "Laine, 120 × 180 cm, nettoyé.", "good", "decoration", 11000),
    ("Commode trois tiroirs", "Pin massif, poignées en fer.", "good", "furniture", 9000),
    ("Puzzle 1000 pièces", "Complet, vérifié pièce par pièce.", "very_good", "toys", 800),
    ("Bottes en cuir pointure 39", "Cuir marron, ressemelées.", "good", "clothing", 3500),
    ("Skateboard", "Plateau érable, roulements neufs.", "fair", "sports", 2500),
    ("Bande dessinée Astérix, lot de 10", "Éditions cartonnées des années 80.", "good", "books", 4000),
    ("Horloge murale", "Mouvement à quartz, cadran émaillé.", "good", "decoration", 2600),
    ("Théière en fonte", "Style japonais, filtre inox.", "very_good", "tableware", 2200),
    ("Enceinte Bluetooth", "Autonomie 10 h, câble fourni.", "very_good", "electronics", 2900),
    ("Chevet en formica", "Années 60, jaune soleil.", "fair", "furniture", 3200),
    ("Ukulélé soprano", "Avec accordeur à pince.", "new", "music", 3900),
    ("Robe d'été fleurie", "Taille 38, coton.", "very_good", "clothing", 1400),
    ("Trottinette enfant", "Trois roues, réglable.", "good", "toys", 1600),
    ("Vase en céramique", "Grès émaillé, pièce d'artisan.", "new", "decoration", 3400),
    ("Ensemble de casseroles", "Quatre casseroles inox avec couvercles.", "good", "tableware", 3600),
    ("Sac à dos de randonnée", "40 litres, dos ventilé.", "very_good", "sports", 3300),
    ("Étagère industrielle", "Métal et bois, cinq niveaux.", "good", "furniture", 7500),
    ("Perceuse visseuse", "Deux batteries, chargeur, coffret.", "good", "diy_garden", 4200),
    ("Vélo enfant 16 pouces", "Avec petites roues, freins révisés.", "good", "bikes", 3500),
    ("Lave-linge Bosch 7 kg", "Classe A, testé sur un cycle complet.", "good", "appliances", 12000),
    ("Grille de barbecue et outils", "Inox, pince et spatule.", "very_good", "diy_garden", 1800),
]

# Weights (grams) of some objects, as their givers said them.
WEIGHTS: dict[str, int] = {
    "Vélo de ville Peugeot": 16_000,
    "Vélo enfant 16 pouces": 7_500,
    "Lave-linge Bosch 7 kg": 65_000,
    "Lampe de bureau articulée": 1_800,
    "Lot de romans policiers": 3_200,
    "Machine à coudre Singer": 9_000,
    "Platine vinyle Technics": 11_000,
}

# Objects still at a private giver's, elsewhere in France: the department filter has something to show.
GIVERS_POSTAL_CODES: dict[str, str] = {
    "Guitare classique": "20000",  # Ajaccio, Corse-du-Sud (2A)
    "Tapis berbère": "97110",  # Pointe-à-Pitre, Guadeloupe (971)
    "Vélo enfant 16 pouces": "20200",  # Bastia, Haute-Corse (2B)
    "Ukulélé soprano": "69001",  # Lyon
}

# The donor's own objects in every state a donor meets, and one gift in kind:
# (title, description, condition, category, price in cents or None, state, reason).
DONOR_ITEMS: list[tuple[str, str, str, str, int | None, str, str]] = [
    ("Lampadaire en laiton", "Pied lesté, abat-jour en lin.", "good", "decoration", 6500, "in_review", ""),
    ("Machine à écrire Olivetti", "Lettera 32, ruban neuf.", "very_good", "electronics", 8500, "in_review", ""),
    ("Casque de vélo", "Taille M.", "fair", "sports", 1500, "rejected", "Nous ne vendons pas de casques d'occasion."),
    ("Nappe brodée", "Lin blanc, 160 × 240 cm.", "very_good", "tableware", 2500, "draft", ""),
    ("Grille-pain", "Deux fentes, inox.", "good", "electronics", 1200, "withdrawn", ""),
    ("Armoire normande", "Chêne, deux portes, démontable.", "good", "furniture", None, "gift_in_kind", ""),
]

PALETTE = [(179, 38, 30), (33, 94, 138), (46, 125, 50), (191, 134, 22), (106, 27, 154), (0, 121, 107)]


def demo_password() -> str:
    return os.environ.get("DEMO_PASSWORD", "").strip() or DEFAULT_PASSWORD


def draw_photo(title: str) -> bytes:
    """A believable placeholder photo drawn locally: a coloured scene and the item's initials."""
    seed = int(hashlib.sha256(title.encode()).hexdigest(), 16)
    background = PALETTE[seed % len(PALETTE)]
    image = Image.new("RGB", (800, 600), background)
    draw = ImageDraw.Draw(image)
    for step in range(6):
        shade = tuple(min(255, channel + 18 * step) for channel in background)
        inset = 40 * step
        draw.rounded_rectangle((inset, inset + 30, 800 - inset, 600 - inset), radius=40, outline=shade, width=6)
    # Pillow's built-in font has no accented capitals: initials of the main words, accents dropped.
    words = [word for word in title.split() if len(word) > 2] or title.split()
    plain = unicodedata.normalize("NFKD", "".join(word[0] for word in words[:2])).encode("ascii", "ignore")
    initials = plain.decode().upper()
    draw.text((400, 300), initials, fill=(255, 255, 255), anchor="mm", font_size=180)
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=80)
    return buffer.getvalue()


DEMO_GIVER = "donateur-demo@tremma.example"
# Per campaign, in order: (amount in cents, giver's name) paid through the demo gateway.
DEMO_GIFTS: list[list[tuple[int, str]]] = [
    [(5_000, "Marie"), (12_000, "Famille Roux"), (2_500, "")],
    [(3_000, "Lucas"), (7_500, "")],
    [(20_000, "Bistrot du coin"), (1_500, "Nadia")],
]
# Words left with some of them (waiting on /gestion/mur/ for a manager to put them on the donor wall),
# and one giver's tip to Trëmma (paid with the gift, never the campaign's).
DEMO_GIFT_MESSAGES = {"Marie": "Bravo pour tout ce que vous faites !", "Nadia": "Bon courage à l'équipe."}
DEMO_GIFT_TIPS = {"Famille Roux": 500}


class Command(BaseCommand):
    help = "Load idempotent demo data (organisations, campaigns, items with photos, accounts)."

    def handle(self, *args: Any, **options: Any) -> None:
        password = demo_password()
        with transaction.atomic():
            accounts = self._accounts(password)
            organisations = self._organisations()
            campaigns = self._campaigns(organisations)
            self._items(campaigns, owner=accounts["donor"])
            windows = self._windows(organisations)
            self._donor_items(campaigns, donor=accounts["donor"])
        # Each gift in its own transactions, as a giver's: the provider is never called inside one.
        self._gifts(campaigns)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  Donor:    {accounts['donor'].email} / {password}")
        for organisation in ORGANISATIONS:
            self.stdout.write(f"  Manager ({organisation['name']}): {organisation['manager'][2]} / {password}")
            for _first, _last, email, role in organisation.get("team", []):
                self.stdout.write(f"    its {role}: {email} / {password}")
            if not organisation.get("connected"):
                page = reverse("ledger:organisation-payments", kwargs={"slug": organisation["slug"]})
                self.stdout.write(f"  Connect its Stripe account (demo): {settings.SITE_URL}{page}")
        for window in windows:
            self.stdout.write(
                f"  Window screen ({window.organisation.name}): {settings.SITE_URL}/windows/{window.pk}/screen/"
            )
            self.stdout.write(f"  Printable QR sheet: {settings.SITE_URL}/windows/{window.pk}/sheet.pdf")

    def _accounts(self, password: str) -> dict[str, User]:
        donor, _created = User.objects.get_or_create(
            email="donatrice@tremma.example",
            defaults={
                "first_name": "Louise",
                "last_name": "Martin",
                "address_line1": "3 rue des Lilas",
                "postal_code": "64000",
                "city": "Pau",
            },
        )
        donor.set_password(password)
        # Demo accounts are verified: their addresses are ours, and the donor's receipts show on her account.
        donor.email_verified_at = donor.email_verified_at or timezone.now()
        donor.save(update_fields=["password", "email_verified_at"])
        return {"donor": donor}

    def _organisations(self) -> dict[str, Organisation]:
        password = demo_password()
        result = {}
        for data in ORGANISATIONS:
            fields = {key: value for key, value in data.items() if key not in {"slug", "manager", "connected", "team"}}
            organisation, _created = Organisation.objects.update_or_create(slug=data["slug"], defaults=fields)
            for first, last, email, role in [(*data["manager"], Membership.Role.ADMIN), *data.get("team", [])]:
                member, _created = User.objects.get_or_create(
                    email=email, defaults={"first_name": first, "last_name": last}
                )
                member.set_password(password)
                member.email_verified_at = member.email_verified_at or timezone.now()
                member.save(update_fields=["password", "email_verified_at"])
                Membership.objects.get_or_create(user=member, organisation=organisation, defaults={"role": role})
            if data.get("connected"):
                self._connect(organisation)
            result[data["slug"]] = organisation
        return result

    def _connect(self, organisation: Organisation) -> None:
        """A demo connected account, onboarded through the same account.updated
        processing as the demo onboarding page. Only with the demo gateway."""

        if settings.PAYMENT_GATEWAY != "demo" or organisation.stripe_account_id:
            return
        account_id = ACCOUNT_PREFIX + organisation.slug
        Organisation.objects.filter(pk=organisation.pk, stripe_account_id="").update(stripe_account_id=account_id)
        organisation.stripe_account_id = account_id
        demo_onboarding_complete(account_id=account_id)

    def _campaigns(self, organisations: dict[str, Organisation]) -> list[Campaign]:
        now = timezone.now()
        result = []
        for data in CAMPAIGNS:
            fields = {key: value for key, value in data.items() if key not in {"slug", "organisation"}}
            fields.update(
                organisation=organisations[data["organisation"]],
                status=Campaign.Status.LIVE,
                starts_at=now - timedelta(days=14),
                ends_at=now + timedelta(days=60),
            )
            campaign, _created = Campaign.objects.get_or_create(slug=data["slug"], defaults=fields)
            if not campaign.cover:
                campaign.cover.save(f"{campaign.slug}.webp", ContentFile(draw_photo(campaign.title)), save=True)
            result.append(campaign)
        return result

    def _donor_items(self, campaigns: list[Campaign], *, donor: User) -> None:
        for index, (title, description, condition, category, price, state, reason) in enumerate(DONOR_ITEMS):
            if Item.objects.filter(owner=donor, title=title).exists():
                continue
            gift = state == "gift_in_kind"
            item = Item.objects.create(
                campaign=campaigns[index % len(campaigns)],
                owner=donor,
                donor=donor if gift else None,
                kind=Item.Kind.GIFT_IN_KIND if gift else Item.Kind.SALE,
                handover=Item.Handover.PICK_UP if gift else "",
                handover_note="Sonner chez Martin, 2e étage." if gift else "",
                title=title,
                description=description,
                condition=condition,
                category=category,
                price_cents=price,
                weight_grams=WEIGHTS.get(title),
                department=item_department(postal_code="", campaign=campaigns[index % len(campaigns)]),
            )
            steps = {
                "in_review": [ItemStatus.IN_REVIEW],
                "gift_in_kind": [ItemStatus.IN_REVIEW],
                "rejected": [ItemStatus.IN_REVIEW, ItemStatus.REJECTED],
                "draft": [],
                "withdrawn": [ItemStatus.IN_REVIEW, ItemStatus.WITHDRAWN],
            }[state]
            for step in steps:
                if step == ItemStatus.REJECTED:
                    item_transition(item=item, to=step, note=reason, rejection_reason=reason)
                else:
                    item_transition(item=item, to=step, actor=donor, note="demo")
            photo = ItemPhoto(item=item, position=0, width=800, height=600)
            photo.image.save(f"demo-{item.pk}.webp", ContentFile(draw_photo(title)), save=True)

    def _items(self, campaigns: list[Campaign], *, owner: User) -> None:
        for index, (title, description, condition, category, price) in enumerate(ITEMS):
            campaign = campaigns[index % len(campaigns)]
            if Item.objects.filter(campaign__in=campaigns, title=title).exists():
                continue  # seeding is idempotent: an item seeded once is left as it is
            item = Item.objects.create(
                campaign=campaign,
                owner=owner,
                title=title,
                description=description,
                condition=condition,
                category=category,
                price_cents=price,
                weight_grams=WEIGHTS.get(title),
                # Every object that may travel as a parcel does, so that the demo's basket offers relay points.
                ships=parcel_allowed(category=category, weight_grams=WEIGHTS.get(title)),
                postal_code=GIVERS_POSTAL_CODES.get(title, ""),
                department=item_department(postal_code=GIVERS_POSTAL_CODES.get(title, ""), campaign=campaign),
            )
            item_transition(item=item, to=ItemStatus.IN_REVIEW, note="demo")
            item_transition(item=item, to=ItemStatus.LISTED, note="demo")
            photo = ItemPhoto(item=item, position=0, width=800, height=600)
            photo.image.save(f"demo-{item.pk}.webp", ContentFile(draw_photo(title)), save=True)

    def _windows(self, organisations: dict[str, Organisation]) -> list[Window]:
        """One window per organisation with eight of its listed items, and a few scans of their cards."""
        now = timezone.now()
        result = []
        for organisation in organisations.values():
            window = Window.objects.filter(organisation=organisation, name="Vitrine de la boutique").first()
            if window is None:
                window = window_create(
                    organisation=organisation,
                    name="Vitrine de la boutique",
                    place=f"Boutique {organisation.name}",
                    address=f"{organisation.address_line1}, {organisation.postal_code} {organisation.city}",
                    starts_at=now - timedelta(days=7),
                    ends_at=now + timedelta(days=60),
                )
                items = Item.objects.filter(campaign__organisation=organisation, status=ItemStatus.LISTED)
                for index, item in enumerate(items.order_by("id")[:8]):
                    placement = placement_add(window=window, item=item)
                    for scan in range(index % 3 + 1):
                        scan_record(
                            short_code=short_code_for(target=placement),
                            user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148",
                            address=f"192.0.2.{index * 3 + scan}",  # documentation range, never a real visitor
                            at=now - timedelta(hours=index * 5 + scan),
                        )
            result.append(window)
        return result

    def _gifts(self, campaigns: list[Campaign]) -> None:
        """A few gifts paid through the demo gateway and the real services, so campaigns show money raised."""

        if settings.PAYMENT_GATEWAY != "demo":
            return  # never open real checkouts for demo data
        for campaign, amounts in zip(campaigns, DEMO_GIFTS, strict=False):
            if Gift.objects.filter(campaign=campaign, email=DEMO_GIVER).exists():
                continue  # seeding is idempotent: gifts seeded once are left as they are
            for amount_cents, name in amounts:
                gift = gift_start(
                    campaign_slug=campaign.slug,
                    amount_cents=amount_cents,
                    email=DEMO_GIVER,
                    name=name,
                    message=DEMO_GIFT_MESSAGES.get(name, ""),
                    tip_cents=DEMO_GIFT_TIPS.get(name, 0),
                )
                session_pay(gift.provider_session_id or "")
