"""Settings of the stand-in, read from the same environment variables as
Mathesar 0.11 reads them (names, defaults and the conditions under which they
apply). Only what mathesar-init depends on is here.
"""
import os
from pathlib import Path

from django.core.management.utils import get_random_secret_key

# docker/standin/ (/code in Mathesar's image).
BASE_DIR = Path(__file__).resolve().parent.parent.parent

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "mathesar",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# The internal database: configured only when DB, USER and HOST are all set
# (otherwise Django has no database, and pages that need none still answer).
POSTGRES_DB = os.environ.get("POSTGRES_DB")
POSTGRES_USER = os.environ.get("POSTGRES_USER")
POSTGRES_PASSWORD = os.environ.get("POSTGRES_PASSWORD")
POSTGRES_HOST = os.environ.get("POSTGRES_HOST")
POSTGRES_PORT = os.environ.get("POSTGRES_PORT")
POSTGRES_SSLMODE = os.environ.get("POSTGRES_SSLMODE", "prefer")

DATABASES = {}
if POSTGRES_DB and POSTGRES_USER and POSTGRES_HOST:
    DATABASES["default"] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": POSTGRES_DB,
        "USER": POSTGRES_USER,
        "HOST": POSTGRES_HOST,
        "OPTIONS": {"sslmode": POSTGRES_SSLMODE, "application_name": "Mathesar Django"},
    }
    if POSTGRES_PASSWORD is not None:
        DATABASES["default"]["PASSWORD"] = POSTGRES_PASSWORD
    if POSTGRES_PORT:
        # Mathesar rejects a non-numeric port at start-up the same way.
        DATABASES["default"]["PORT"] = str(int(POSTGRES_PORT))

# SECRET_KEY from the environment; otherwise one generated once into
# BASE_DIR/.secrets/secret_key.txt and reused (O_EXCL create, as Mathesar).
SECRETS_ROOT = os.path.join(BASE_DIR, ".secrets")
SECRET_KEY = os.environ.get("SECRET_KEY")
if not SECRET_KEY:
    os.makedirs(SECRETS_ROOT, exist_ok=True)
    SECRET_KEY_FILE = os.path.join(SECRETS_ROOT, "secret_key.txt")
    try:
        with open(SECRET_KEY_FILE, "x") as f:
            f.write(get_random_secret_key())
    except FileExistsError:
        pass
    with open(SECRET_KEY_FILE) as f:
        SECRET_KEY = f.read()

# django-fernet-encrypted-fields derives its key from SECRET_KEY salted with
# SALT_KEY; Mathesar sets the salt to the key itself.
SALT_KEY = SECRET_KEY

DEBUG = os.environ.get("DEBUG") in ["t", "true", "True"]

# Any other Host header gets Django's plain 400.
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", ".localhost, 127.0.0.1, [::1]").split(",")]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = os.path.join(BASE_DIR, "static/")

# Uploads (data file imports).
MEDIA_ROOT = os.environ.get("MEDIA_ROOT", os.path.join(BASE_DIR, ".media/"))
MEDIA_URL = "/media/"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed, hashed copies served by whitenoise (Mathesar's choice).
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

LOGIN_URL = "/auth/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = LOGIN_URL
