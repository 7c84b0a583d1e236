from django.db import migrations, models


class Migration(migrations.Migration):
    """What a sold or held item's page offers instead (donations.selectors.item_similar): the
    campaign's newest listed items, of the item's category first. It sorted every listed item of
    the campaign at each such page (a quarter of a second for a campaign of 40,000 objects, where
    nine in ten of a window's crowd land on an item already held); each of these partial indexes
    holds listed items only, in the order the page reads them."""

    dependencies = [("donations", "0025_item_ships_database_default")]

    operations = [
        migrations.AddIndex(
            model_name="item",
            index=models.Index(
                fields=["campaign", "category", "-created_at", "-id"],
                condition=models.Q(status="listed"),
                name="item_listed_campaign_category",
            ),
        ),
        migrations.AddIndex(
            model_name="item",
            index=models.Index(
                fields=["campaign", "-created_at", "-id"],
                condition=models.Q(status="listed"),
                name="item_listed_campaign",
            ),
        ),
    ]
