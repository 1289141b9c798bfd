"""gunicorn settings for Safekeep, the same in the container and on a VM (systemd).

    gunicorn --config deploy/gunicorn.conf.py "app:create_app()"

Environment: GUNICORN_BIND (default 127.0.0.1:8000, behind the TLS proxy on the same host;
the image sets 0.0.0.0:8000, since a container's loopback cannot be reached from the host's
published port, and compose publishes that port on the host's loopback only),
WEB_CONCURRENCY (workers), FORWARDED_ALLOW_IPS (the proxy's address, so its
X-Forwarded-Proto is believed).
"""

import multiprocessing
import os
import sys
from pathlib import Path

# A server on SQLite never loads the PostgreSQL driver. peewee imports psycopg at its own
# import whenever it is installed, which costs every worker about 9 MB; a module marked
# absent before that import is skipped, and peewee runs on SQLite without it. (The schemes
# are models.base.connect_database's; importing it here would import peewee first.)
if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
    sys.modules.setdefault("psycopg", None)
    sys.modules.setdefault("psycopg2", None)

ROOT = Path(__file__).resolve().parent.parent
# The app and its JSON log formatter are imported from the checkout, whatever the cwd.
sys.path.insert(0, str(ROOT))
chdir = str(ROOT)
wsgi_app = "app:create_app()"

# Loopback unless told otherwise: a server started by hand is not open to the whole network.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: each request has one database connection to itself. Two per core and one
# more is gunicorn's advice; capped, since a container sees every core of its host.
workers = int(os.environ.get("WEB_CONCURRENCY", min(multiprocessing.cpu_count() * 2 + 1, 9)))
worker_class = "sync"
timeout = 30
graceful_timeout = 30
keepalive = 5
# A worker is replaced after this many requests (plus jitter, so not all at once): memory
# that grows slowly never grows far.
max_requests = 1000
max_requests_jitter = 100
# The container's root filesystem is read-only: the workers' heartbeat files go to memory.
worker_tmp_dir = "/dev/shm"
control_socket_disable = True
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# The app logs one JSON line per request itself (services/logs.py), without paths or query
# strings: gunicorn's access log, which has both, stays off. Its own messages are JSON too.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "services.logs.JsonFormatter"}},
    "handlers": {
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        },
    },
    "root": {"level": "INFO", "handlers": []},
    "loggers": {
        "gunicorn.error": {
            "level": "INFO",
            "handlers": ["error_console"],
            "propagate": False,
            "qualname": "gunicorn.error",
        },
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
}


def post_worker_init(worker) -> None:
    """Once a worker has loaded the app, set what it loaded out of the collector's way.

    The modules, the app and its routes live as long as the worker: left in the collector's
    generations, every full collection walks them all (about 80,000 objects: a pause of tens
    of milliseconds, 0.4 ms a board request on average). Frozen, collections walk only what
    requests made. Collected first, so no garbage of start-up is kept for good.
    """
    import gc

    gc.collect()
    gc.freeze()
