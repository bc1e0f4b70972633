"""The DAG files import cleanly and are scheduled, pooled and retried as intended."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dags) == ["cx_daily", "cx_weekly_newsletter"]


def test_daily_dag_schedule(dagbag):
    from airflow.sdk import CronDataIntervalTimetable

    dag = dagbag.dags["cx_daily"]
    # A cron string would give Airflow 3's zero-width interval; the day must be the interval.
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert dag.timetable.expression == "0 0 * * *"
    assert str(dag.timetable.timezone) in ("UTC", "Timezone('UTC')")
    assert dag.catchup is True
    assert dag.max_active_runs == 1
    assert [t.task_id for t in dag.topological_sort()] == ["load", "build"]


def test_weekly_dag_schedule_and_params(dagbag):
    dag = dagbag.dags["cx_weekly_newsletter"]
    assert dag.timetable.expression == "0 0 * * 1"  # the interval is one ISO week
    assert dag.max_active_runs == 1
    assert set(dag.params) == {"sellers", "force_resend"}
    assert dag.params["sellers"] == [] and dag.params["force_resend"] is False
    assert [t.task_id for t in dag.topological_sort()] == ["render", "send"]


@pytest.mark.parametrize("dag_id", ["cx_daily", "cx_weekly_newsletter"])
def test_every_task_uses_the_duckdb_pool_and_retries(dagbag, dag_id):
    for task in dagbag.dags[dag_id].tasks:
        assert task.pool == "duckdb_writer", task.task_id
        assert task.retries >= 1, task.task_id


@pytest.mark.parametrize("path", sorted(DAGS.glob("*.py")), ids=lambda p: p.name)
def test_dag_files_import_no_heavy_modules_at_top_level(path):
    """Parsing stays cheap: pipeline, duckdb, pandas and weasyprint load inside tasks."""
    tree = ast.parse(path.read_text())
    top = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            top.add(node.module.split(".")[0])
    assert top <= {"__future__", "airflow", "pendulum", "datetime"}, top
    assert ast.get_docstring(tree), "the module docstring is the DAG's doc_md"
