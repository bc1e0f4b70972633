# The image every Airflow component of docker-compose.yml runs: the official Airflow image plus
# WeasyPrint's native libraries, the project's locked Python packages and the project itself.
#
#   docker compose build        (docker-compose.yml builds this file; no registry push needed)
#
# The Airflow version here must be the one requirements.lock pins (tests/unit/test_compose.py
# checks it, and so does the build below).
FROM apache/airflow:3.3.2-python3.11

# --- as root: Debian libraries -----------------------------------------------------------------
USER root

# WeasyPrint is pure Python on top of Pango, HarfBuzz and fontconfig (the same list as
# scripts/bootstrap). No font packages: the newsletter's fonts are vendored in reports/templates/.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz-subset0 \
        libfontconfig1 \
    && apt-get autoremove -yqq --purge \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*

# Folders that docker-compose.yml mounts named volumes on (task logs, the SimpleAuthManager
# password file, the pipeline's landing zone, warehouse and output). A new named volume copies the
# ownership of the folder it is mounted on, so they are made here for the airflow user and group 0:
# the containers run as an arbitrary UID with GID 0 (AIRFLOW_UID), as the official image expects.
# /opt/cxn receives the project below. (RUN uses sh: no brace expansion, every path is spelt out.)
RUN mkdir -p /opt/airflow/logs /opt/airflow/auth /opt/cxn \
        /opt/cxn/data/landing /opt/cxn/data/warehouse /opt/cxn/data/out \
    && chown airflow:0 /opt/airflow/logs /opt/airflow/auth /opt/cxn \
        /opt/cxn/data /opt/cxn/data/landing /opt/cxn/data/warehouse /opt/cxn/data/out \
    && chmod 2775 /opt/airflow/logs /opt/airflow/auth /opt/cxn \
        /opt/cxn/data /opt/cxn/data/landing /opt/cxn/data/warehouse /opt/cxn/data/out

# --- as airflow: Python packages ---------------------------------------------------------------
USER airflow

COPY --chown=airflow:0 requirements.lock /tmp/requirements.lock

# Why `--no-deps --require-hashes -r requirements.lock` and not the Airflow docs' usual
# `pip install "apache-airflow==${AIRFLOW_VERSION}" -r requirements.txt`:
# - requirements.lock is complete (uv pip compile: every transitive dependency pinned, with
#   hashes), so there is nothing left to resolve. --no-deps installs exactly the lock, nothing
#   pip would pick on its own, and every download is checked against its hash.
# - The lock pins apache-airflow itself; the check just below fails the build unless it is the
#   image's own ${AIRFLOW_VERSION}, so pip finds Airflow (and its core / task SDK, locked at the
#   matching versions) already installed and leaves them alone: the image's Airflow stays the
#   one the DAGs were tested against.
# - `pip install` (not a sync) only adds or re-pins the lock's packages. What the image ships
#   beyond them stays, notably the Postgres driver (psycopg2) the metadata DB connection needs,
#   and the Celery provider, Celery and the Redis client the CeleryExecutor needs (the image's
#   default extras include `celery` and `redis`), none of which the project's lock has.
# The lock also holds the dev tools (pytest, ruff, ...): a little more image, and the test suite
# can run inside the containers, with the checkout (which has tests/) mounted:
# `docker compose run --rm -v "$PWD:/opt/cxn" airflow-scheduler bash -c pytest`.
RUN grep -q "^apache-airflow==${AIRFLOW_VERSION} " /tmp/requirements.lock \
    || { echo "requirements.lock does not pin apache-airflow==${AIRFLOW_VERSION} (the base image)" >&2; exit 1; }
RUN pip install --no-cache-dir --no-deps --require-hashes -r /tmp/requirements.lock

# The project, editable: `pipeline` is then imported from /opt/cxn/pipeline, and pipeline/settings.py
# finds sql/, reports/templates/ and reference/ next to it. docker-compose.yml mounts the checkout
# over /opt/cxn, so code, SQL and template changes need no rebuild; the copies below make the
# image work on its own too. Only these folders are copied (not `COPY . `), so the host's .venv
# and data/ never end up in the image.
COPY --chown=airflow:0 pyproject.toml /opt/cxn/
COPY --chown=airflow:0 pipeline/ /opt/cxn/pipeline/
COPY --chown=airflow:0 dags/ /opt/cxn/dags/
COPY --chown=airflow:0 sql/ /opt/cxn/sql/
COPY --chown=airflow:0 reports/ /opt/cxn/reports/
COPY --chown=airflow:0 reference/ /opt/cxn/reference/
RUN pip install --no-cache-dir --no-deps -e /opt/cxn

# Fail the build, not the first task, if a native library, the Airflow pin or the CeleryExecutor's
# packages are off. (weasyprint loads Pango when imported; the version checks read metadata
# without starting Airflow.)
RUN python -c "import weasyprint, duckdb, pipeline" \
    && python -c "import importlib.metadata as m, sys; v = m.version('apache-airflow'); \
assert v == sys.argv[1], f'apache-airflow {v} is installed, the image is {sys.argv[1]}'" \
        "${AIRFLOW_VERSION}" \
    && python -c "import importlib.metadata as m; m.version('apache-airflow-providers-celery'); \
import celery, redis"

WORKDIR /opt/cxn
