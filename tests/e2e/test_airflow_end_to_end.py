"""Both DAGs end to end with `dag.test()`: generated extracts, a real DuckDB file, a real
SMTP server on loopback, and the PDF read back out of the message the server received."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from pypdf import PdfReader

from pipeline.ingest.load import load_day
from pipeline.newsletter.context import pct
from pipeline.settings import Settings
from pipeline.synthetic import generate
from tests.smtp import pdf_attachment, smtp_server

pytestmark = pytest.mark.e2e

SUNDAY = date(2026, 11, 22)  # the Sunday of 2026-W47
DAYS = 45
DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def airflow_db(airflow_home):
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return airflow_home


def _run(dag_id: str, logical_date: datetime, conf: dict | None = None) -> str:
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag().dags[dag_id]
    run = dag.test(logical_date=logical_date, run_conf=conf)
    return str(run.state)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def test_daily_and_weekly_dags(airflow_db, tmp_path, monkeypatch):
    landing, warehouse, out = tmp_path / "landing", tmp_path / "wh.duckdb", tmp_path / "out"
    generate(landing, sellers=6, days=DAYS, end_date=SUNDAY, seed=11)
    settings = Settings(landing_dir=landing, warehouse=warehouse, out_dir=out)
    first = SUNDAY - timedelta(days=DAYS - 1)
    for i in range(DAYS - 2):  # history through the CLI's functions ...
        load_day(settings, first + timedelta(days=i))

    with smtp_server() as inbox:
        for name, value in {
            "CXN_LANDING_DIR": landing,
            "CXN_WAREHOUSE": warehouse,
            "CXN_OUT_DIR": out,
            "CXN_SMTP_URL": inbox.url,
        }.items():
            monkeypatch.setenv(name, str(value))

        # ... and the last two days through cx_daily. A manual run's interval is the day
        # before its logical date.
        for day in (SUNDAY - timedelta(days=1), SUNDAY):
            assert _run("cx_daily", _midnight(day + timedelta(days=1))) == "success"
        assert _run("cx_weekly_newsletter", _midnight(SUNDAY + timedelta(days=1))) == "success"
        sent_first = len(inbox.messages)

        # Rerunning both: same marts, and nobody gets the newsletter twice.
        con = duckdb.connect(str(warehouse), read_only=True)
        query = "select * from marts.seller_metrics where as_of_date = ? order by all"
        before = con.execute(query, [SUNDAY]).fetchall()
        con.close()
        assert _run("cx_daily", _midnight(SUNDAY + timedelta(days=1))) == "success"
        assert _run("cx_weekly_newsletter", _midnight(SUNDAY + timedelta(days=1))) == "success"
        assert len(inbox.messages) == sent_first

        # Resending one seller's week from the UI: params sellers + force_resend.
        one = sorted(m["X-CXN-Newsletter"].split("_")[1] for m in inbox.messages)[0]
        conf = {"sellers": [one], "force_resend": True}
        assert _run("cx_weekly_newsletter", _midnight(SUNDAY + timedelta(days=1)), conf) == (
            "success"
        )
        assert len(inbox.messages) == sent_first + 1
        assert inbox.messages[-1]["X-CXN-Newsletter"] == f"2026-W47_{one}"
        resent = inbox.messages.pop()  # the checks below read one message per seller

    # cx_daily published the analysts' snapshot of the marts it built.
    snapshot = duckdb.connect(str(tmp_path / "analytics.duckdb"), read_only=True)
    assert snapshot.execute("select latest_as_of_date from meta.snapshot").fetchall() == [(SUNDAY,)]
    snapshot.close()
    assert resent["Subject"]

    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute(query, [SUNDAY]).fetchall() == before
    odr = dict(
        con.execute(
            "select seller_id, rate from marts.seller_metrics where as_of_date = ? "
            "and metric = 'order_defect_rate' and channel = 'all' and window_days = 60",
            [SUNDAY],
        ).fetchall()
    )
    sellers = dict(
        con.execute(
            "select seller_id, seller_name from marts.seller_scorecard where as_of_date = ?",
            [SUNDAY],
        ).fetchall()
    )
    con.close()
    assert sent_first == len(sellers) == 6

    for message in inbox.messages:
        seller_id = message["X-CXN-Newsletter"].split("_")[1]
        assert sellers[seller_id] in message["Subject"]
        text = "\n".join(
            p.extract_text() for p in PdfReader(io.BytesIO(pdf_attachment(message))).pages
        )
        # The scorecard's first row: label, counts, window, then the rate.
        flat = " ".join(text.split())
        assert re.search(
            rf"Order defect rate [\d,]+ of [\d,]+ orders .{{0,40}}? "
            rf"{re.escape(pct(odr[seller_id]))}",
            flat,
        ), seller_id
        assert f"Order defect rate {pct(odr[seller_id])}" in " ".join(
            message.get_body(("plain",)).get_content().split()
        )
        others = [name for sid, name in sellers.items() if sid != seller_id]
        assert not [name for name in others if name in text]


def test_backfill_plans_every_day_in_order(airflow_db):
    """`airflow backfill create` accepts cx_daily and plans one run per day, oldest first.
    (A full backfill needs a running scheduler; docs/operations.md records one.)"""
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS)}
    airflow = [sys.executable, "-m", "airflow"]
    subprocess.run(
        [*airflow, "dags", "reserialize"], check=True, capture_output=True, env=env, timeout=300
    )
    done = subprocess.run(
        [
            *airflow,
            "backfill",
            "create",
            "--dag-id",
            "cx_daily",
            "--from-date",
            "2026-10-01",
            "--to-date",
            "2026-10-03",
            "--max-active-runs",
            "1",
            "--dry-run",
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    planned = re.findall(r"^\| (\d{4}-\d\d-\d\d) 00:00:00\+00:00", done.stdout, re.M)
    assert planned == ["2026-10-01", "2026-10-02", "2026-10-03"]
