from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0007_server_unique_host_port")]

    operations = [
        migrations.AddConstraint(model_name="database", constraint=models.UniqueConstraint(fields=("name", "server"), name="unique_database")),
    ]
