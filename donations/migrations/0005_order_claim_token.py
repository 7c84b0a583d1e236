"""Each order gets the random token of its claim page. Existing orders get one
each (a callable default would give every existing row the same value)."""

from django.db import migrations, models

import donations.models


def fill_tokens(apps, schema_editor):  # type: ignore[no-untyped-def]
    Order = apps.get_model("donations", "Order")
    for order in Order.objects.filter(claim_token__isnull=True).only("pk").iterator():
        Order.objects.filter(pk=order.pk).update(claim_token=donations.models.new_claim_token())


class Migration(migrations.Migration):
    dependencies = [("donations", "0004_merge_20261127_1315")]

    operations = [
        migrations.AddField(
            model_name="order",
            name="claim_token",
            field=models.CharField(editable=False, max_length=32, null=True),
        ),
        migrations.RunPython(fill_tokens, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="order",
            name="claim_token",
            field=models.CharField(
                default=donations.models.new_claim_token, editable=False, max_length=32, unique=True
            ),
        ),
    ]
