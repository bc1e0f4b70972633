"""`cxn demo`: the whole pipeline on embedded defaults, start to finish.

Generates a synthetic marketplace ending yesterday, loads every day in order, builds the
as-of dates the newsletter needs (each Sunday of the last 13 weeks and the last day),
renders the last full week's newsletters and delivers them to the local outbox. The
demo owns its landing zone and warehouse: it starts from empty ones each time, so a
rerun gives the same result, and it refuses to touch extracts or a warehouse it did not
create.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from pipeline.errors import CxnError
from pipeline.settings import Settings
from pipeline.warehouse import open_warehouse, scalar
from pipeline.weeks import IsoWeek

log = logging.getLogger(__name__)

DEMO_SELLERS = 40
DEMO_DAYS = 120
DEMO_SEED = 7
TREND_WEEKS = 13


def _check_landing(settings: Settings) -> None:
    """Refuse a landing zone holding anything but an earlier run's untouched extracts."""
    from pipeline.synthetic import generated_here

    landing = settings.landing_dir
    if landing.is_dir() and any(landing.glob("dt=*/*")) and not generated_here(landing):
        raise CxnError(
            f"{landing} holds extracts the demo did not generate (or that changed since); "
            "point the demo elsewhere with --landing or CXN_LANDING_DIR (or, if an older "
            "demo wrote them, delete the folder yourself)"
        )


def _check_warehouse(settings: Settings) -> None:
    """Refuse a warehouse that a demo did not create."""
    path = settings.warehouse
    if path.exists():
        with open_warehouse(path, read_only=True) as con:
            is_demo = scalar(
                con,
                "select count(*) from duckdb_tables() "
                "where schema_name = 'ops' and table_name = 'demo_runs'",
            )
        if not is_demo:
            raise CxnError(
                f"{path} holds a warehouse the demo did not create; "
                "point the demo elsewhere with --warehouse or CXN_WAREHOUSE"
            )


def _reset_warehouse(settings: Settings) -> None:
    """Replace a previous demo warehouse (checked by `_check_warehouse`) by an empty one."""
    path = settings.warehouse
    if path.exists():
        path.unlink()
        path.with_name(path.name + ".wal").unlink(missing_ok=True)
    with open_warehouse(path, create=True) as con:
        con.execute(
            "create table ops.demo_runs (started_at timestamp, end_date date, sellers integer)"
        )


def run_demo(
    settings: Settings,
    *,
    end_date: date | None = None,
    sellers: int = DEMO_SELLERS,
    days: int = DEMO_DAYS,
    progress: Callable[[str], None] | None = None,
) -> dict[str, object]:
    """Run the demo; returns where everything is (and prints it through `progress`)."""
    from pipeline.delivery.send import EmlOutbox, send_week
    from pipeline.models.runner import run_range
    from pipeline.newsletter.render import render_week
    from pipeline.synthetic import generate

    say = progress or (lambda _line: None)
    started = time.perf_counter()
    end = end_date or datetime.now(UTC).date() - timedelta(days=1)
    first = end - timedelta(days=days - 1)
    week = IsoWeek.last_full_week(end)
    # The demo delivers to the local outbox, whatever CXN_SMTP_URL says.
    settings = replace(settings, smtp_url=None)

    # Both checks before anything is written: a refusal leaves everything as it was.
    _check_landing(settings)
    _check_warehouse(settings)
    say(f"1/5 generating {sellers} sellers, {first} to {end}, into {settings.landing_dir}")
    generate(
        settings.landing_dir,
        sellers=sellers,
        days=days,
        end_date=end,
        seed=DEMO_SEED,
        force=True,  # only the output of an earlier generate, checked above
    )

    _reset_warehouse(settings)
    with open_warehouse(settings.warehouse) as con:
        con.execute("insert into ops.demo_runs values (now()::timestamp, ?, ?)", [end, sellers])
    trend_start = week.as_of - timedelta(weeks=TREND_WEEKS - 1)

    def wanted(day: date) -> bool:
        return day == end or (day.isoweekday() == 7 and day >= trend_start)

    say(f"2/5 loading {days} days and building the as-of dates the newsletter needs")
    run_range(settings, first, end, build_day=wanted, progress=progress)

    from pipeline.models.snapshot import publish_snapshot

    snapshot = publish_snapshot(settings)

    say(f"3/5 rendering the newsletters of {week} (as of {week.as_of})")
    rendered = render_week(settings, week)

    say(f"4/5 delivering to {settings.outbox_dir}")
    sent = send_week(settings, week, transport=EmlOutbox(settings.outbox_dir))

    with open_warehouse(settings.warehouse, read_only=True) as con:
        statuses = dict(
            con.execute(
                "select account_status, count(*) from marts.seller_scorecard "
                "where as_of_date = ? group by 1 order by 1",
                [week.as_of],
            ).fetchall()
        )
    seconds = time.perf_counter() - started
    summary = {
        "warehouse": settings.warehouse,
        "analytics": snapshot.path,
        "newsletters": rendered.folder,
        "outbox": settings.outbox_dir,
        "week": str(week),
        "sent": len(sent.sent),
        "account_status": statuses,
        "seconds": seconds,
    }
    say(f"5/5 done in {seconds:.0f}s")
    say("")
    say(f"  warehouse   {settings.warehouse}   (the pipeline's; it writes here)")
    say(f"  analytics   {snapshot.path}   (query the marts here: docs/data_dictionary.md)")
    say(f"  newsletters {rendered.folder}/   ({len(rendered.newsletters)} PDFs + HTML)")
    say(f"  outbox      {settings.outbox_dir}/   ({len(sent.sent)} emails written)")
    say(
        "  accounts    "
        + ", ".join(f"{count} {status}" for status, count in statuses.items())
        + f" as of {week.as_of}"
    )
    return summary
