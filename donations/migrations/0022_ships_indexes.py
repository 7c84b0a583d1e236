from django.db import migrations, models


class Migration(migrations.Migration):
    """The catalogue's delivery filter: ``?delivery=relay`` reads objects that ship, ``?delivery=home``
    those of them standing at the organisation (no postal code of their own: a private giver never
    sends to a home). Each is a partial index in the catalogue's order, so a page and its capped
    count read an index range instead of scanning the table. Items already there keep
    ``ships=False`` (0021's default): nobody agreed to send them."""

    dependencies = [("donations", "0021_parcels")]

    operations = [
        migrations.AddIndex(
            model_name="item",
            index=models.Index(
                fields=["status", "-created_at", "-id"], condition=models.Q(ships=True), name="item_ships_newest"
            ),
        ),
        migrations.AddIndex(
            model_name="item",
            index=models.Index(
                fields=["status", "-created_at", "-id"],
                condition=models.Q(ships=True, postal_code=""),
                name="item_ships_home_newest",
            ),
        ),
    ]
