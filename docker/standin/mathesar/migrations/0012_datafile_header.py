from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0011_datafile")]

    operations = [
        migrations.AddField(model_name="datafile", name="header", field=models.BooleanField(default=True)),
    ]
