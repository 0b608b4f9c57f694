# The Airflow image of docker-compose.yml: Apache Airflow's own image, pinned, plus the project's
# exact pins (requirements.txt) and booking-guard itself (editable: compose mounts the source over
# /opt/booking-guard, so a code change needs a restart, not a rebuild).
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:0 requirements.txt /opt/booking-guard/requirements.txt
# Airflow pinned alongside, as Airflow's image documentation asks, so pip cannot move it; the
# Celery provider is this deployment's executor. Its Redis transport (kombu[redis] 5.7.0) pins
# packaging==26.3 where requirements.txt has 26.4: the only change to the resolved set (checked
# with `pip install --dry-run` against these pins).
RUN sed 's/^packaging==.*/packaging==26.3/' /opt/booking-guard/requirements.txt \
        > /tmp/requirements-celery.txt \
    && pip install --no-cache-dir "apache-airflow==3.3.2" \
        "apache-airflow-providers-celery==3.26.0" "celery==5.6.3" "kombu==5.7.0" \
        -r /tmp/requirements-celery.txt

COPY --chown=airflow:0 . /opt/booking-guard
RUN pip install --no-cache-dir --no-deps -e /opt/booking-guard \
    && mkdir -p /opt/booking-guard/var/gx
