from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0005_database_nickname")]

    operations = [
        migrations.AddField(model_name="database", name="last_confirmed_sql_version", field=models.CharField(default="0.0.0", max_length=32)),
    ]
