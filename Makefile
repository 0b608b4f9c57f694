# Front doors for a fresh machine (see README): `make demo`, `make test`, `make airflow`.
PYTHON ?= python3.11
VENV   := .venv
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | md5sum | cut -c1-12)
AIRFLOW_PORT ?= 8080

.PHONY: demo test lint services airflow airflow-stop db-stop

# pip's output (on some machines hundreds of warnings about package locations) goes to a log.
$(STAMP):
	@mkdir -p var
	@echo "setup: installing into $(VENV) (first time: a few minutes; log: var/install.log)"
	@rm -rf $(VENV)
	@echo "setup: [1/3] virtual environment" && $(PYTHON) -m venv $(VENV) > var/install.log 2>&1 \
		|| { tail -20 var/install.log; exit 1; }
	@echo "setup: [2/3] $$(grep -c '==' requirements.txt) pinned packages (requirements.txt)" \
		&& $(VENV)/bin/pip install --no-warn-script-location --progress-bar off \
			-r requirements.txt >> var/install.log 2>&1 \
		|| { grep -i error var/install.log | tail -20; exit 1; }
	@echo "setup: [3/3] booking-guard (editable)" \
		&& $(VENV)/bin/pip install --no-deps -e . >> var/install.log 2>&1 \
		|| { tail -20 var/install.log; exit 1; }
	@touch $@

# PostgreSQL and Redis on 127.0.0.1, started when they are installed (Debian packages) but not
# running. Without a PostgreSQL, demo and airflow use an embedded one; without Redis the breaker
# and the throttle fall back to PostgreSQL. `make test` needs both.
services:
	@command -v pg_ctlcluster >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432 && { \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | tail -1) main start; \
		for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; } || true
	@command -v redis-server >/dev/null && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true

# Settings from .env (KEY=value lines, see .env.example), then the monitored database: the set
# URL, the PostgreSQL on 127.0.0.1:5432, or the embedded one in var/postgres (started if needed).
PROJECT_ENV := set -a; [ ! -f .env ] || . ./.env; set +a;
WITH_DB := $(VENV)/bin/python -m booking_guard.embedded_postgres run --

# `airflow dags test` for one run: SQLite metadata in var/airflow (which `make airflow` then
# uses), this repository's DAGs, recorded unpaused so that they run there on their schedule.
AIRFLOW_ENV := AIRFLOW_HOME=$(CURDIR)/var/airflow AIRFLOW__CORE__DAGS_FOLDER=$(CURDIR)/dags \
	AIRFLOW__CORE__PLUGINS_FOLDER=$(CURDIR)/plugins AIRFLOW__CORE__LOAD_EXAMPLES=False \
	AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False BOOKING_GUARD_GX_DIR=$(CURDIR)/var/gx

# The demo seeds many defects at once: above the production blast-radius limit (500 per rule and
# run), which is what the limit is for; the demo lets the corrections act on all of them.
DEMO_ENV := BOOKING_GUARD_MAX_CORRECTIONS=100000

demo: $(STAMP) services
	@$(PROJECT_ENV) $(WITH_DB) $(VENV)/bin/booking-guard demo
	@echo "booking path: a burst of bookings against a local Cal.com stand-in with faults on"
	@$(PROJECT_ENV) $(WITH_DB) $(VENV)/bin/booking-guard booking-demo
	@mkdir -p var/airflow
	@echo "airflow: migrating its metadata database (var/airflow/airflow.db)"
	@$(AIRFLOW_ENV) $(VENV)/bin/airflow db migrate > var/airflow/db-migrate.log 2>&1 \
		|| { tail -20 var/airflow/db-migrate.log; exit 1; }
	@for dag in consistency_monitor manual_review_queue; do \
		echo "airflow: running DAG $$dag, log in var/airflow/$$dag.log"; \
		$(PROJECT_ENV) $(AIRFLOW_ENV) $(DEMO_ENV) $(WITH_DB) $(VENV)/bin/airflow dags test $$dag \
			-c '{"full": true}' > var/airflow/$$dag.log 2>&1 \
			|| { tail -40 var/airflow/$$dag.log; exit 1; }; \
		grep -q "state=success" var/airflow/$$dag.log \
			|| { echo "$$dag did not succeed, see var/airflow/$$dag.log"; exit 1; }; \
	done
	@echo "after: a full check of the corrected data"
	@$(PROJECT_ENV) $(WITH_DB) $(VENV)/bin/booking-guard check --full --no-notify > var/after.log \
		|| [ $$? -le 2 ] || { cat var/after.log; exit 1; }
	@$(PROJECT_ENV) $(WITH_DB) $(VENV)/bin/booking-guard status
	@$(PROJECT_ENV) $(WITH_DB) $(VENV)/bin/booking-guard summary
	@echo "Data Docs: file://$(CURDIR)/var/gx/data_docs/index.html"
	@echo "Next: make airflow (the scheduler and the UI, DAGs every 5 minutes)"

# Airflow for real on this machine, in the foreground until Ctrl-C (or make airflow-stop).
airflow: $(STAMP) services
	@$(VENV)/bin/python -m booking_guard.airflow.standalone --port $(AIRFLOW_PORT)

airflow-stop:
	@$(VENV)/bin/python -m booking_guard.airflow.standalone stop

db-stop:
	@$(VENV)/bin/python -m booking_guard.embedded_postgres stop

test: $(STAMP) services
	@pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null \
		|| { echo "make test needs PostgreSQL and Redis on 127.0.0.1 (5432, 6379)"; exit 1; }
	@command -v chromium >/dev/null || { echo "setup: Debian's chromium for the headless-browser tests"; \
		{ apt-get install -y -q chromium || { apt-get update -q && apt-get install -y -q chromium; }; } \
			>> var/install.log 2>&1 || { tail -20 var/install.log; exit 1; }; }
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

lint: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
