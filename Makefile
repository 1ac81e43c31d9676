# The toolchain. `make run` and `make test` do all set-up on a fresh machine with Python 3.11+.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
HL7_PORT ?= 2575

.PHONY: run test lint format check-deploy seed seed-large worker clean bench

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

.env:
	@printf 'DEBUG=1\nSECRET_KEY=dev-%s\n' "$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(40))')" > .env
	@echo "Wrote .env for development (DEBUG=1, a random SECRET_KEY)."

# Web server, Celery worker and beat on the embedded broker, and the HL7 results listener
# on 127.0.0.1:$(HL7_PORT); Ctrl-C stops them all.
run: $(VENV)/.installed .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@$(VENV)/bin/celery -A peerlearning worker --beat --loglevel=INFO --concurrency=1 \
		--schedule=var/celerybeat-schedule & worker=$$!; \
	$(PY) manage.py hl7_listen --host 127.0.0.1 --port $(HL7_PORT) & hl7=$$!; \
	trap 'kill $$worker $$hl7 2>/dev/null; wait $$worker $$hl7 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

test: $(VENV)/.installed .env lint
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest --cov --cov-report=term $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) scripts/import_cycles.py

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

worker: $(VENV)/.installed .env
	$(VENV)/bin/celery -A peerlearning worker --beat --loglevel=INFO --concurrency=1

seed: $(VENV)/.installed .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo

seed-large: $(VENV)/.installed .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --size large

clean:
	rm -rf var/broker var/cache var/mail

# Every benchmark, then one summary (docs/performance.md). Needs PostgreSQL and Redis on
# loopback and wrk (apt-get install wrk); about 15 minutes on two cores.
bench: $(VENV)/.installed .env
	bench/run_all.sh
