# Trëmma — the two commands: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: demo test lint typecheck install bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# Test-only JavaScript (axe-core, for the accessibility checks of the browser
# tests), exactly as package-lock.json pins it.
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm is missing: install Node.js 20 and npm (Debian: apt-get install nodejs npm); the browser tests need axe-core from npm" >&2; exit 1; }
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP)

# The product on embedded defaults: SQLite, in-memory channel layer, local
# media, console email, demo payment gateway, demo data.
demo: export DEBUG ?= true
demo: export SITE_URL ?= http://127.0.0.1:$(PORT)
demo: $(STAMP)
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py collectstatic --noinput -v 0
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "Trëmma is running at http://127.0.0.1:$(PORT)/"
	@echo "  Home:          http://127.0.0.1:$(PORT)/"
	@echo "  API:           http://127.0.0.1:$(PORT)/api/campaigns/  and  /api/items/?status=listed"
	@echo "  API docs:      http://127.0.0.1:$(PORT)/api/docs/"
	@echo "  Managers:      http://127.0.0.1:$(PORT)/manage/  (live dashboard; sign in as a manager below)"
	@echo "  Admin:         http://127.0.0.1:$(PORT)/admin/"
	@echo "  Health:        http://127.0.0.1:$(PORT)/healthz"
	@echo "  (the worker runs beside it: expired holds, tax receipts, transfers, as the Procfile's worker does)"
	@echo ""
	$(BIN)/python manage.py worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT; \
	$(BIN)/uvicorn tremma.asgi:application --ws wsproto --host 127.0.0.1 --port $(PORT) --no-access-log

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy .

# The whole suite: lint, then pytest (unit and integration), then the browser
# tests in their own invocation (pytest-playwright's loop must not leak).
test: $(STAMP) $(NODE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -m "not browser"
	$(BIN)/python -m pytest -m browser tests/browser
	@echo "Browser screenshots and the item page's budget report: build/screenshots/"

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var build node_modules *.egg-info
