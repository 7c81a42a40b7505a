"""A tiny WSGI app for gunicorn: `/` answers at once; `/slow` first creates
$GATE_STARTED, then answers only once $GATE_OPEN exists, so that a test can
hold a request in flight while it stops the container. Each worker that has
loaded it (and so installed its signal handlers) creates $GATE_BOOTED.PID."""
import os
import time

open(f"{os.environ['GATE_BOOTED']}.{os.getpid()}", "w").close()


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/slow":
        open(os.environ["GATE_STARTED"], "w").close()
        while not os.path.exists(os.environ["GATE_OPEN"]):
            time.sleep(0.01)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]
