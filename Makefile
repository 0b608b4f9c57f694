# Two front doors for a fresh machine (see README): `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | md5sum | cut -c1-12)

.PHONY: demo test lint services

$(STAMP):
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --no-warn-script-location -r requirements.txt
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $@

# PostgreSQL and Redis on 127.0.0.1, started when they are not running (Debian packages).
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | tail -1) main start; \
		for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; }
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no

# Airflow for one machine: SQLite metadata in var/airflow, this repository's DAGs and plugins.
AIRFLOW_ENV := AIRFLOW_HOME=$(CURDIR)/var/airflow AIRFLOW__CORE__DAGS_FOLDER=$(CURDIR)/dags \
	AIRFLOW__CORE__PLUGINS_FOLDER=$(CURDIR)/plugins AIRFLOW__CORE__LOAD_EXAMPLES=False \
	BOOKING_GUARD_GX_DIR=$(CURDIR)/var/gx

demo: $(STAMP) services
	$(VENV)/bin/booking-guard demo
	@mkdir -p var/airflow
	@echo "airflow: migrating its metadata database (var/airflow/airflow.db)"
	@$(AIRFLOW_ENV) $(VENV)/bin/airflow db migrate > var/airflow/db-migrate.log 2>&1 \
		|| { tail -20 var/airflow/db-migrate.log; exit 1; }
	@echo "airflow: running DAG consistency_monitor (full scan), log in var/airflow/consistency_monitor.log"
	@$(AIRFLOW_ENV) $(VENV)/bin/airflow dags test consistency_monitor -c '{"full": true}' \
		> var/airflow/consistency_monitor.log 2>&1 \
		|| { tail -40 var/airflow/consistency_monitor.log; exit 1; }
	@grep -q "state=success" var/airflow/consistency_monitor.log \
		|| { echo "consistency_monitor did not succeed, see var/airflow/consistency_monitor.log"; exit 1; }
	$(VENV)/bin/booking-guard status
	@echo "Data Docs: file://$(CURDIR)/var/gx/data_docs/index.html"

test: $(STAMP) services
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

lint: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
