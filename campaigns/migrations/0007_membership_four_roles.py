# Four roles: admin, treasurer, manager, volunteer. The two values of before keep their meaning
# (an admin stays admin, a manager stays manager), so no row changes; a role outside the four is refused.

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0006_ledger_entry_moves_to_ledger'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='membership',
            name='role',
            field=models.CharField(choices=[('admin', 'Administrateur'), ('treasurer', 'Trésorier'), ('manager', 'Gestionnaire'), ('volunteer', 'Bénévole')], default='manager', max_length=10, verbose_name='rôle'),
        ),
        migrations.AddConstraint(
            model_name='membership',
            constraint=models.CheckConstraint(condition=models.Q(('role__in', ['admin', 'treasurer', 'manager', 'volunteer'])), name='membership_role_known'),
        ),
    ]
