"""Where objects are (postal code, department), their weight, more categories, and the
catalogue's filter indexes. Existing rows are placed and sorted by 0019 (data alone: rows
updated here would queue deferred foreign-key checks that this migration's index creation,
run at its end, is refused with on PostgreSQL)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0013_organisation_opening_hours'),
        ('donations', '0016_counter_entries'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='item',
            name='department',
            field=models.CharField(blank=True, db_index=True, max_length=3, verbose_name='département'),
        ),
        migrations.AddField(
            model_name='item',
            name='postal_code',
            field=models.CharField(blank=True, max_length=5, verbose_name='code postal'),
        ),
        migrations.AddField(
            model_name='item',
            name='weight_grams',
            field=models.PositiveIntegerField(blank=True, null=True, verbose_name='poids (grammes)'),
        ),
        migrations.AlterField(
            model_name='item',
            name='category',
            field=models.CharField(choices=[('furniture', 'Mobilier'), ('clothing', 'Vêtements'), ('books', 'Livres'), ('tableware', 'Vaisselle'), ('electronics', 'Électronique'), ('toys', 'Jouets'), ('sports', 'Sport'), ('decoration', 'Décoration'), ('music', 'Musique'), ('bikes', 'Vélos'), ('appliances', 'Électroménager'), ('diy_garden', 'Bricolage et jardin'), ('childcare', 'Puériculture'), ('other', 'Autre')], default='other', max_length=20, verbose_name='catégorie'),
        ),
        migrations.AddIndex(
            model_name='item',
            index=models.Index(fields=['status', '-created_at', '-id'], name='item_status_newest'),
        ),
        migrations.AddIndex(
            model_name='item',
            index=models.Index(fields=['status', 'category', '-created_at', '-id'], name='item_status_category_newest'),
        ),
        migrations.AddIndex(
            model_name='item',
            index=models.Index(fields=['status', 'department', '-created_at', '-id'], name='item_status_dept_newest'),
        ),
        migrations.AddIndex(
            model_name='item',
            index=models.Index(fields=['status', 'price_cents', 'id'], name='item_status_price'),
        ),
    ]
