# Trëmma — the two commands: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Two installs: the runtime dependencies for `make demo`, the dev extras for the rest.
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
# The demo's own SECRET_KEY: made once, kept (sessions survive a restart), readable by its owner only.
DEMO_SECRET_KEY := var/secret_key
NODE_STAMP := node_modules/.installed

.PHONY: demo test lint typecheck install bench bench-2m clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUNTIME_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $(RUNTIME_STAMP)

$(DEV_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(DEV_STAMP) $(RUNTIME_STAMP)

$(DEMO_SECRET_KEY): | $(BIN)/python
	mkdir -p $(@D)
	$(BIN)/python -c 'import os, secrets; fd = os.open("$@", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600); os.write(fd, secrets.token_urlsafe(50).encode()); os.close(fd)'

# Test-only JavaScript (axe-core, for the accessibility checks of the browser
# tests), exactly as package-lock.json pins it.
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm is missing: install Node.js 20 and npm (Debian: apt-get install nodejs npm); the browser tests need axe-core from npm" >&2; exit 1; }
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

install: $(DEV_STAMP) $(NODE_STAMP)

# The product on embedded defaults: SQLite, in-memory channel layer, local
# media, console email, demo payment gateway (asked for by name: every page says
# no payment is real), demo data. DEBUG off, as in production: our own error
# pages, static files served by WhiteNoise from collectstatic's output.
# The worker runs in a process group of its own (set -m) and is stopped through
# its main process only, when uvicorn ends (Ctrl-C, or a signal to make's
# group): django-q2's cluster hangs for good if its sentinel gets SIGTERM too.
demo: export DEBUG = false
demo: export PAYMENTS_DEMO = true
demo: export SECRET_KEY ?= $(file < $(DEMO_SECRET_KEY))
demo: export SITE_URL ?= http://127.0.0.1:$(PORT)
demo: $(RUNTIME_STAMP) $(DEMO_SECRET_KEY)
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py collectstatic --noinput -v 0
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "Trëmma is running at http://127.0.0.1:$(PORT)/"
	@echo "  Home:          http://127.0.0.1:$(PORT)/"
	@echo "  API:           http://127.0.0.1:$(PORT)/api/campaigns/  and  /api/items/?status=listed"
	@echo "  API docs:      http://127.0.0.1:$(PORT)/api/docs/"
	@echo "  Managers:      http://127.0.0.1:$(PORT)/gestion/  (managers' home; sign in as a manager below)"
	@echo "  Admin:         http://127.0.0.1:$(PORT)/admin/"
	@echo "  Health:        http://127.0.0.1:$(PORT)/healthz"
	@echo "  (the worker runs beside it: expired holds, tax receipts, transfers, as the Procfile's worker does)"
	@echo ""
	set -m; $(BIN)/python manage.py qcluster --skip-checks & worker=$$!; set +m; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; \
	$(BIN)/uvicorn tremma.asgi:application --ws wsproto --ws-per-message-deflate false --host 127.0.0.1 --port $(PORT) --no-access-log

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(DEV_STAMP)
	$(BIN)/mypy .

# The whole suite: lint (ruff, and the rooms' layer order with import-linter),
# then pytest (unit and integration), then the browser tests in their own
# invocation (pytest-playwright's loop must not leak).
test: $(DEV_STAMP) $(NODE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -m "not browser"
	$(BIN)/python -m pytest -m browser tests/browser
	@echo "Browser screenshots and the item page's budget report: build/screenshots/"

bench: $(DEV_STAMP)
	$(BIN)/python -m bench

# The catalogue alone at 2,000,000 items (PostgreSQL: DATABASE_URL=…/tremma_bench; a few minutes).
bench-2m: $(DEV_STAMP)
	$(BIN)/python -m bench --only catalogue --items 2000000 --levers

clean:
	rm -rf $(VENV) var build node_modules *.egg-info
