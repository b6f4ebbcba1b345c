# SeeCodes backend. `make run` serves the API; `make test` runs the whole suite.
VENV   ?= .venv
PY     := $(VENV)/bin/python
FLASK  := $(VENV)/bin/flask --app wsgi
PYTHON ?= python3

.PHONY: run test worker bench setup install migrate seed test-tools

$(VENV)/.installed: requirements.txt client/pyproject.toml $(wildcard client/seecodes_client/*.py)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -r requirements.txt
	@$(PY) -m pip install -q ./client  # the reference client: .venv/bin/seecodes
	@touch $@

install: $(VENV)/.installed

# Recipes are not echoed (@): with SEECODES_LOG_FORMAT=json every line a start prints is one JSON object.
migrate: install
	@$(FLASK) db upgrade

seed: migrate
	@$(FLASK) models seed

setup: seed

run: setup
	@exec $(VENV)/bin/gunicorn -c gunicorn.conf.py wsgi:app

# Two pytest-xdist processes, each with its own PostgreSQL database and Redis db (tests/production.py).
TEST_WORKERS ?= 2
test: setup test-tools
	$(VENV)/bin/pytest -q -n $(TEST_WORKERS) $(PYTEST_ARGS)

# The suite starts a PgBouncer of its own (tests/pgbouncer): Debian's package, installed when missing (as root).
test-tools:
	@command -v pgbouncer >/dev/null || test -x /usr/sbin/pgbouncer || \
	  { [ "$$(id -u)" = 0 ] && apt-get update -q && apt-get install -y -q pgbouncer; } || \
	  echo "pgbouncer is missing and could not be installed: apt-get install pgbouncer (tests/pgbouncer need it)"

# A worker migrates (under the migrations' lock) and seeds (concurrent seeds converge), so it may start beside `make run`.
worker: setup
	@exec $(PY) -m seecodes.runs.worker

bench: setup
	$(PY) -m bench
