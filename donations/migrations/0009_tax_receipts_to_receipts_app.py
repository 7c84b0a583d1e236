"""The tax receipt models leave donations' state for the receipts app
(receipts 0001); their tables stay where they are, under their old names."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('donations', '0008_gift_receipt_details'),
        ('receipts', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='receiptpreference',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='receiptwait',
                    name='gift',
                ),
                migrations.RemoveField(
                    model_name='receiptwait',
                    name='giver',
                ),
                migrations.RemoveField(
                    model_name='receiptwait',
                    name='order',
                ),
                migrations.RemoveField(
                    model_name='taxreceipt',
                    name='giver',
                ),
                migrations.RemoveField(
                    model_name='taxreceipt',
                    name='organisation',
                ),
                migrations.RemoveField(
                    model_name='taxreceipt',
                    name='replaces',
                ),
                migrations.RemoveField(
                    model_name='taxreceiptline',
                    name='receipt',
                ),
                migrations.RemoveField(
                    model_name='taxreceiptline',
                    name='gift',
                ),
                migrations.RemoveField(
                    model_name='taxreceiptline',
                    name='order',
                ),
                migrations.DeleteModel(
                    name='ReceiptCounter',
                ),
                migrations.DeleteModel(
                    name='ReceiptPreference',
                ),
                migrations.DeleteModel(
                    name='ReceiptWait',
                ),
                migrations.DeleteModel(
                    name='TaxReceipt',
                ),
                migrations.DeleteModel(
                    name='TaxReceiptLine',
                ),
            ],
            database_operations=[],
        ),
    ]
