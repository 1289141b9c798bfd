#!/bin/sh
# The container's start: bring the database to this release's schema, then serve.
set -eu
cd "$(dirname "$0")/.."
flask --app app db-upgrade
exec gunicorn --config deploy/gunicorn.conf.py
