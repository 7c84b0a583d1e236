import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    """The holds cap (checkout.services.orders._holds_check_cap) counts a person's running holds by
    e-mail whatever its case, at every checkout, refused ones included: without an index on the
    e-mail's upper case it read every running hold (10 ms with 10,000 of them, as a busy sale or
    a crowd at a window makes), now one index range with the client address's."""

    dependencies = [("donations", "0026_similar_items_indexes")]

    operations = [
        migrations.AddIndex(
            model_name="reservation",
            index=models.Index(
                django.db.models.functions.text.Upper("email"),
                "expires_at",
                condition=models.Q(status="held"),
                name="reservation_held_email",
            ),
        ),
    ]
