from django.db import migrations, models
import django.db.models.deletion
import encrypted_fields.fields


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0002_database")]

    operations = [
        migrations.CreateModel(
            name="ConfiguredRole",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("name", models.CharField(max_length=255)),
                ("server", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="roles", to="mathesar.server")),
                ("password", encrypted_fields.fields.EncryptedCharField(blank=True, max_length=255, null=True)),
            ],
            options={"abstract": False},
        ),
    ]
