from django.conf import settings
from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0003_configuredrole"), migrations.swappable_dependency(settings.AUTH_USER_MODEL)]

    operations = [
        migrations.CreateModel(
            name="UserDatabaseRoleMap",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL)),
                ("database", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="mathesar.database")),
                ("configured_role", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="mathesar.configuredrole")),
                ("server", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="mathesar.server")),
            ],
            options={"abstract": False},
        ),
    ]
