"""`python -m mathesar.install`: migrate, then collect the static files,
as Mathesar's installer does. Like Mathesar's, it ignores its arguments."""
import os

import django
from django.core import management


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    django.setup()
    management.call_command("migrate")
    if os.environ.get("SKIP_STATIC_COLLECTION") not in ["t", "true", "True"]:
        management.call_command("collectstatic", "--noinput", "--clear")


if __name__ == "__main__":
    main()
