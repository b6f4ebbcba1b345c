# SeeCodes backend. `make run` serves the API; `make test` runs the whole suite.
VENV   ?= .venv
PY     := $(VENV)/bin/python
FLASK  := $(VENV)/bin/flask --app wsgi
PYTHON ?= python3

.PHONY: run test worker bench setup install migrate seed

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -r requirements.txt
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
test: setup
	$(VENV)/bin/pytest -q -n $(TEST_WORKERS) $(PYTEST_ARGS)

# A worker migrates (under the migrations' lock) and seeds (concurrent seeds converge), so it may start beside `make run`.
worker: setup
	@exec $(PY) -m seecodes.runs.worker

bench: setup
	$(PY) -m bench
