from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0027_downloadlink")]

    operations = [
        migrations.AddField(model_name="columnmetadata", name="file_backend", field=models.CharField(max_length=255, null=True)),
        migrations.AddField(model_name="columnmetadata", name="user_display_field", field=models.CharField(max_length=50, null=True)),
    ]
