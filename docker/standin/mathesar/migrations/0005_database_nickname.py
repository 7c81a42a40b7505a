from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0004_userdatabaserolemap")]

    operations = [
        migrations.AddField(model_name="database", name="nickname", field=models.CharField(max_length=255, null=True)),
    ]
