from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0020_columnmetadata_display_width")]

    operations = [
        migrations.AddConstraint(model_name="columnmetadata", constraint=models.UniqueConstraint(fields=("database", "table_oid", "attnum"), name="unique_column_metadata")),
    ]
