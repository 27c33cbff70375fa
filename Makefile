# The two commands: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
AXE := var/npm/node_modules/axe-core/axe.min.js

.PHONY: run test test-sqlite test-postgres test-replica install static lint migrations-check check benchmark fuzz \
	test-browser clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# Hashed, compressed copies of the static files in var/static, which WhiteNoise serves when
# DEBUG is off. DEBUG=1 only lets settings load without a SECRET_KEY: the files are the same.
static: install
	DEBUG=1 $(PY) manage.py collectstatic --noinput -v0

# A local instance on the embedded default database (SQLite under var/), with demo content.
# var/.env (git-ignored) keeps a development SECRET_KEY, DEBUG=1 and the demo tokens; only
# manage.py reads it, and only when DEBUG is not set, so README's commands work as pasted.
run: install static
	$(PY) -m opsknowledge.localenv var/.env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo --local-instance http://$(HOST):$(PORT)
	$(PY) manage.py runserver $(HOST):$(PORT)

# The suite on SQLite, then again on PostgreSQL when TEST_DATABASE_URL is set.
test: install $(AXE) test-sqlite
	@if [ -n "$$TEST_DATABASE_URL" ]; then $(MAKE) --no-print-directory test-postgres; \
	else echo "TEST_DATABASE_URL is not set: the suite ran on SQLite only."; fi

# The browser tests (tests/browser) run in one pass only: PostgreSQL's when there is one.
ONE_BROWSER_PASS = $(if $(TEST_DATABASE_URL),--ignore=tests/browser)

# The suite's passes run in TEST_WORKERS processes (pytest-xdist; each has its own test
# database and Redis prefix). 0 runs it in this process, for a debugger or `-x`.
TEST_WORKERS ?= 2

test-sqlite: install
	DATABASE_URL=sqlite:///var/test.sqlite3 $(PY) -m pytest -n $(TEST_WORKERS) $(ONE_BROWSER_PASS) \
		$(PYTEST_ARGS)

test-postgres: install
	@test -n "$$TEST_DATABASE_URL" || { echo "TEST_DATABASE_URL is not set"; exit 1; }
	DATABASE_URL="$$TEST_DATABASE_URL" $(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# The replica tests alone (tests/test_replicas.py; the suite's passes skip them): against a
# streaming replica of TEST_DATABASE_URL's server, by default the one `.ci/replica.sh up`
# makes on port 5433 (as root). OKB_REQUIRE_REPLICA=1 makes a missing replica fail them.
TEST_REPLICA_URLS ?= $(subst :5432/,:5433/,$(TEST_DATABASE_URL))
test-replica: install
	@test -n "$$TEST_DATABASE_URL" || { echo "TEST_DATABASE_URL is not set"; exit 1; }
	DATABASE_URL="$$TEST_DATABASE_URL" DATABASE_REPLICA_URLS="$(TEST_REPLICA_URLS)" \
		$(PY) -m pytest tests/test_replicas.py $(PYTEST_ARGS)

# The browser tests alone (Playwright driving the system's Chromium), on DATABASE_URL or
# SQLite. Screenshots: var/artifacts/screenshots/; axe-core results: var/artifacts/axe/.
test-browser: install $(AXE)
	DATABASE_URL="$${DATABASE_URL:-sqlite:///var/test.sqlite3}" $(PY) -m pytest -n $(TEST_WORKERS) \
		tests/browser $(PYTEST_ARGS)

# axe-core, pinned, from the npm registry: the browser tests' accessibility scan. Without
# npm the browser tests say what they lack.
$(AXE):
	@if command -v npm >/dev/null; then \
		npm install --prefix var/npm --no-audit --no-fund --silent axe-core@4.14.1; \
	else echo "npm is missing: no axe-core for the browser tests"; fi

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

migrations-check: install
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

check: lint migrations-check test

# Medians of the hot API paths on a throwaway database (DATABASE_URL picks the kind).
benchmark: install
	DEBUG=1 $(PY) manage.py benchmark $(BENCHMARK_ARGS)

# Schema-driven fuzzing of a real server on a fresh database (DATABASE_URL picks the kind),
# anonymous and as an editor, with a fixed seed: a few minutes, non-zero on any finding.
fuzz: install
	$(PY) -m tests.fuzz

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis .schemathesis
