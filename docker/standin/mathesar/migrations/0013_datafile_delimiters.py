from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0012_datafile_header")]

    operations = [
        migrations.AddField(model_name="datafile", name="delimiter", field=models.CharField(blank=True, default=",", max_length=1)),
        migrations.AddField(model_name="datafile", name="escapechar", field=models.CharField(blank=True, max_length=1)),
        migrations.AddField(model_name="datafile", name="quotechar", field=models.CharField(blank=True, default='"', max_length=1)),
    ]
