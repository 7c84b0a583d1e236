"""Where objects are (postal code, department), their weight, more categories.

Existing items stand at their organisation: their department is the
organisation's (one UPDATE per organisation). Obvious bikes (a title with the
word "vélo"/"velo", filed under sport or other) move to the new bikes category."""

import re

from django.conf import settings
from django.db import migrations, models

from kernel.places import department_of

# The word, not a part of one: "Vélo de ville", "VELOS enfant", but not "Veste en velours".
BIKE = re.compile(r"\bv[ée]los?\b", re.IGNORECASE)


def fill_departments(apps, schema_editor):
    Organisation = apps.get_model("campaigns", "Organisation")
    Item = apps.get_model("donations", "Item")
    for pk, postal_code in Organisation.objects.values_list("pk", "postal_code"):
        department = department_of(postal_code)
        if department:
            Item.objects.filter(campaign__organisation_id=pk, postal_code="").update(department=department)


def move_bikes(apps, schema_editor):
    Item = apps.get_model("donations", "Item")
    candidates = Item.objects.filter(category__in=["sports", "other"]).values_list("pk", "title")
    bikes = [pk for pk, title in candidates.iterator(chunk_size=2000) if BIKE.search(title)]
    for start in range(0, len(bikes), 500):
        Item.objects.filter(pk__in=bikes[start : start + 500]).update(category="bikes")


def bikes_back(apps, schema_editor):
    apps.get_model("donations", "Item").objects.filter(category="bikes").update(category="sports")


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0013_organisation_opening_hours'),
        ('donations', '0016_counter_entries'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='item',
            name='department',
            field=models.CharField(blank=True, db_index=True, max_length=3, verbose_name='département'),
        ),
        migrations.AddField(
            model_name='item',
            name='postal_code',
            field=models.CharField(blank=True, max_length=5, verbose_name='code postal'),
        ),
        migrations.AddField(
            model_name='item',
            name='weight_grams',
            field=models.PositiveIntegerField(blank=True, null=True, verbose_name='poids (grammes)'),
        ),
        migrations.AlterField(
            model_name='item',
            name='category',
            field=models.CharField(choices=[('furniture', 'Mobilier'), ('clothing', 'Vêtements'), ('books', 'Livres'), ('tableware', 'Vaisselle'), ('electronics', 'Électronique'), ('toys', 'Jouets'), ('sports', 'Sport'), ('decoration', 'Décoration'), ('music', 'Musique'), ('bikes', 'Vélos'), ('appliances', 'Électroménager'), ('diy_garden', 'Bricolage et jardin'), ('childcare', 'Puériculture'), ('other', 'Autre')], default='other', max_length=20, verbose_name='catégorie'),
        ),
        migrations.AddIndex(
            model_name='item',
            index=models.Index(fields=['status', '-created_at', '-id'], name='item_status_newest'),
        ),
        migrations.AddIndex(
            model_name='item',
            index=models.Index(fields=['status', 'category', '-created_at', '-id'], name='item_status_category_newest'),
        ),
        migrations.AddIndex(
            model_name='item',
            index=models.Index(fields=['status', 'department', '-created_at', '-id'], name='item_status_dept_newest'),
        ),
        migrations.AddIndex(
            model_name='item',
            index=models.Index(fields=['status', 'price_cents', 'id'], name='item_status_price'),
        ),
        migrations.RunPython(fill_departments, migrations.RunPython.noop),
        migrations.RunPython(move_bikes, bikes_back),
    ]
