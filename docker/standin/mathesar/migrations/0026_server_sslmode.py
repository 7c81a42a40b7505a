from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0025_pkey_attnum_sso_count")]

    operations = [
        migrations.AddField(model_name="server", name="sslmode", field=models.CharField(choices=[("disable", "disable"), ("prefer", "prefer"), ("require", "require")], default="prefer", max_length=20)),
    ]
