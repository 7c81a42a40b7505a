from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="Database",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("name", models.CharField(max_length=128)),
                ("server", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="databases", to="mathesar.server")),
            ],
            options={"abstract": False},
        ),
    ]
