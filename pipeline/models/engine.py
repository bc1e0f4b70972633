"""The incremental build: a day's build costs what changed, not the history (docs/engine.md).

Three kinds of persistent state live in the `intermediate` schema:

* **Outcome histories** (`order_state`, `message_state`, `thread_state`, from
  `sql/state/*.sql`): each order's, message's and thread's evaluated outcome for every
  span of load dates over which its inputs hold. The loader lists the keys each load
  touched in `ops.pending_state`; `refresh_states` recomputes the whole history of just
  those keys (so a reloaded old day is handled like a new one). The two outcomes that
  move with the as-of date alone are dates in the rows: `late_from`, `due_from`.
* **Daily counts** (`metric_counts`): the integer numerator and denominator of every
  metric by seller, channel and key date, as of `ops.engine_state.totals_as_of`.
* **Window totals** (`window_totals`): their sums over every window of SPEC 3.3 at the
  same date.

Building D when the totals are at D - 1 (the daily case): the rows of the histories that
start or end at D, or whose late/due date is D, are the day's change. The counting model
(`int_metric_counts_daily.sql`, the same SQL a full build runs) counts them with weight
+1 at D and -1 at D - 1; the sum is the change of the daily counts; the window totals
move by that change inside each window, plus the day entering each window, minus the one
leaving it. Any other date (the first build, a rerun of an old date, a date after a gap
or after an old day was reloaded) counts the histories as of D in full, which is still
far cheaper than the full model build from staging that remains the reference
(`cxn build --full`), and the test suite checks the two give identical marts.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from pipeline.settings import SQL_DIR
from pipeline.warehouse import first_row, scalar

log = logging.getLogger(__name__)

STATE_DIR = SQL_DIR / "state"
# Model files that replace the full build's of the same name in an incremental build.
OVERRIDES_DIR = SQL_DIR / "incremental"
# Persistent tables of the engine that model files may read (not models themselves).
ENGINE_TABLES = frozenset(
    {
        "intermediate.order_state",
        "intermediate.order_state_open",
        "intermediate.order_state_dormant",
        "intermediate.message_state",
        "intermediate.thread_state",
        "intermediate.metric_counts",
        "intermediate.window_totals",
    }
)
# The full build's models an incremental build does not run: the engine keeps their
# result (the daily counts) itself.
REPLACED_BY_ENGINE = frozenset({"intermediate.int_metric_counts_daily"})

# Daily counts older than this many days before the totals' date are dropped: no window
# (365 days at most, plus lags) and no edge of one reaches further back.
COUNTS_HORIZON_DAYS = 400


ORDER_TABLES = (
    "intermediate.order_state",  # spans that ended
    "intermediate.order_state_open",  # current rows that changed in the last weeks
    "intermediate.order_state_dormant",  # current rows that did not
)
# A current order row unchanged for this many days moves to order_state_dormant: the
# daily update reads order_state_open (a few weeks of orders, whatever the history) and
# looks up only the few older orders a day touches in the dormant table.
DORMANT_AFTER_DAYS = 60
# The columns cxn_orders_at() adds to int_orders_evaluated's (sql/state/as_of.sql).
ORDER_EXTRA_COLUMNS = (
    "has_feedback",
    "feedback_left_at",
    "feedback_date",
    "is_feedback_removed",
    "late_from",
    "valid_from",
    "valid_to",
)
# Messages and threads are few: their whole history is recomputed for the keys a load
# touched, from the raw versions.
MESSAGE_ENTITIES = (("message", "message_id"), ("thread", "thread_id"))

ENGINE_DDL = """
create table if not exists ops.engine_state (
    state_version varchar not null,   -- which sql/state/*.sql built the histories
    state_through date,               -- the newest load date the histories include
    totals_as_of date,                -- the date of metric_counts and window_totals (NULL: none)
    dirty_from date                   -- histories changed from this load date on since then
);
"""


def state_version() -> str:
    """A digest of the history and counting definitions: when they change, the histories
    and totals are rebuilt (a developer's edit never leaves stale state behind)."""
    digest = hashlib.sha256()
    counting = SQL_DIR / "intermediate"
    for path in [
        *sorted(STATE_DIR.glob("*.sql")),
        counting / "int_metric_counts_daily.sql",
        counting / "int_metric_windows.sql",
    ]:
        digest.update(path.read_bytes())
    digest.update(str(DORMANT_AFTER_DAYS).encode())
    return digest.hexdigest()[:16]


@dataclass
class EngineState:
    state_version: str | None
    state_through: date | None
    totals_as_of: date | None
    dirty_from: date | None


def _read_state(con: duckdb.DuckDBPyConnection) -> EngineState:
    con.execute(ENGINE_DDL)
    columns = scalar(
        con,
        "select count(*) from duckdb_columns() where schema_name = 'ops' "
        "and table_name = 'engine_state'",
    )
    if columns != 4:  # an earlier layout: the state it describes is rebuilt anyway
        con.execute("drop table ops.engine_state")
        con.execute(ENGINE_DDL)
    row = first_row(
        con, "select state_version, state_through, totals_as_of, dirty_from from ops.engine_state"
    )
    return EngineState(*row) if row else EngineState(None, None, None, None)


def _write_state(con: duckdb.DuckDBPyConnection, state: EngineState) -> None:
    con.execute("delete from ops.engine_state")
    con.execute(
        "insert into ops.engine_state values (?, ?, ?, ?)",
        [state.state_version, state.state_through, state.totals_as_of, state.dirty_from],
    )


def _table_exists(con: duckdb.DuckDBPyConnection, fqn: str) -> bool:
    schema, name = fqn.split(".")
    return bool(
        scalar(
            con,
            "select count(*) from duckdb_tables() where schema_name = ? and table_name = ? "
            "and not temporary",
            [schema, name],
        )
    )


def _sql(name: str) -> str:
    return (STATE_DIR / name).read_text()


def _newest_load(con: duckdb.DuckDBPyConnection) -> date | None:
    value = scalar(
        con, "select max(load_date) from ops.load_log where status in ('loaded', 'empty')"
    )
    return value if isinstance(value, date) else None


# ---------------------------------------------------------------------------------------
# Outcome histories


def refresh_states(con: duckdb.DuckDBPyConnection) -> None:
    """Bring the outcome histories up to date with every load (idempotent).

    The loads since the last refresh are in `ops.pending_state`. Days newer than the
    histories are merged one by one into the touched orders' current rows (the daily
    case); an older day loaded again, or histories missing or built by other definitions,
    means recomputing the whole history of the keys concerned (of every key) from the raw
    versions. Notes from which load date the totals may be stale.
    """
    state = _read_state(con)
    version = state_version()
    tables = [*ORDER_TABLES, "intermediate.message_state", "intermediate.thread_state"]
    if state.state_version != version or not all(_table_exists(con, t) for t in tables):
        through = _newest_load(con)
        _recompute_orders(con, "select distinct order_id as key from raw.orders", through)
        for entity, key in MESSAGE_ENTITIES:
            _recompute_messages(
                con, entity, key, f"select distinct {key} as key from raw.messages", rebuild=True
            )
        con.execute("delete from ops.pending_state")
        _write_state(con, EngineState(version, through, None, None))
        log.info("rebuilt the outcome histories (definitions %s)", version)
        return
    days = [
        r[0]
        for r in con.execute(
            "select distinct load_date from ops.pending_state order by 1"
        ).fetchall()
    ]
    if not days:
        return
    for entity, key in MESSAGE_ENTITIES:
        _recompute_messages(
            con,
            entity,
            key,
            f"select distinct key from ops.pending_state where entity = '{entity}'",
            rebuild=False,
        )
    through = state.state_through
    if through is None or days[0] <= through:
        # An old day again: every pending order's history from the raw versions.
        through = max(_newest_load(con) or days[-1], days[-1])
        _recompute_orders(
            con, "select distinct key from ops.pending_state where entity = 'order'", through
        )
    else:
        for day in days:
            _merge_order_day(con, day)
        through = days[-1]
    _age_current_orders(con, through)
    con.execute("delete from ops.pending_state")
    dirty = min(d for d in (state.dirty_from, days[0]) if d is not None)
    _write_state(con, EngineState(version, through, state.totals_as_of, dirty))
    log.info("refreshed the outcome histories: load dates %s .. %s", days[0], days[-1])


def _recompute_orders(con: duckdb.DuckDBPyConnection, keys_sql: str, through: date | None) -> None:
    """Replace the whole history of the orders `keys_sql` lists by one computed from raw."""
    con.execute(f"create or replace temp table _state_keys as {keys_sql}")
    con.execute(f"create or replace temp table _order_inputs as\n{_sql('order_inputs.sql')}")
    con.execute(f"create or replace temp table _fresh_orders as\n{_sql('order_state.sql')}")
    cutoff = (
        f"date '{(through - timedelta(days=DORMANT_AFTER_DAYS)).isoformat()}'"
        if through is not None
        else "date '0001-01-01'"
    )
    # Rows clustered by the date the daily update and its change counts look them up by.
    parts = {
        "intermediate.order_state": ("valid_to is not null", "valid_to"),
        "intermediate.order_state_open": (
            f"valid_to is null and valid_from >= {cutoff}",
            "valid_from",
        ),
        "intermediate.order_state_dormant": (
            f"valid_to is null and valid_from < {cutoff}",
            "valid_from",
        ),
    }
    if not all(_table_exists(con, t) for t in ORDER_TABLES):
        # Created with their rows in one statement each: a table created empty in this
        # transaction and then given a large insert reads back empty in DuckDB 2.0.
        for table, (where, order) in parts.items():
            con.execute(
                f"create or replace table {table} as "
                f"select * from _fresh_orders where {where} order by {order}"
            )
        return
    for table in ORDER_TABLES:
        con.execute(f"delete from {table} where order_id in (select key from _state_keys)")
    for table, (where, order) in parts.items():
        con.execute(
            f"insert into {table} select * from _fresh_orders where {where} order by {order}"
        )
    if through is not None:
        _age_current_orders(con, through)


def _merge_order_day(con: duckdb.DuckDBPyConnection, day: date) -> None:
    """Merge the versions loaded on `day` (newer than the histories) into the current rows
    of the orders they touch; a changed order's previous row becomes a span that ends."""
    d = f"date '{day.isoformat()}'"
    con.execute(f"set variable state_day = {d}")
    con.execute(
        "create or replace temp table _state_keys as select distinct key from ops.pending_state "
        "where entity = 'order' and load_date = ?",
        [day],
    )
    con.execute(
        "create or replace temp table _current_orders as "
        "select * from intermediate.order_state_open "
        "where order_id in (select key from _state_keys)"
    )
    # Keys not current in the open table are new orders or dormant ones; orders purchased
    # on the day are new for sure (an order is known from its purchase day on).
    con.execute(
        f"""
        create or replace temp table _maybe_dormant as
        select key from _state_keys
        where key not in (select order_id from _current_orders)
          and key not in (
              select order_id from raw.orders
              where _load_date = {d} and cast(purchased_at as date) = {d}
          )
        """
    )
    # In two steps: find the rows by their key column alone, then read the whole rows
    # (a scan of every column of the dormant table costs twice as much).
    con.execute(
        "insert into _current_orders select * from intermediate.order_state_dormant "
        "where rowid in (select rowid from intermediate.order_state_dormant "
        "where order_id in (select key from _maybe_dormant))"
    )
    con.execute(f"create or replace temp table _order_inputs as\n{_sql('order_inputs_of_day.sql')}")
    con.execute(f"create or replace temp table _fresh_orders as\n{_sql('order_state.sql')}")
    con.execute(
        """
        create or replace temp table _changed_orders as
        with fresh as (
            select *, row(*columns(* exclude (order_id, valid_from, valid_to))) as _state,
            from _fresh_orders
        ),
        current as (
            select order_id, row(*columns(* exclude (order_id, valid_from, valid_to))) as _state,
            from _current_orders
        )
        select fresh.* exclude (_state)
        from fresh
        left join current using (order_id)
        where current.order_id is null or fresh._state is distinct from current._state
        """
    )
    con.execute(
        f"insert into intermediate.order_state select * replace ({d} as valid_to) "
        "from _current_orders where order_id in (select order_id from _changed_orders)"
    )
    con.execute(
        "delete from intermediate.order_state_open "
        "where order_id in (select order_id from _changed_orders)"
    )
    con.execute(
        "delete from intermediate.order_state_dormant "
        "where order_id in (select key from _maybe_dormant) "
        "and order_id in (select order_id from _changed_orders)"
    )
    con.execute("insert into intermediate.order_state_open select * from _changed_orders")


def _age_current_orders(con: duckdb.DuckDBPyConnection, through: date) -> None:
    """Move current rows unchanged for DORMANT_AFTER_DAYS to the dormant table."""
    cutoff = through - timedelta(days=DORMANT_AFTER_DAYS)
    con.execute(
        "insert into intermediate.order_state_dormant select * "
        "from intermediate.order_state_open where valid_from < ?",
        [cutoff],
    )
    con.execute("delete from intermediate.order_state_open where valid_from < ?", [cutoff])


def _recompute_messages(
    con: duckdb.DuckDBPyConnection, entity: str, key: str, keys_sql: str, *, rebuild: bool
) -> None:
    """Replace the whole history of the messages (threads) `keys_sql` lists."""
    table = f"intermediate.{entity}_state"
    con.execute(f"create or replace temp table _state_keys as {keys_sql}")
    sql = _sql(f"{entity}_state.sql")
    if rebuild or not _table_exists(con, table):
        con.execute(f"create or replace table {table} as\n{sql}")
        return
    con.execute(f"create or replace temp table _fresh_state as\n{sql}")
    con.execute(f"delete from {table} where {key} in (select key from _state_keys)")
    con.execute(f"insert into {table} select * from _fresh_state")


# ---------------------------------------------------------------------------------------
# Daily counts and window totals


def _counting_sql(orders: str, messages: str, threads: str, feedback: str, notices: str) -> str:
    """The full build's counting model over other relations (same columns, with weights)."""
    sql = (SQL_DIR / "intermediate" / "int_metric_counts_daily.sql").read_text()
    for model, relation in (
        ("int_orders_evaluated", orders),
        ("int_messages_evaluated", messages),
        ("int_threads_evaluated", threads),
        ("int_feedback_evaluated", feedback),
        ("int_notices_evaluated", notices),
    ):
        sql = re.sub(rf"\bintermediate\.{model}\b", relation, sql)
    return sql


_NO_NOTICES = (
    "(select null::varchar as seller_id, null::date as issued_date, 1 as weight where false)"
)

_FEEDBACK_OF = """(
    select order_id, seller_id, feedback_date, is_feedback_removed as removed,
        not is_feedback_removed and feedback_rating >= 4 as is_positive, weight
    from {orders} where has_feedback
)"""

_COUNT_KEYS = "seller_id, channel, metric, key_date"

_TOTALS_FROM_COUNTS = """
select
    counts.seller_id,
    windows.metric,
    windows.channel,
    windows.window_days,
    sum(counts.numerator) as numerator,
    sum(counts.denominator) as denominator,
from {counts} as counts
join _engine_windows as windows
    on counts.metric = windows.metric
    and counts.channel = windows.channel
    and counts.key_date between windows.window_start and windows.window_end
group by all
"""


def _windows(con: duckdb.DuckDBPyConnection, as_of: date) -> None:
    """The windows of SPEC 3.3 at `as_of` (the full build's model), policy notices aside:
    they are counted as of the date from the notices themselves."""
    sql = (SQL_DIR / "intermediate" / "int_metric_windows.sql").read_text()
    sql = sql.replace("getvariable('as_of_date')", f"date '{as_of.isoformat()}'")
    con.execute(
        f"create or replace temp table _engine_windows as select * from ({sql}) "
        "where metric <> 'policy_notices'"
    )


def _counts_from_histories(con: duckdb.DuckDBPyConnection, as_of: date, target: str) -> None:
    """Every daily count as of `as_of`, from the histories (the non-incremental way)."""
    d = f"date '{as_of.isoformat()}'"
    orders = f"cxn_orders_at({d})"
    kind = "table" if "." in target else "temp table"
    con.execute(
        f"create or replace {kind} {target} as select * from ("
        + _counting_sql(
            orders,
            f"cxn_messages_at({d})",
            f"cxn_threads_at({d})",
            _FEEDBACK_OF.format(orders=orders),
            _NO_NOTICES,
        )
        + ") where numerator <> 0 or coalesce(denominator, 0) <> 0"
    )


def _daily_change(con: duckdb.DuckDBPyConnection, as_of: date) -> None:
    """`_count_change`: how the daily counts as of `as_of` differ from the day before."""
    d, prev = f"date '{as_of.isoformat()}'", f"date '{(as_of - timedelta(days=1)).isoformat()}'"
    # The rows that start (+1, read as of today), end (-1, read as of yesterday) or turn
    # late or due today (both). Views, so that each reader scans only the columns it
    # reads; every branch is a filter the tables' order lets DuckDB skip row groups by
    # (spans that ended are kept in the order they ended, current rows in the order they
    # started, and late and due dates follow the start by a few days).
    ended, open_, dormant = (f"'{t}'" for t in ORDER_TABLES)
    flips = f"late_from = {d} and valid_from < {d}"
    con.execute(
        f"""
        create or replace temp view _delta_orders as
        select * replace (1 as weight) from cxn_order_rows({open_}, {d})
        where valid_from = {d}
        union all
        select * replace (1 as weight) from cxn_order_rows({open_}, {d}) where {flips}
        union all
        select * replace (1 as weight) from cxn_order_rows({dormant}, {d})
        where valid_from = {d}
        union all
        select * replace (1 as weight) from cxn_order_rows({dormant}, {d}) where {flips}
        union all
        select * replace (1 as weight) from cxn_order_rows({ended}, {d})
        where valid_to > {d} and valid_from = {d}
        union all
        select * replace (1 as weight) from cxn_order_rows({ended}, {d})
        where valid_to > {d} and {flips}
        union all
        select * replace (-1 as weight) from cxn_order_rows({ended}, {prev}) where valid_to = {d}
        union all
        select * replace (-1 as weight) from cxn_order_rows({ended}, {prev})
        where valid_to > {d} and {flips}
        union all
        select * replace (-1 as weight) from cxn_order_rows({open_}, {prev}) where {flips}
        union all
        select * replace (-1 as weight) from cxn_order_rows({dormant}, {prev}) where {flips}
        """
    )
    # The orders whose row of int_orders_evaluated changed today, as it reads now: what a
    # latest_as_of mart keyed by order needs to move from yesterday (marts.order_outcomes).
    con.execute(
        "create or replace temp view _changed_int_orders_evaluated as "
        f"select * exclude ({', '.join(ORDER_EXTRA_COLUMNS)}) replace (1 as weight) "
        "from _delta_orders where weight = 1"
    )
    con.execute(
        f"""
        create or replace temp view _delta_messages as
        select * replace (1 as weight) from cxn_messages_at({d})
        where valid_from = {d} or due_from = {d}
        union all
        select * replace (-1 as weight) from cxn_messages_at({prev})
        where valid_to = {d} or due_from = {d}
        """
    )
    con.execute(
        f"""
        create or replace temp view _delta_threads as
        select * replace (1 as weight) from cxn_threads_at({d}) where valid_from = {d}
        union all
        select * replace (-1 as weight) from cxn_threads_at({prev}) where valid_to = {d}
        """
    )
    con.execute(
        "create or replace temp table _count_change as select * from ("
        + _counting_sql(
            "_delta_orders",
            "_delta_messages",
            "_delta_threads",
            _FEEDBACK_OF.format(orders="_delta_orders"),
            _NO_NOTICES,
        )
        + ") where numerator <> 0 or coalesce(denominator, 0) <> 0"
    )


def _advance_totals(con: duckdb.DuckDBPyConnection, as_of: date) -> None:
    """Move metric_counts and window_totals from the day before `as_of` to `as_of`."""
    _daily_change(con, as_of)
    d = f"date '{as_of.isoformat()}'"
    # The key dates entering each window today and the ones leaving it, counted as of
    # yesterday (today's change to them is in _count_change).
    con.execute(
        """
        create or replace temp table _window_moves as
        select
            counts.seller_id, windows.metric, windows.channel, windows.window_days,
            sum(case when counts.key_date = windows.window_end then counts.numerator
                else -counts.numerator end) as numerator,
            sum(case when counts.key_date = windows.window_end then counts.denominator
                else -counts.denominator end) as denominator,
        from intermediate.metric_counts as counts
        join _engine_windows as windows
            on counts.metric = windows.metric
            and counts.channel = windows.channel
            and counts.key_date in (windows.window_end, windows.window_start - 1)
        group by all
        """
    )
    con.execute(
        "create or replace temp table _change_in_windows as "
        + _TOTALS_FROM_COUNTS.format(counts="_count_change")
    )
    con.execute(
        """
        create or replace table intermediate.window_totals as
        select seller_id, metric, channel, window_days,
            sum(numerator) as numerator, sum(denominator) as denominator,
        from (
            select * from intermediate.window_totals
            union all select * from _window_moves
            union all select * from _change_in_windows
        )
        group by all
        having coalesce(sum(numerator), 0) <> 0 or coalesce(sum(denominator), 0) <> 0
        """
    )
    keys = _COUNT_KEYS
    con.execute(
        f"""
        update intermediate.metric_counts as counts
        set numerator = counts.numerator + change.numerator,
            denominator = counts.denominator + change.denominator
        from _count_change as change
        where ({", ".join(f"counts.{k}" for k in keys.split(", "))})
            = ({", ".join(f"change.{k}" for k in keys.split(", "))})
        """
    )
    con.execute(
        f"insert into intermediate.metric_counts select * from _count_change "
        f"anti join intermediate.metric_counts using ({keys})"
    )
    con.execute(
        f"delete from intermediate.metric_counts where key_date < {d} - {COUNTS_HORIZON_DAYS} "
        "or (numerator = 0 and coalesce(denominator, 0) = 0)"
    )


def prepare(con: duckdb.DuckDBPyConnection, as_of: date) -> str:
    """Make the daily counts and window totals as of `as_of` available to the models as
    `_metric_counts_at_date` and `_window_totals_at_date`; returns how ("incremental":
    moved from the day before; "reuse": already at that date; "histories": counted)."""
    con.execute((STATE_DIR / "as_of.sql").read_text())
    state = _read_state(con)
    _windows(con, as_of)
    have_totals = (
        state.totals_as_of is not None
        and _table_exists(con, "intermediate.metric_counts")
        and _table_exists(con, "intermediate.window_totals")
    )
    clean_until = state.dirty_from  # totals are right for as-of dates before this
    if have_totals and state.totals_as_of == as_of and (clean_until is None or clean_until > as_of):
        mode = "reuse"
    elif (
        have_totals
        and state.totals_as_of == as_of - timedelta(days=1)
        and (clean_until is None or clean_until >= as_of)
    ):
        _advance_totals(con, as_of)
        state.totals_as_of, state.dirty_from = as_of, None
        _write_state(con, state)
        mode = "incremental"
    else:
        # Counted from the histories. The newest date becomes the running totals; an
        # older one (a rerun) leaves them as they are.
        newest = not have_totals or state.totals_as_of is None or as_of >= state.totals_as_of
        counts, totals = (
            ("intermediate.metric_counts", "intermediate.window_totals")
            if newest
            else ("_counts_of_date", "_totals_of_date")
        )
        _counts_from_histories(con, as_of, counts)
        kind = "table" if newest else "temp table"
        con.execute(
            f"create or replace {kind} {totals} as " + _TOTALS_FROM_COUNTS.format(counts=counts)
        )
        if newest:
            state.totals_as_of, state.dirty_from = as_of, None
            _write_state(con, state)
        mode = "histories"
        if not newest:
            _expose(con, counts, totals)
            return mode
    _expose(con, "intermediate.metric_counts", "intermediate.window_totals")
    return mode


def _expose(con: duckdb.DuckDBPyConnection, counts: str, totals: str) -> None:
    """The names the incremental models read the counts and totals of the date by."""
    con.execute(f"create or replace temp view _metric_counts_at_date as select * from {counts}")
    con.execute(f"create or replace temp view _window_totals_at_date as select * from {totals}")
