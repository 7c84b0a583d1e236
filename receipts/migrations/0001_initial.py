"""The tax receipt models move here from donations, tables and all: state only.

The tables keep their names (``donations_taxreceipt``, …; see each model's
``Meta.db_table``), so no row moves: this migration creates the models in the
receipts app's state, donations 0009 removes them from donations' state, and
the content types (hence the admin permissions) are renamed to follow."""

import django.db.models.deletion
from django.conf import settings
from django.contrib.contenttypes.models import ContentType as CurrentContentType
from django.db import migrations, models

MOVED = ("receiptcounter", "receiptpreference", "receiptwait", "taxreceipt", "taxreceiptline")


def content_types_move(from_label, to_label):
    def move(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        db = schema_editor.connection.alias
        taken = set(
            ContentType.objects.using(db).filter(app_label=to_label, model__in=MOVED).values_list("model", flat=True)
        )
        ContentType.objects.using(db).filter(app_label=from_label, model__in=MOVED).exclude(model__in=taken).update(
            app_label=to_label
        )
        # The live manager caches content types by id: forget the old labels.
        CurrentContentType.objects.clear_cache()

    return move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('campaigns', '0004_receipt_legal_details'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('donations', '0008_gift_receipt_details'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ReceiptPreference',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('consolidated', models.BooleanField(default=False, verbose_name='reçu récapitulatif annuel')),
                        ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='receipt_preference', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'donations_receiptpreference',
                    },
                ),
                migrations.CreateModel(
                    name='TaxReceipt',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('year', models.PositiveSmallIntegerField(verbose_name='année')),
                        ('sequence', models.PositiveIntegerField()),
                        ('number', models.CharField(max_length=20, verbose_name='numéro')),
                        ('status', models.CharField(choices=[('issued', 'Émis'), ('cancelled', 'Annulé')], default='issued', editable=False, max_length=10, verbose_name='statut')),
                        ('giver_email', models.EmailField(max_length=254, verbose_name='e-mail du donateur')),
                        ('giver_last_name', models.CharField(max_length=150, verbose_name='nom du donateur')),
                        ('giver_first_names', models.CharField(max_length=150, verbose_name='prénoms du donateur')),
                        ('giver_address_line1', models.CharField(max_length=200)),
                        ('giver_address_line2', models.CharField(blank=True, max_length=200)),
                        ('giver_postal_code', models.CharField(max_length=20)),
                        ('giver_city', models.CharField(max_length=100)),
                        ('giver_country', models.CharField(default='FR', max_length=2)),
                        ('beneficiary_name', models.CharField(max_length=200)),
                        ('beneficiary_address_line1', models.CharField(max_length=200)),
                        ('beneficiary_address_line2', models.CharField(blank=True, max_length=200)),
                        ('beneficiary_postal_code', models.CharField(max_length=20)),
                        ('beneficiary_city', models.CharField(max_length=100)),
                        ('beneficiary_legal_form', models.CharField(max_length=100)),
                        ('beneficiary_registration', models.CharField(max_length=40)),
                        ('beneficiary_purpose', models.TextField()),
                        ('beneficiary_status', models.CharField(max_length=300)),
                        ('tax_regime', models.CharField(max_length=24)),
                        ('signatory_name', models.CharField(max_length=120)),
                        ('signatory_title', models.CharField(max_length=120)),
                        ('signature', models.CharField(blank=True, max_length=255)),
                        ('amount_cents', models.PositiveIntegerField(verbose_name='montant (centimes)')),
                        ('currency', models.CharField(default='EUR', editable=False, max_length=3)),
                        ('payment_date', models.DateField(blank=True, null=True, verbose_name='date du versement')),
                        ('period_start', models.DateField(blank=True, null=True)),
                        ('period_end', models.DateField(blank=True, null=True)),
                        ('payment_method', models.CharField(max_length=60, verbose_name='mode de versement')),
                        ('nature', models.CharField(default='cash', max_length=20, verbose_name='nature du don')),
                        ('consolidated', models.BooleanField(default=False, verbose_name='récapitulatif')),
                        ('cancellation_reason', models.CharField(blank=True, max_length=300, verbose_name="motif d'annulation")),
                        ('cancelled_at', models.DateTimeField(blank=True, null=True)),
                        ('pdf', models.FileField(blank=True, upload_to='receipts/%Y/', verbose_name='PDF')),
                        ('issued_at', models.DateTimeField(verbose_name='émis le')),
                        ('emailed_at', models.DateTimeField(blank=True, null=True)),
                        ('giver', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='tax_receipts', to=settings.AUTH_USER_MODEL)),
                        ('organisation', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='receipts', to='campaigns.organisation')),
                        ('replaces', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='corrections', to='receipts.taxreceipt')),
                    ],
                    options={
                        'verbose_name': 'reçu fiscal',
                        'verbose_name_plural': 'reçus fiscaux',
                        'db_table': 'donations_taxreceipt',
                        'ordering': ('-issued_at', '-id'),
                    },
                ),
                migrations.CreateModel(
                    name='TaxReceiptLine',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('amount_cents', models.PositiveIntegerField()),
                        ('paid_on', models.DateField()),
                        ('active', models.BooleanField(default=True)),
                        ('gift', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='receipt_lines', to='donations.gift')),
                        ('order', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='receipt_lines', to='donations.order')),
                        ('receipt', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='lines', to='receipts.taxreceipt')),
                    ],
                    options={
                        'db_table': 'donations_taxreceiptline',
                        'ordering': ('paid_on', 'id'),
                    },
                ),
                migrations.CreateModel(
                    name='ReceiptCounter',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('year', models.PositiveSmallIntegerField()),
                        ('last_sequence', models.PositiveIntegerField(default=0)),
                        ('organisation', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='receipt_counters', to='campaigns.organisation')),
                    ],
                    options={
                        'db_table': 'donations_receiptcounter',
                        'constraints': [models.UniqueConstraint(fields=('organisation', 'year'), name='one_receipt_counter_per_year')],
                    },
                ),
                migrations.CreateModel(
                    name='ReceiptWait',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('email', models.EmailField(max_length=254)),
                        ('missing', models.JSONField(default=list)),
                        ('notified_at', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('gift', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='receipt_wait', to='donations.gift')),
                        ('giver', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='receipt_waits', to=settings.AUTH_USER_MODEL)),
                        ('order', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='receipt_wait', to='donations.order')),
                    ],
                    options={
                        'db_table': 'donations_receiptwait',
                        'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('order__isnull', False), ('gift__isnull', True)), models.Q(('order__isnull', True), ('gift__isnull', False)), _connector='OR'), name='receipt_wait_for_order_or_gift')],
                    },
                ),
                migrations.AddIndex(
                    model_name='taxreceipt',
                    index=models.Index(fields=['organisation', 'year', 'status'], name='receipt_org_year_status'),
                ),
                migrations.AddConstraint(
                    model_name='taxreceipt',
                    constraint=models.UniqueConstraint(fields=('organisation', 'year', 'sequence'), name='receipt_number_unique'),
                ),
                migrations.AddConstraint(
                    model_name='taxreceipt',
                    constraint=models.CheckConstraint(condition=models.Q(('amount_cents__gt', 0)), name='receipt_amount_positive'),
                ),
                migrations.AddConstraint(
                    model_name='taxreceipt',
                    constraint=models.CheckConstraint(condition=models.Q(('sequence__gt', 0)), name='receipt_sequence_positive'),
                ),
                migrations.AddConstraint(
                    model_name='taxreceipt',
                    constraint=models.CheckConstraint(condition=models.Q(('payment_date__isnull', False), models.Q(('period_start__isnull', False), ('period_end__isnull', False)), _connector='OR'), name='receipt_has_date_or_period'),
                ),
                migrations.AddConstraint(
                    model_name='taxreceipt',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('cancelled_at__isnull', True), ('status', 'issued')), models.Q(('cancelled_at__isnull', False), ('status', 'cancelled')), _connector='OR'), name='receipt_cancellation_recorded'),
                ),
                migrations.AddConstraint(
                    model_name='taxreceiptline',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('order__isnull', False), ('gift__isnull', True)), models.Q(('order__isnull', True), ('gift__isnull', False)), _connector='OR'), name='receipt_line_for_order_or_gift'),
                ),
                migrations.AddConstraint(
                    model_name='taxreceiptline',
                    constraint=models.CheckConstraint(condition=models.Q(('amount_cents__gt', 0)), name='receipt_line_amount_positive'),
                ),
                migrations.AddConstraint(
                    model_name='taxreceiptline',
                    constraint=models.UniqueConstraint(condition=models.Q(('active', True)), fields=('gift',), name='one_active_receipt_per_gift'),
                ),
                migrations.AddConstraint(
                    model_name='taxreceiptline',
                    constraint=models.UniqueConstraint(condition=models.Q(('active', True)), fields=('order',), name='one_active_receipt_per_order'),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_move("donations", "receipts"), content_types_move("receipts", "donations")),
    ]
