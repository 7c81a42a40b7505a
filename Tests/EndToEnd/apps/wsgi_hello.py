"""Test app for gunicorn: answers 200 with the PORT variable it was given."""
import os


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"PORT={os.environ.get('PORT')} DATABASE_URL={'DATABASE_URL' in os.environ}\n".encode()]
