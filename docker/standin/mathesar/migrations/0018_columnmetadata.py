from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0017_tablemetadata_unique")]

    operations = [
        migrations.CreateModel(
            name="ColumnMetaData",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("database", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="mathesar.database")),
                ("table_oid", models.PositiveBigIntegerField()),
                ("attnum", models.SmallIntegerField()),
                ("bool_input", models.CharField(max_length=16, null=True)),
            ],
            options={"abstract": False},
        ),
    ]
