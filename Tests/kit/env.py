"""The one environment scrubber: what a subject under test (mathesar-init, a
peer init, a PostgreSQL tool) gets of the caller's environment."""
import os
import re

# Variables of the caller that must not steer a subject: a developer's
# POSTGRES_PASSWORD or PGHOST would otherwise change what a test means.
SCRUB = re.compile(r"^(POSTGRES_|MATHESAR_|PG[A-Z]+$|SECRET_KEY)")


def clean_env(**extra):
    """The caller's environment without the SCRUB variables, plus `extra`
    (values made strings)."""
    env = {k: v for k, v in os.environ.items() if not SCRUB.match(k)}
    env.update({k: str(v) for k, v in extra.items()})
    return env
