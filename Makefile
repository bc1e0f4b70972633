# The two quick-start commands: `make demo` and `make test`. Each sets itself up first.
.PHONY: demo test bootstrap lint lock airflow models

bootstrap:
	@scripts/bootstrap

demo: bootstrap
	.venv/bin/cxn demo

test: bootstrap
	.venv/bin/ruff check pipeline dags tests bench scripts
	.venv/bin/mypy
	.venv/bin/python -m pytest

lint: bootstrap
	.venv/bin/ruff check pipeline dags tests bench scripts
	.venv/bin/ruff format --check pipeline dags tests bench scripts
	.venv/bin/mypy

lock:
	scripts/lock

# Airflow 3 standalone on dags/ at http://localhost:8080 (AIRFLOW_PORT=8081 for another port).
airflow: bootstrap
	@scripts/airflow-local

# Rewrite the SQL models generated from the metric registry (reference/metrics.toml).
models: bootstrap
	.venv/bin/python -m pipeline.models.registry --write
