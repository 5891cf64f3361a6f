# One entry point. `make run` installs and starts the app with the Almaty demo
# data (SQLite + a local Celery worker); `make test` runs the whole suite,
# `make test-fast` all but the browser, worker and fault tests (for development).
# Both lint first: ruff, then lint-imports (the layer contracts in pyproject.toml).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run install browser migrate demo test test-fast test-explore lint format clean

run: install migrate demo
	@echo "Open http://$(HOST):$(PORT)/ (API docs: /api/docs/). Ctrl-C stops web and worker."
	HOST=$(HOST) PORT=$(PORT) $(VENV)/bin/honcho -f Procfile.dev start

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $@

migrate: install
	$(PY) manage.py migrate --noinput

demo: install
	$(PY) manage.py load_demo

# Browser tests drive Debian's chromium (never a downloaded one).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "Browser tests need Debian's chromium: sudo apt-get install chromium"; fi; }

# The suite in two passes, each in parallel (pytest-xdist: TEST_WORKERS processes, a
# test database each). First everything but the tests that start real Celery workers,
# browsers and Redis servers (tests/e2e, integration and faults, marked by folder in
# tests/conftest.py); then those, on the same databases (made fresh by the first pass,
# --create-db; reused by the second, --reuse-db: migrating one costs ~14 s). Each has
# its own queue, port and Redis server, so two run side by side. The second pass runs
# even when the first failed; each lists its 25 slowest tests. Bytecode is written
# even where PYTHONDONTWRITEBYTECODE is set: pytest's assertion rewriting of the test
# modules then happens once, not in every process (collection 19 s -> 8 s).
SERIAL_TESTS := e2e or integration or faults
TEST_WORKERS ?= auto
# worksteal: a worker that runs out of tests takes some queued for the other, so a
# long test near the end does not leave a core idle.
XDIST := -n $(TEST_WORKERS) --dist worksteal
PYTEST := PYTHONDONTWRITEBYTECODE= $(PY) -m pytest --durations=25

test: install browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	@fast=0; serial=0; \
	$(PYTEST) $(XDIST) -m "not ($(SERIAL_TESTS))" --create-db $(PYTEST_ARGS) || fast=$$?; \
	$(PYTEST) $(XDIST) -m "$(SERIAL_TESTS)" --reuse-db $(PYTEST_ARGS) || serial=$$?; \
	echo "make test: first pass exit $$fast, second pass (workers, browsers, faults) exit $$serial (5: no test selected)"; \
	if [ $$fast = 5 ] && [ $$serial = 5 ]; then exit 5; fi; \
	for code in $$fast $$serial; do [ $$code = 0 ] || [ $$code = 5 ] || exit $$code; done

# The parallel pass alone: no browser, no Celery worker, no Redis restarts.
test-fast: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(PYTEST) $(XDIST) -m "not ($(SERIAL_TESTS))" $(PYTEST_ARGS)

# Property tests with many more examples from random seeds (hypothesis profile
# "explore"; a failure prints its example and the blob that replays it), then the
# worker's import of the largest file allowed (the normal run imports a smaller one).
test-explore: install
	HYPOTHESIS_PROFILE=explore $(PYTEST) $(XDIST) -m hypothesis $(PYTEST_ARGS)
	IMPORT_TEST_ROWS=5000 $(PYTEST) tests/integration/test_import_worker.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

format: install
	$(VENV)/bin/ruff format .

clean:
	rm -rf var/celery-broker var/symbiosis.sqlite3
