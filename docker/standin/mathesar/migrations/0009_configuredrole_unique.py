from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0008_database_unique")]

    operations = [
        migrations.AddConstraint(model_name="configuredrole", constraint=models.UniqueConstraint(fields=("name", "server"), name="unique_role")),
    ]
