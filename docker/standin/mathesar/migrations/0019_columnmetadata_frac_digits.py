from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0018_columnmetadata")]

    operations = [
        migrations.AddField(model_name="columnmetadata", name="num_min_frac_digits", field=models.PositiveIntegerField(null=True)),
        migrations.AddField(model_name="columnmetadata", name="num_max_frac_digits", field=models.PositiveIntegerField(null=True)),
    ]
