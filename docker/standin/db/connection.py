"""Connections to user databases (psycopg 3), named in pg_stat_activity."""
import psycopg


def mathesar_connection(**kwargs):
    """A new connection; `with` commits on success and rolls back on error."""
    kwargs["application_name"] = "Mathesar " + kwargs.get("application_name", "")
    return psycopg.connect(**kwargs)
