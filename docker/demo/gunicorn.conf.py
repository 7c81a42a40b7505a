# gunicorn settings for the demo app (gunicorn reads this from its working
# directory, and the image's CMD names it explicitly).
import os

bind = ["0.0.0.0:8000"]
# The project lives next to this file (/opt/demo/app in the image).
chdir = os.path.dirname(os.path.abspath(__file__))
wsgi_app = "demo.wsgi:application"
workers = 2
worker_class = "sync"
timeout = 30
# SIGTERM from mathesar-init: stop accepting, let requests finish for at most
# this long, then exit. Must stay well under MATHESAR_STOP_TIMEOUT (9 s),
# which also has to cover PostgreSQL's fast shutdown.
graceful_timeout = 5
# Logs to the container's stdout/stderr only (mathesar-init tags them "app").
accesslog = "-"
errorlog = "-"
loglevel = "info"
capture_output = False
# gunicorn >= 24 opens a control socket in $HOME/.gunicorn by default; the
# container does not need it (mathesar-init is the supervisor).
control_socket_disable = True
