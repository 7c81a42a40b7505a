from django.db import models


class Visit(models.Model):
    """One row per request to `/`: proves the app writes to its database."""

    created_at = models.DateTimeField(auto_now_add=True)
    user_agent = models.CharField(max_length=200, blank=True, default="")
