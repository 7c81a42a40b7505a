"""Settings for the mathesar-init demo app.

Follows Mathesar's own contract: everything comes from the environment that
mathesar-init exports to the app (SECRET_KEY, POSTGRES_*). POSTGRES_HOST may
be an absolute path: libpq then uses the Unix socket in that directory.
"""
import os

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Empty is allowed at import time so that `manage.py migrate` works without it;
# Django refuses an empty SECRET_KEY as soon as anything needs it.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
DEBUG = os.environ.get("DEMO_DEBUG", "") == "1"
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = ["visits"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "demo.urls"
WSGI_APPLICATION = "demo.wsgi.application"
APPEND_SLASH = False

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.environ.get("POSTGRES_HOST", ""),
        "PORT": os.environ.get("POSTGRES_PORT", "5432"),
        "NAME": os.environ.get("POSTGRES_DB", "mathesar_django"),
        "USER": os.environ.get("POSTGRES_USER", "mathesar"),
        "PASSWORD": os.environ.get("POSTGRES_PASSWORD", ""),
        "CONN_MAX_AGE": 0,
        "OPTIONS": {
            "sslmode": os.environ.get("POSTGRES_SSLMODE", "prefer"),
            "connect_timeout": 5,
            "application_name": "mathesar-init-demo",
        },
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}
