# Ledger accounts outside campaigns: the platform's shipping, tips and fees. Existing
# entries are a campaign's money (the default); only a platform entry has no campaign.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0006_ledger_entry_moves_to_ledger'),
        ('donations', '0008_gift_receipt_details'),
        ('ledger', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='ledgerentry',
            name='account',
            field=models.CharField(choices=[('campaign', 'Campagne'), ('platform_shipping', 'Plateforme : frais de port'), ('platform_tips', 'Plateforme : pourboires'), ('platform_fees', 'Plateforme : frais')], default='campaign', max_length=20),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='campaign',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ledger_entries', to='campaigns.campaign'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='organisation',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ledger_entries', to='campaigns.organisation'),
        ),
        migrations.AddConstraint(
            model_name='ledgerentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('account', 'campaign'), ('campaign__isnull', False), ('organisation__isnull', False)), models.Q(models.Q(('account', 'campaign'), _negated=True), ('campaign__isnull', True), ('organisation__isnull', True)), _connector='OR'), name='ledger_account_campaign'),
        ),
    ]
