"""The DAG files import cleanly and are scheduled, pooled and retried as intended."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from airflow.sdk.definitions.taskgroup import MappedTaskGroup

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
    assert [t.task_id for t in dag.topological_sort()] == [
        "wait_for_extracts",
        "load",
        "build",
        "check",
        "publish",
    ]


def test_daily_dag_starts_on_cxn_start_date(monkeypatch):
    import pendulum
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("CXN_START_DATE", "2026-07-26")
    dag = DagBag(dag_folder=str(DAGS / "cx_daily.py")).dags["cx_daily"]
    assert dag.start_date == pendulum.datetime(2026, 7, 26, tz="UTC")


def test_without_cxn_start_date_the_daily_dag_starts_with_the_landing_zone(monkeypatch, tmp_path):
    """`make airflow` after `make demo`: the DAG's first day is the demo's first day."""
    import pendulum
    from airflow.dag_processing.dagbag import DagBag

    for day in ("2026-08-03", "2026-08-02", "2026-08-04"):
        (tmp_path / f"dt={day}").mkdir()
    (tmp_path / "dt=notaday").mkdir()
    monkeypatch.delenv("CXN_START_DATE", raising=False)
    monkeypatch.setenv("CXN_LANDING_DIR", str(tmp_path))
    dag = DagBag(dag_folder=str(DAGS / "cx_daily.py")).dags["cx_daily"]
    assert dag.start_date == pendulum.datetime(2026, 8, 2, tz="UTC")
    # No landing zone yet: the documented default.
    monkeypatch.setenv("CXN_LANDING_DIR", str(tmp_path / "missing"))
    dag = DagBag(dag_folder=str(DAGS / "cx_daily.py")).dags["cx_daily"]
    assert dag.start_date == pendulum.datetime(2026, 1, 1, tz="UTC")


def test_daily_dag_waits_in_reschedule_mode_and_publishes_the_marts_asset(dagbag):
    dag = dagbag.dags["cx_daily"]
    sensor = dag.get_task("wait_for_extracts")
    # Reschedule: no worker slot (and no DuckDB pool slot) is held while waiting.
    assert sensor.mode == "reschedule"
    assert sensor.pool == "default_pool"
    assert sensor.timeout > 12 * 3600  # the pipeline's own 12 h deadline fails first
    outlets = dag.get_task("publish").outlets
    assert [(a.name, a.uri) for a in outlets] == [("cxn_marts", "cxn://warehouse/marts")]


def test_weekly_dag_schedule_and_params(dagbag):
    dag = dagbag.dags["cx_weekly_newsletter"]
    assert dag.timetable.expression == "0 0 * * 1"  # the interval is one ISO week
    assert dag.max_active_runs == 1
    assert set(dag.params) == {"sellers", "force_resend"}
    assert dag.params["sellers"] == [] and dag.params["force_resend"] is False
    assert [t.task_id for t in dag.topological_sort()] == [
        "plan",
        "batch.render",
        "batch.send",
        "report",
        "overview",
    ]


def test_weekly_dag_maps_one_group_per_batch_labelled_by_its_sellers(dagbag):
    dag = dagbag.dags["cx_weekly_newsletter"]
    assert isinstance(dag.task_group_dict["batch"], MappedTaskGroup)
    for task_id in ("batch.render", "batch.send"):
        assert dag.get_task(task_id).map_index_template == "{{ batch_label }}"
    # A batch is sent right after it is rendered, not after every batch has been.
    assert dag.get_task("batch.send").upstream_task_ids == {"plan", "batch.render"}
    assert dag.get_task("report").trigger_rule == "all_done"
    # The operator's overview comes last, whatever the sends did.
    assert dag.get_task("overview").trigger_rule == "all_done"


# Tasks that open the warehouse (DuckDB: one writing process) queue for its one slot; the
# rest run wherever a worker slot is free.
WRITERS = {
    "cx_daily": {"load", "build", "check", "publish"},
    "cx_weekly_newsletter": {"batch.send", "report", "overview"},
}
READERS = {
    "cx_daily": {"wait_for_extracts"},  # opens no warehouse
    "cx_weekly_newsletter": {"plan", "batch.render"},  # read the published snapshot
}


@pytest.mark.parametrize("dag_id", ["cx_daily", "cx_weekly_newsletter"])
def test_only_the_tasks_that_open_the_warehouse_use_the_writer_pool(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert {t.task_id for t in dag.tasks} == WRITERS[dag_id] | READERS[dag_id]
    for task in dag.tasks:
        expected = "duckdb_writer" if task.task_id in WRITERS[dag_id] else "default_pool"
        assert task.pool == expected, task.task_id
        if task.task_id != "wait_for_extracts":  # its deadline is its retry policy
            assert task.retries >= 1, task.task_id


@pytest.mark.parametrize("path", sorted(DAGS.glob("*.py")), ids=lambda p: p.name)
def test_dag_files_import_no_heavy_modules_at_top_level(path):
    """Parsing stays cheap: the pipeline's stages, duckdb, pandas and weasyprint load inside
    tasks. Only `pipeline.settings` (the standard library alone) may load at the top."""
    tree = ast.parse(path.read_text())
    top = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            top.add(
                node.module if node.module == "pipeline.settings" else node.module.split(".")[0]
            )
    allowed = {"__future__", "airflow", "pendulum", "datetime", "os", "pipeline.settings"}
    assert top <= allowed, top
    heavy = "{'duckdb', 'pandas', 'numpy', 'weasyprint', 'pyarrow'}"
    code = f"import sys, pipeline.settings; print(sorted(set(sys.modules) & {heavy}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert ast.get_docstring(tree), "the module docstring is the DAG's doc_md"
