from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0019_columnmetadata_frac_digits")]

    operations = [
        migrations.AddField(model_name="columnmetadata", name="display_width", field=models.PositiveIntegerField(null=True)),
    ]
