"""Production settings: the common ones plus the proxy header, as Mathesar's."""
from config.settings.common_settings import *  # noqa: F401,F403

# Trust X-Forwarded-Proto from a reverse proxy (Mathesar's compose puts Caddy
# in front of the app).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
