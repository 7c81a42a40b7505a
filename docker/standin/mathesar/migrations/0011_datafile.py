from django.conf import settings
from django.db import migrations, models
import django.db.models.deletion
import mathesar.models.base


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0010_userdatabaserolemap_unique"), migrations.swappable_dependency(settings.AUTH_USER_MODEL)]

    operations = [
        migrations.CreateModel(
            name="DataFile",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("file", models.FileField(upload_to=mathesar.models.base._data_file_path)),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL)),
                ("created_from", models.CharField(default="FILE", max_length=128)),
                ("type", models.CharField(default="CSV", max_length=128)),
                ("base_name", models.CharField(max_length=100)),
            ],
            options={"abstract": False},
        ),
    ]
