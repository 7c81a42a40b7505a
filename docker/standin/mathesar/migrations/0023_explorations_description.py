from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0022_explorations")]

    operations = [
        migrations.AddField(model_name="explorations", name="description", field=models.CharField(max_length=1024, null=True)),
    ]
