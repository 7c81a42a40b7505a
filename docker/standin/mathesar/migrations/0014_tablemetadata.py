from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0013_datafile_delimiters")]

    operations = [
        migrations.CreateModel(
            name="TableMetaData",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("database", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="mathesar.database")),
                ("table_oid", models.PositiveBigIntegerField()),
                ("data_file", models.ForeignKey(on_delete=django.db.models.deletion.SET_NULL, null=True, to="mathesar.datafile")),
                ("import_verified", models.BooleanField(null=True)),
            ],
            options={"abstract": False},
        ),
    ]
