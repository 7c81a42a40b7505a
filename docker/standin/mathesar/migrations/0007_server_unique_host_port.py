from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0006_database_last_confirmed_sql_version")]

    operations = [
        migrations.AddConstraint(model_name="server", constraint=models.UniqueConstraint(condition=models.Q(("port__isnull", False)), fields=("host", "port"), name="unique_server_host_port_not_null")),
        migrations.AddConstraint(model_name="server", constraint=models.UniqueConstraint(condition=models.Q(("port__isnull", True)), fields=("host",), name="unique_server_null_port")),
    ]
