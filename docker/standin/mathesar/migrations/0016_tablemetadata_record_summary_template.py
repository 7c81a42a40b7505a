from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0015_tablemetadata_column_order")]

    operations = [
        migrations.AddField(model_name="tablemetadata", name="record_summary_template", field=models.JSONField(null=True)),
    ]
