# TenantDesk. `make run` serves the demo; `make test` runs the whole suite.
# Needs only Python 3.11: the virtualenv, the pinned requirements and (without DATABASE_URL) an
# embedded PostgreSQL under var/ are set up on first use and reused afterwards.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint worker beat migrate demo db-stop

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "TenantDesk needs Python 3.11, found " + sys.version.split()[0]'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

migrate: $(VENV)/.installed
	$(PY) manage.py migrate --noinput

demo: migrate
	DEBUG=1 SITE_PORT=$(PORT) $(PY) manage.py demo

run: demo
	DEBUG=1 SITE_PORT=$(PORT) $(VENV)/bin/uvicorn saas.asgi:application --host $(HOST) --port $(PORT) --lifespan off

test: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

worker: $(VENV)/.installed
	$(VENV)/bin/celery -A saas worker --loglevel=INFO

# Periodic tasks (CELERY_BEAT_SCHEDULE); needs REDIS_URL, like the worker it feeds. One beat only.
beat: $(VENV)/.installed
	mkdir -p var
	$(VENV)/bin/celery -A saas beat --loglevel=INFO --schedule var/celerybeat-schedule

# Stop the embedded PostgreSQL (make run leaves it running so the next start is instant).
db-stop: $(VENV)/.installed
	@test -f var/pgdata/postmaster.pid && $(PY) -m saas.embedded_db stop || true
