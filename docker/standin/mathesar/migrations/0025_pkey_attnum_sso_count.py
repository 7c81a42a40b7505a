from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0024_analytics")]

    operations = [
        migrations.AddField(model_name="tablemetadata", name="mathesar_added_pkey_attnum", field=models.PositiveIntegerField(null=True)),
        migrations.AddField(model_name="analyticsreport", name="sso_connected_user_count", field=models.PositiveIntegerField(null=True)),
    ]
