# Transfer, TransferReversal and PaymentFee moved to the ledger app with their
# tables (ledger 0001): the state forgets them here.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0002_transfers_and_fees"),
        ("ledger", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="TransferReversal"),
                migrations.DeleteModel(name="Transfer"),
                migrations.DeleteModel(name="PaymentFee"),
            ]
        ),
    ]
