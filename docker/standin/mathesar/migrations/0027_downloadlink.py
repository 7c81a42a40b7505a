from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0026_server_sslmode")]

    operations = [
        migrations.CreateModel(
            name="DownloadLink",
            fields=[
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("mash", models.CharField(editable=False, max_length=64, primary_key=True, serialize=False)),
                ("uri", models.CharField(max_length=2048)),
                ("thumbnail", models.JSONField(blank=True, default=dict)),
            ],
            options={"abstract": False},
        ),
    ]
