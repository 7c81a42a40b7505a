from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0014_tablemetadata")]

    operations = [
        migrations.AddField(model_name="tablemetadata", name="column_order", field=models.JSONField(null=True)),
    ]
