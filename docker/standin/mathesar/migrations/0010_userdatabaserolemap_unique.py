from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mathesar", "0009_configuredrole_unique")]

    operations = [
        migrations.AddConstraint(model_name="userdatabaserolemap", constraint=models.UniqueConstraint(fields=("user", "database"), name="user_one_role_per_database")),
    ]
