# Safekeep's container image: Debian slim, gunicorn with deploy/gunicorn.conf.py, run as a
# user without privileges. Static files are built and fingerprinted in a build stage, so
# neither Node nor npm is in the image. README: Running Safekeep in production.
#
#   docker compose up -d --build        (with compose.yaml: the app and PostgreSQL)

# -- 1. Static files: GOV.UK Frontend's Sass, htmx, our script; content-hashed names ------
FROM node:20-bookworm-slim AS assets
RUN apt-get update \
 && apt-get install -y --no-install-recommends make python3 python3-brotli \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY Makefile ./
COPY static/src static/src
COPY services/__init__.py services/assets.py services/scanner_vendor.py services/
RUN make assets

# -- 2. Python packages, pinned in pyproject.toml, into a virtual environment -------------
FROM python:3.11-slim-bookworm AS packages
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml /tmp/
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && python -m venv /venv \
 && /venv/bin/pip install -r /tmp/requirements.txt

# -- 3. The image that runs ---------------------------------------------------------------
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/venv/bin:$PATH \
    FLASK_APP=app \
    GUNICORN_BIND=0.0.0.0:8000
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin safekeep
COPY --from=packages /venv /venv
WORKDIR /app
COPY app.py cli.py config.py pyproject.toml ./
COPY machines machines
COPY models models
COPY services services
COPY views views
COPY demo demo
COPY templates templates
COPY deploy deploy
COPY --from=assets /src/static/build static/build
COPY --from=assets /src/static/govuk static/govuk
COPY --from=assets /src/static/vendor static/vendor
COPY --from=assets /src/static/dist static/dist
# Compiled now, as root: at run time the code is read-only. instance/ is where a SQLite
# database and a generated secret key would live (mount a volume there to use them).
RUN python -m compileall -q /app \
 && mkdir -p /app/instance /app/audit \
 && chown safekeep:safekeep /app/instance /app/audit
USER safekeep
# Every interface of the container's own network (gunicorn's default is loopback, which the
# host's published port cannot reach); compose publishes the port on the host's loopback.
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
# Upgrades the database (safe to run on every start, and from several containers at once),
# then serves. `docker compose run --rm app flask --app app <command>` runs a command instead.
CMD ["/app/deploy/start.sh"]
