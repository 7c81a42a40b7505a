import hashlib
import html
import os
import pwd

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse

from .models import Visit


def index(request):
    """Writes one row and reads the count back."""
    Visit.objects.create(user_agent=request.headers.get("User-Agent", "")[:200])
    count = Visit.objects.count()
    body = (
        "<!doctype html><html><head><title>mathesar-init demo</title></head><body>"
        "<h1>mathesar-init demo</h1>"
        f"<p>This page has been visited <strong id=\"visits\">{count}</strong> times.</p>"
        f"<p>Database: {html.escape(settings.DATABASES['default']['NAME'])}</p>"
        "</body></html>"
    )
    return HttpResponse(body)


def health(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001 - any failure means unhealthy
        return HttpResponse(f"database: {type(error).__name__}\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")


def status(request):
    """Read-only facts for tests. Never the secret itself: only a hash prefix."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_database(), inet_server_addr() IS NULL, "
                       "current_setting('server_version')")
        db_user, db_name, via_socket, server_version = cursor.fetchone()
    key = settings.SECRET_KEY.encode()
    return JsonResponse({
        "visits": Visit.objects.count(),
        "secret_key_sha256_prefix": hashlib.sha256(key).hexdigest()[:16] if key else None,
        "secret_key_length": len(key),
        "postgres_host": settings.DATABASES["default"]["HOST"],
        "db_user": db_user,
        "db_name": db_name,
        "unix_socket": via_socket,
        "server_version": server_version,
        "os_user": pwd.getpwuid(os.getuid()).pw_name,
        "pid": os.getpid(),
    })
