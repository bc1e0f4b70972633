"""
### cx_weekly_newsletter — render and email each seller's Customer Experience newsletter

Each run covers one ISO week, Monday to Sunday (its data interval), and reports the
metrics as of that Sunday, which `cx_daily` builds.

1. **render** — one HTML + PDF newsletter per seller into `{out}/newsletters/{week}/`.
2. **send** — one email per seller with the PDF attached, over SMTP (`CXN_SMTP_URL`, or
   the Airflow connection `cxn_smtp`) or to the `.eml` outbox. `ops.newsletter_outbox`
   makes a rerun skip what was already sent, unless the param `force_resend` is true.

Params: `sellers` (a list of seller ids; empty = all) and `force_resend`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task

DUCKDB_POOL = "duckdb_writer"
SMTP_CONN_ID = "cxn_smtp"


def _week_of_run() -> str:
    from pipeline.weeks import IsoWeek

    return str(IsoWeek.of(get_current_context()["data_interval_start"].date()))


def _settings():  # type: ignore[no-untyped-def]
    """Settings from CXN_* variables; the SMTP URL may come from an Airflow connection."""
    import os
    from dataclasses import replace

    from pipeline.deliver import smtp_url_from_connection
    from pipeline.settings import Settings

    settings = Settings.from_env()
    if settings.smtp_url or "CXN_SMTP_URL" in os.environ:
        return settings
    try:
        from airflow.sdk import Connection

        conn = Connection.get(SMTP_CONN_ID)
    except Exception:  # no such connection: deliver to the .eml outbox
        return settings
    url = smtp_url_from_connection(
        host=conn.host,
        port=conn.port,
        login=conn.login,
        password=conn.password,
        extra=conn.extra_dejson,
    )
    return replace(settings, smtp_url=url)


@dag(
    dag_id="cx_weekly_newsletter",
    schedule=CronDataIntervalTimetable("0 0 * * 1", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 5, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "cxn",
        # The Sunday build of cx_daily may still be running when the week ends.
        "retries": 6,
        "retry_delay": timedelta(minutes=20),
        "pool": DUCKDB_POOL,
    },
    params={
        "sellers": Param([], type="array", description="Only these seller ids (empty: all)"),
        "force_resend": Param(False, type="boolean", description="Resend what was sent"),
    },
    tags=["cxn", "weekly"],
    doc_md=__doc__,
)
def cx_weekly_newsletter() -> None:
    @task
    def render() -> str:
        """Render every seller's newsletter for the week (HTML + PDF)."""
        from pipeline.newsletter import render_week
        from pipeline.settings import Settings
        from pipeline.weeks import IsoWeek

        week = IsoWeek.parse(_week_of_run())
        sellers = get_current_context()["params"]["sellers"] or None
        result = render_week(Settings.from_env(), week, sellers)
        print(f"rendered {len(result.newsletters)} newsletters for {week} in {result.folder}")
        return str(week)

    @task
    def send(week: str) -> dict[str, int]:
        """Email the rendered newsletters; fail the task if any seller's send failed."""
        from pipeline.deliver import send_week
        from pipeline.weeks import IsoWeek

        params = get_current_context()["params"]
        result = send_week(
            _settings(),
            IsoWeek.parse(week),
            params["sellers"] or None,
            force=bool(params["force_resend"]),
        )
        counts = {
            "sent": len(result.sent),
            "skipped": len(result.skipped),
            "failed": len(result.failed),
        }
        print(f"{week}: {counts}")
        if result.failed:
            failed = ", ".join(sorted(result.failed))
            raise RuntimeError(f"{len(result.failed)} newsletter(s) not delivered: {failed}")
        return counts

    send(render())


cx_weekly_newsletter()
