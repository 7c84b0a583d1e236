# A gift's tip (the giver's contribution to Trëmma's costs, never the campaign's) and its place on the
# donor wall (a name and message show only once a manager approved them).

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('donations', '0014_gift_news_consent'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='gift',
            name='tip_cents',
            field=models.PositiveIntegerField(default=0, verbose_name='contribution aux frais de Trëmma (centimes)'),
        ),
        migrations.AddField(
            model_name='gift',
            name='wall_decided_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='modéré le'),
        ),
        migrations.AddField(
            model_name='gift',
            name='wall_status',
            field=models.CharField(choices=[('pending', 'À modérer'), ('approved', 'Affiché'), ('hidden', 'Masqué')], default='pending', max_length=10, verbose_name='mur des donateurs'),
        ),
        migrations.AddIndex(
            model_name='gift',
            index=models.Index(fields=['campaign', 'wall_status'], name='gift_wall'),
        ),
        migrations.AddConstraint(
            model_name='gift',
            constraint=models.CheckConstraint(condition=models.Q(('tip_cents__lte', models.F('amount_cents'))), name='gift_tip_within_amount'),
        ),
    ]
