# One provider event counts once per ledger account (a tipped gift's payment credits its campaign and the
# platform's tips account, once each); still once per line of an order.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0004_pledge_matches_and_payments'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='ledgerentry',
            name='ledger_event_once',
        ),
        migrations.AddConstraint(
            model_name='ledgerentry',
            constraint=models.UniqueConstraint(condition=models.Q(('order_line__isnull', True)), fields=('provider_event_id', 'account'), name='ledger_event_once_per_account'),
        ),
    ]
