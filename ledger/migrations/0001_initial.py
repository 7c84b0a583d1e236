# The ledger's models move here from campaigns (LedgerEntry) and payments
# (Transfer, TransferReversal, PaymentFee), keeping their tables: the state
# only changes (campaigns 0006 and payments 0003 forget them). Their content
# types follow them, so admin permissions and logs stay attached.

import django.db.models.deletion
from django.db import migrations, models

MOVED = {"ledgerentry": "campaigns", "transfer": "payments", "transferreversal": "payments", "paymentfee": "payments"}


def _move_content_types(apps, schema_editor, forward):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model, old_app in MOVED.items():
        source, target = (old_app, "ledger") if forward else ("ledger", old_app)
        if ContentType.objects.using(db).filter(app_label=target, model=model).exists():
            continue
        ContentType.objects.using(db).filter(app_label=source, model=model).update(app_label=target)


def content_types_to_ledger(apps, schema_editor):
    _move_content_types(apps, schema_editor, forward=True)


def content_types_back(apps, schema_editor):
    _move_content_types(apps, schema_editor, forward=False)


_FOR_ORDER_OR_GIFT = models.Q(
    models.Q(("order__isnull", False), ("gift__isnull", True)),
    models.Q(("order__isnull", True), ("gift__isnull", False)),
    _connector="OR",
)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("campaigns", "0005_stripe_connect"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("donations", "0008_gift_receipt_details"),
        ("payments", "0002_transfers_and_fees"),
    ]

    state_operations = [
        migrations.CreateModel(
            name="LedgerEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=[("credit", "Crédit"), ("debit", "Débit")], max_length=6)),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("payment", "Paiement"),
                            ("refund", "Remboursement"),
                            ("dispute", "Litige"),
                            ("dispute_won", "Litige gagné"),
                        ],
                        max_length=12,
                    ),
                ),
                ("amount_cents", models.PositiveIntegerField()),
                ("currency", models.CharField(default="EUR", editable=False, max_length=3)),
                ("key", models.CharField(max_length=120, unique=True)),
                ("provider_event_id", models.CharField(max_length=255, unique=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger_entries",
                        to="campaigns.campaign",
                    ),
                ),
                (
                    "gift",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger_entries",
                        to="donations.gift",
                    ),
                ),
                (
                    "order",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger_entries",
                        to="donations.order",
                    ),
                ),
                (
                    "organisation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger_entries",
                        to="campaigns.organisation",
                    ),
                ),
            ],
            options={
                "verbose_name": "écriture",
                "verbose_name_plural": "écritures",
                "db_table": "campaigns_ledgerentry",
                "ordering": ("id",),
                "indexes": [models.Index(fields=["campaign", "kind"], name="ledger_campaign_kind")],
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("amount_cents__gt", 0)), name="ledger_amount_positive"),
                    models.CheckConstraint(condition=models.Q(("currency", "EUR")), name="ledger_currency_eur"),
                    models.CheckConstraint(condition=_FOR_ORDER_OR_GIFT, name="ledger_entry_for_order_or_gift"),
                ],
            },
        ),
        migrations.CreateModel(
            name="Transfer",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("provider", models.CharField(max_length=10)),
                ("provider_transfer_id", models.CharField(max_length=255, unique=True)),
                ("amount_cents", models.PositiveIntegerField()),
                ("currency", models.CharField(default="EUR", editable=False, max_length=3)),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                (
                    "gift",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="transfers",
                        to="donations.gift",
                    ),
                ),
                (
                    "order",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="transfers",
                        to="donations.order",
                    ),
                ),
                (
                    "organisation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="transfers",
                        to="campaigns.organisation",
                    ),
                ),
            ],
            options={
                "db_table": "payments_transfer",
                "ordering": ("id",),
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("amount_cents__gt", 0)), name="transfer_amount_positive"
                    ),
                    models.CheckConstraint(condition=_FOR_ORDER_OR_GIFT, name="transfer_for_order_or_gift"),
                ],
            },
        ),
        migrations.CreateModel(
            name="TransferReversal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("provider_reversal_id", models.CharField(max_length=255, unique=True)),
                ("key", models.CharField(max_length=120, unique=True)),
                ("amount_cents", models.PositiveIntegerField()),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                (
                    "transfer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reversals",
                        to="ledger.transfer",
                    ),
                ),
            ],
            options={
                "db_table": "payments_transferreversal",
                "ordering": ("id",),
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("amount_cents__gt", 0)), name="transfer_reversal_amount_positive"
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="PaymentFee",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("provider", models.CharField(max_length=10)),
                ("provider_balance_id", models.CharField(max_length=255, unique=True)),
                ("amount_cents", models.PositiveIntegerField()),
                ("currency", models.CharField(default="EUR", editable=False, max_length=3)),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                (
                    "gift",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="provider_fee",
                        to="donations.gift",
                    ),
                ),
                (
                    "order",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="provider_fee",
                        to="donations.order",
                    ),
                ),
                (
                    "organisation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="payment_fees",
                        to="campaigns.organisation",
                    ),
                ),
            ],
            options={
                "db_table": "payments_paymentfee",
                "ordering": ("id",),
                "constraints": [models.CheckConstraint(condition=_FOR_ORDER_OR_GIFT, name="payment_fee_for_order_or_gift")],
            },
        ),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=state_operations),
        migrations.RunPython(content_types_to_ledger, content_types_back),
    ]
