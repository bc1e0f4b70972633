"""
### cx_weekly_newsletter — render and email each seller's Customer Experience newsletter

Each run covers one ISO week, Monday to Sunday (its data interval), and reports the
metrics as of that Sunday, which `cx_daily` builds.

1. **plan** — the week's sellers (or the `sellers` param), split into batches of 50
   (larger batches for marketplaces past 50,000 sellers: never more than 1,000 mapped
   batches, under Airflow's limit of 1,024).
2. **batch** — a task group mapped once per batch, labelled with its first and last seller:
   - **render** renders each seller's HTML + PDF into `{out}/newsletters/{week}/`. It reads
     the published read-only snapshot (`analytics.duckdb`), not the warehouse, so it needs
     no `duckdb_writer` slot: batches render side by side on every Celery worker slot.
     Its log says how many sellers it rendered per second.
   - **send** emails the batch over SMTP (`CXN_SMTP_URL`, or the Airflow connection
     `cxn_smtp`) or to the `.eml` outbox, each with its PDF attached. It records each
     send in the warehouse, so it runs in the one-slot `duckdb_writer` pool: a short step.
     A batch whose send failed for any seller fails and retries alone; its log names the
     sellers.
3. **report** — counts from `ops.newsletter_outbox` for the week, after every batch
   (also failed ones); it fails the run when any newsletter is still undelivered.
4. **overview** — the operator's overview of the whole marketplace (HTML + PDF in
   `{out}/overview/`): sellers by account status and their movement, the sellers newly at
   risk or critical and why, the metrics behind most problems, the week's deliveries.
   Emailed once per week to `CXN_OPERATOR_EMAIL` when it is set; runs whatever the sends
   did.

`ops.newsletter_outbox` makes a rerun skip what was already sent, unless the param
`force_resend` is true. To resend one seller's week: trigger with `sellers` =
`["S0042"]` and `force_resend` = true.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import (
    CronDataIntervalTimetable,
    Param,
    dag,
    get_current_context,
    task,
    task_group,
)

DUCKDB_POOL = "duckdb_writer"
SMTP_CONN_ID = "cxn_smtp"


def _week_of_run() -> str:
    from pipeline.weeks import IsoWeek

    start = get_current_context()["data_interval_start"]
    if start is None:
        raise ValueError(
            "this run has no data interval: trigger it with a logical date (the Monday "
            "after the week to send, e.g. 2026-11-23 for 2026-W47)"
        )
    return str(IsoWeek.of(start.date()))


def _label(batch: list[str]) -> str:
    return f"{batch[0]} … {batch[-1]} ({len(batch)})"


def _settings():  # type: ignore[no-untyped-def]
    """Settings from CXN_* variables; the SMTP URL may come from an Airflow connection."""
    import os
    from dataclasses import replace

    from pipeline.delivery.send import smtp_url_from_connection
    from pipeline.settings import Settings

    settings = Settings.from_env()
    if settings.smtp_url or "CXN_SMTP_URL" in os.environ:
        return settings
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = Connection.get(SMTP_CONN_ID)
    except AirflowNotFoundException:  # no such connection: deliver to the .eml outbox
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
    },
    params={
        "sellers": Param([], type="array", description="Only these seller ids (empty: all)"),
        "force_resend": Param(False, type="boolean", description="Resend what was sent"),
    },
    tags=["cxn", "weekly"],
    doc_md=__doc__,
)
def cx_weekly_newsletter() -> None:
    # The Sunday's build may come up to 12 h late (cx_daily's extract deadline): wait as long.
    @task(retries=40, retry_delay=timedelta(minutes=20))
    def plan() -> list[list[str]]:
        """The week's sellers in batches, one mapped task each."""
        from pipeline.newsletter.render import seller_batches, week_sellers
        from pipeline.settings import Settings
        from pipeline.weeks import IsoWeek

        week = IsoWeek.parse(_week_of_run())
        sellers = week_sellers(
            Settings.from_env(), week, get_current_context()["params"]["sellers"] or None
        )
        batches = seller_batches(sellers)
        print(f"{week}: {len(sellers)} sellers in {len(batches)} batches")
        return batches

    @task(map_index_template="{{ batch_label }}")
    def render(batch: list[str]) -> dict[str, object]:
        """Render one batch from the published snapshot: no writer slot needed."""
        import time

        from pipeline.newsletter.render import render_week
        from pipeline.weeks import IsoWeek

        context = get_current_context()
        context["batch_label"] = _label(batch)  # type: ignore[typeddict-unknown-key]
        week = IsoWeek.parse(_week_of_run())
        started = time.perf_counter()
        # One process: Airflow runs the batches side by side, one per worker slot.
        rendered = render_week(_settings(), week, batch, workers=1)
        seconds = time.perf_counter() - started
        done = len(rendered.newsletters)
        print(
            f"{week} {_label(batch)}: rendered {done} in {seconds:.1f}s, "
            f"{done / seconds:.2f} sellers/s"
        )
        for seller_id, error in sorted(rendered.failed.items()):
            print(f"not rendered: {seller_id}: {error}")
        return {"rendered": done, "seconds": round(seconds, 3), "failed": rendered.failed}

    @task(map_index_template="{{ batch_label }}", pool=DUCKDB_POOL)
    def send(batch: list[str], rendered: dict[str, object]) -> dict[str, int]:
        """Email one rendered batch; fail if any seller's send failed."""
        from pipeline.delivery.send import send_week
        from pipeline.weeks import IsoWeek

        context = get_current_context()
        context["batch_label"] = _label(batch)  # type: ignore[typeddict-unknown-key]
        week = IsoWeek.parse(_week_of_run())
        result = send_week(_settings(), week, batch, force=bool(context["params"]["force_resend"]))
        counts = {
            "rendered": int(rendered["rendered"]),  # type: ignore[call-overload]
            "sent": len(result.sent),
            "skipped": len(result.skipped),
            "failed": len(result.failed),
            "sending": len(result.in_doubt),
        }
        print(f"{week} {_label(batch)}: {counts}")
        # A seller that could not be rendered is also a failed send (no newsletter).
        failed = {**result.failed, **rendered["failed"]}  # type: ignore[dict-item]
        for seller_id, error in sorted(failed.items()):
            print(f"not delivered: {seller_id}: {error}")
        for seller_id in result.in_doubt:
            print(
                f"left in sending: {seller_id}: an earlier try stopped during the send; "
                "check the mail server's log, then resend with force_resend"
            )
        if result.config_error:
            raise RuntimeError(result.config_error)
        if failed or result.in_doubt:
            shown = ", ".join(sorted([*failed, *result.in_doubt]))
            raise RuntimeError(
                f"{len(failed) + len(result.in_doubt)} newsletter(s) not delivered: {shown}"
            )
        return counts

    @task_group
    def batch(sellers: list[str]) -> None:
        """One batch: render it anywhere, then send it in the writer pool."""
        send(sellers, render(sellers))

    @task(trigger_rule="all_done", pool=DUCKDB_POOL)
    def report() -> dict[str, int]:
        """The week's delivery status from ops.newsletter_outbox."""
        from pipeline.delivery.send import outbox_status
        from pipeline.settings import Settings
        from pipeline.weeks import IsoWeek

        week = IsoWeek.parse(_week_of_run())
        params = get_current_context()["params"]
        status = outbox_status(Settings.from_env(), week, params["sellers"] or None)
        print(f"{week}: {status.counts}")
        if status.undelivered:
            shown = ", ".join(status.undelivered[:20])
            raise RuntimeError(
                f"{len(status.undelivered)} newsletter(s) of {week} not delivered: {shown}"
            )
        return status.counts

    @task(trigger_rule="all_done", pool=DUCKDB_POOL)
    def overview() -> str:
        """The operator's overview of the week (HTML + PDF), emailed once to
        CXN_OPERATOR_EMAIL when set; it reads the week's delivery results, so it comes last."""
        from pipeline.delivery.send import send_overview
        from pipeline.newsletter.render import render_overview
        from pipeline.weeks import IsoWeek

        week = IsoWeek.parse(_week_of_run())
        settings = _settings()
        html, pdf = render_overview(settings, week)
        outcome = send_overview(settings, week, html, pdf)
        print(f"{week}: overview {pdf}; {outcome}")
        return str(pdf)

    batch.expand(sellers=plan()) >> report() >> overview()


cx_weekly_newsletter()
