# Parley's developer entry points. `make run` serves the app on a fresh machine
# (SQLite + in-memory channel layer); `make test` runs ruff and the whole suite.
# CI (`.ci/run`) sets DATABASE_URL and REDIS_URL first, so the same targets then
# run against PostgreSQL and Redis.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
# Rewritten whenever the dependencies are (re)installed: the venv is rebuilt
# only when pyproject.toml or requirements.lock is newer than this stamp.
STAMP := $(VENV)/.parley-installed

PORT ?= 8000
CHROMIUM ?= /usr/bin/chromium
# E2E=0 skips the browser tests (and so the need for Chromium).
E2E ?= 1
# Extra arguments for both pytest runs, e.g. `make test PYTEST_ARGS="-x -k health"`.
PYTEST_ARGS ?=

.PHONY: help venv run test test-fast chromium lint fmt clean screenshots

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*## "} {printf "  make %-10s %s\n", $$1, $$2}'

venv: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@python=""; \
	if command -v python3.12 >/dev/null 2>&1 \
		&& python3.12 -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then \
		python="$$(python3.12 -c 'import sys; print(sys.executable)')"; \
	elif command -v pyenv >/dev/null 2>&1 \
		&& candidate="$$(pyenv which python 2>/dev/null)" \
		&& "$$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then \
		python="$$candidate"; \
	fi; \
	if [ -z "$$python" ]; then \
		echo "error: Parley needs Python 3.12. Put python3.12 on PATH, or install it" >&2; \
		echo "       with pyenv (\`pyenv install 3.12\`; .python-version selects it)." >&2; \
		exit 1; \
	fi; \
	if [ -x $(BIN)/python ] \
		&& $(BIN)/python -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then \
		echo "Updating $(VENV) ($$($(BIN)/python -V))"; \
	else \
		echo "Creating $(VENV) with $$python"; \
		"$$python" -m venv --clear $(VENV); \
	fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	@touch $(STAMP)

run: venv ## Migrate, load the demo data, serve on http://127.0.0.1:PORT (8000)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_playbooks
	PORT=$(PORT) $(BIN)/python manage.py seed_demo
	$(BIN)/python -m config.serve -b 127.0.0.1 -p $(PORT) config.asgi:application

# Playwright cannot download its own browser here, so the browser tests drive
# Debian's Chromium.
chromium:
	@if [ "$(E2E)" = 0 ] || [ -x "$(CHROMIUM)" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
		[ -x "$(CHROMIUM)" ] || { echo "error: still no Chromium at $(CHROMIUM)" >&2; exit 1; }; \
	else \
		echo "error: the browser tests need Chromium at $(CHROMIUM)." >&2; \
		echo "       Install it (\`sudo apt-get install chromium\`), point CHROMIUM=… at" >&2; \
		echo "       another build, or skip them with \`make test E2E=0\`." >&2; \
		exit 1; \
	fi

# Two pytest runs: Playwright's sync API leaves an event loop running in the
# process, which would break the async tests if they shared a session. The
# browser run may legitimately collect nothing (exit code 5).
test: venv chromium ## ruff, then the test suite, then the browser tests
	$(BIN)/ruff check .
	$(BIN)/pytest -m "not e2e" $(PYTEST_ARGS)
	@if [ "$(E2E)" != 0 ]; then \
		echo "$(BIN)/pytest -m e2e $(PYTEST_ARGS)"; \
		PARLEY_CHROMIUM="$(CHROMIUM)" $(BIN)/pytest -m e2e $(PYTEST_ARGS) \
			|| { status=$$?; [ $$status -eq 5 ] || exit $$status; }; \
	fi

test-fast: ## The suite without the browser tests
	@$(MAKE) --no-print-directory test E2E=0

lint: venv ## ruff: lint and check formatting
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: venv ## ruff: fix what it can, sort imports, format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The README's pictures, taken from the demo as `make run` seeds it, on a
# fresh SQLite file of its own (your var/parley.sqlite3 is left alone).
screenshots: venv chromium ## Retake the README's pictures (docs/*.png) from the demo
	PARLEY_CHROMIUM="$(CHROMIUM)" $(BIN)/python docs/screenshots.py

# Keeps var/parley.sqlite3: that is your local data, not a build product.
clean: ## Remove the venv, caches, collected static files and the test database
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles var/static test-results *.egg-info
	rm -f var/test.sqlite3 var/test.sqlite3-wal var/test.sqlite3-shm
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
