from django.apps import AppConfig


class MathesarConfig(AppConfig):
    """The app whose models mirror Mathesar's connection models."""

    name = "mathesar"
    default_auto_field = "django.db.models.AutoField"
