# LedgerEntry moved to the ledger app with its table (ledger 0001): the state forgets it here.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0005_stripe_connect"),
        ("ledger", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="LedgerEntry")]),
    ]
