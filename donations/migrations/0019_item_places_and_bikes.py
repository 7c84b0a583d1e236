"""Existing items are placed and sorted.

They stand at their organisation: their department is the organisation's (one
UPDATE per organisation). Obvious bikes (a title with the word "vélo"/"velo",
filed under sport or other) move to the new bikes category."""

import re

from django.db import migrations

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
    dependencies = [("donations", "0018_item_search_vector")]

    operations = [
        migrations.RunPython(fill_departments, migrations.RunPython.noop),
        migrations.RunPython(move_bikes, bikes_back),
    ]
