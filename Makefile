# Safekeep. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
FLASK  := $(VENV)/bin/flask --app app
PYTEST := $(VENV)/bin/pytest
GOVUK  := node_modules/govuk-frontend/dist/govuk
SCANNER := static/vendor/qr-scanner.min.js
# app.js on every page; the others only on the pages that load them (page_scripts).
SCRIPTS := static/build/app.js static/build/board.js static/build/kiosk.js static/build/scan.js
BUILT  := static/build/app.css static/govuk/govuk-frontend.min.js static/vendor/htmx.min.js $(SCRIPTS) \
          $(SCANNER)
ASSETS := $(BUILT) static/dist/manifest.json

.PHONY: help run test test-fast test-unit test-http test-e2e soak lint format bench assets system-deps clean

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(PY): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	@touch $(PY)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

static/build/app.css: static/src/app.scss node_modules/.package-lock.json
	@mkdir -p static/build
	npx sass --pkg-importer=node --style=compressed --no-source-map --quiet-deps $< $@

static/build/%.js: static/src/%.js
	@mkdir -p static/build
	cp $< $@

static/govuk/govuk-frontend.min.js: node_modules/.package-lock.json
	@mkdir -p static/govuk
	cp -r $(GOVUK)/assets static/govuk/
	rm -rf static/govuk/assets/fonts
	cp $(GOVUK)/govuk-frontend.min.js $@

static/vendor/htmx.min.js: node_modules/.package-lock.json
	@mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js $@

# qr-scanner for "Scan label": the library, its worker module and its decoder (one rule
# writes all three; the decoder becomes a file of its own, services/scanner_vendor.py).
$(SCANNER): node_modules/.package-lock.json services/scanner_vendor.py
	python3 -m services.scanner_vendor

# Content-hashed copies that browsers cache for a year, each with its Brotli and gzip copy
# (services/assets.py). The venv's Python has the brotli module; a python3 without it (before
# the venv is made) writes the gzip copies only. The container's build stage installs it.
static/dist/manifest.json: $(BUILT) services/assets.py
	$(if $(wildcard $(PY)),$(PY),python3) -m services.assets

assets: $(ASSETS) ## Build the CSS and scripts, fingerprinted, into static/

instance/safekeep.db: | $(PY)
	@mkdir -p instance
	$(FLASK) db-upgrade
	SAFEKEEP_DEMO=1 $(FLASK) seed-demo

# The demo needs no mail server: e-mails are written to instance/outbox/, a file each.
run: export MAIL_OUTBOX ?= instance/outbox
run: $(PY) assets instance/safekeep.db ## Serve the demo on http://127.0.0.1:5000 (SQLite, demo data)
	@$(FLASK) db-upgrade
	@$(FLASK) demo-sign-ins
	@echo "E-mails it sends (try: MAIL_OUTBOX=$(MAIL_OUTBOX) $(FLASK) send-reminders) land in $(MAIL_OUTBOX)/"
	$(FLASK) run --host 127.0.0.1 --port 5000

system-deps: ## Install Chromium and PostgreSQL from Debian when missing (tests need both)
	@if ! command -v chromium >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium postgresql >/dev/null; \
	fi

# One pytest worker per core and one more (pytest-xdist); each has its own PostgreSQL server
# and database. The browser journeys wait on Chromium and the live server, and the tests on
# PostgreSQL on its server, while the cores could go on: on 2 cores the run took 7.7 minutes
# with three workers, 10 to 11 with two. A file's tests stay together, in order, on one
# worker. Files go out in the order given, not xdist's default of most tests first: that left
# the few long browser journeys for the end, one worker finishing them while another sat idle.
WORKERS := $(shell echo $$(( $$(nproc) + 1 )))
XDIST := -n $(WORKERS) --dist loadfile --no-loadscope-reorder

# One run, a worker per core and one more: the browser files first (the longest; each starts from the
# demo as seeded, on its worker's own live server), then the rest fill in around them.
test: $(PY) assets system-deps ## Every layer: browser, stateful, HTTP (SQLite; PostgreSQL where it differs), unit
	$(PYTEST) $(XDIST) tests/e2e tests/stateful tests/http tests/unit

test-fast: $(PY) assets ## The loop while you work: unit and HTTP on SQLite, but the slow sweeps (under 3 minutes)
	$(PYTEST) $(XDIST) -m "not postgres and not slow" tests/unit tests/http

test-unit: $(PY) ## Machines and rules only (fast, no database)
	$(PYTEST) $(XDIST) tests/unit

test-http: $(PY) assets system-deps ## HTTP tests only: SQLite, and PostgreSQL for tests marked postgres
	$(PYTEST) $(XDIST) tests/http

test-e2e: $(PY) assets system-deps ## Browser tests only (Chromium), with screenshots to look at
	E2E_SCREENSHOTS=1 $(PYTEST) $(XDIST) tests/e2e

# A random seed unless one is given: `make soak SEED=<the seed it printed>` replays a failure.
SEED ?= $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
soak: $(PY) system-deps ## The whole-app stateful test for longer (SEED=... replays a run)
	@echo "Soak seed: $(SEED)  (replay: make soak SEED=$(SEED))"
	HYPOTHESIS_PROFILE=soak $(PYTEST) tests/stateful -p no:cacheprovider --hypothesis-show-statistics --hypothesis-seed=$(SEED)

lint: $(PY) ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(PY) ## Format the code with ruff
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(PY) assets system-deps ## Measure at volume against a bare Flask app: ratios, statements, clicks, memory
	$(PY) tests/bench/run.py $(BENCH_ARGS)

clean: ## Remove built assets, the virtualenv and the demo database
	rm -rf $(VENV) node_modules static/build static/govuk static/vendor static/dist instance
