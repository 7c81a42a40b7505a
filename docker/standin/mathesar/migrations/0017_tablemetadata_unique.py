from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0016_tablemetadata_record_summary_template")]

    operations = [
        migrations.AddConstraint(model_name="tablemetadata", constraint=models.UniqueConstraint(fields=("database", "table_oid"), name="unique_table_metadata")),
    ]
