from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0021_columnmetadata_unique")]

    operations = [
        migrations.CreateModel(
            name="Explorations",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("database", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="mathesar.database")),
                ("name", models.CharField(max_length=128, unique=True)),
                ("base_table_oid", models.PositiveBigIntegerField()),
                ("initial_columns", models.JSONField()),
                ("transformations", models.JSONField(null=True)),
            ],
            options={"abstract": False},
        ),
    ]
