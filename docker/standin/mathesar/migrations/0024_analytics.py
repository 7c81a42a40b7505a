from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0023_explorations_description")]

    operations = [
        migrations.CreateModel(
            name="AnalyticsReport",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("installation_id", models.CharField(max_length=64)),
                ("mathesar_version", models.CharField(max_length=32)),
                ("user_count", models.PositiveIntegerField(null=True)),
            ],
            options={"abstract": False},
        ),
        migrations.CreateModel(
            name="InstallationId",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("value", models.UUIDField()),
            ],
            options={"abstract": False},
        ),
    ]
