"""The analysts' read path: a read-only snapshot of the marts, published atomically.

DuckDB allows one writer and no other process beside it, so analysts never open the
warehouse itself. After each successful build the pipeline copies the marts (and the
metric targets) into a new file next to the snapshot, closes it, and renames it over the
old one. A reader that opened the old file keeps reading it (POSIX keeps the inode alive);
the next connection sees the new one. So a reader never sees a half-built state and never
blocks the pipeline:

    duckdb.connect("data/analytics.duckdb", read_only=True)

The snapshot has the same schema and table names as the warehouse (`marts.*`, `ref.*`),
plus `meta.snapshot`: when it was published, the as-of dates it holds, and each table's
row count.

Publishing costs what changed: the new file starts as a copy of the previous snapshot
(a sequential file copy), then gets the as-of partitions built since that one, and the
rows of latest_as_of marts (order_outcomes) the builds changed (`ops.latest_changes`),
and the warehouse's views over them.
A snapshot of another warehouse, of another layout, or older than the change log is
copied table by table instead.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from pipeline.errors import NotBuiltError
from pipeline.settings import Settings
from pipeline.warehouse import connect, require_warehouse

log = logging.getLogger(__name__)

SCHEMAS = ("marts", "ref", "ops")
# Of `ops`, what analysts need: loads, rejected rows, builds and deliveries (as of the
# publish: a `cxn send` after it shows in the next one). The engine's bookkeeping stays.
OPS_TABLES = ("load_log", "rejected_rows", "build_log", "newsletter_outbox")


@dataclass(frozen=True)
class Snapshot:
    path: Path
    tables: dict[str, int]
    latest_as_of: date | None
    seconds: float
    patched: bool = False  # the previous snapshot plus what changed (else copied whole)


def publish_snapshot(settings: Settings) -> Snapshot:
    """Write the marts to a new file and rename it over `settings.analytics_path`.

    Idempotent: publishing twice without a build in between gives the same content.
    Needs the warehouse not to be open for writing by another process (run it where the
    build ran, after it).
    """
    started = time.perf_counter()
    # The warehouse must be there and free: checked (with a clear line) before the copy.
    connect(settings.warehouse, read_only=True).close()
    target = settings.analytics_path
    target.parent.mkdir(parents=True, exist_ok=True)
    # Publishes are serialised (the duckdb_writer pool, or one CLI at a time), so files of
    # an earlier publish that was killed half-way can go.
    for leftover in target.parent.glob(f".{target.name}.*.tmp*"):
        leftover.unlink(missing_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    previous = _previous(target, settings.warehouse)
    if previous is not None:
        shutil.copyfile(target, tmp)
    con = connect(tmp, create=True)
    tables: dict[str, int] = {}
    try:
        con.execute(f"attach '{_sql_path(settings.warehouse)}' as warehouse (read_only)")
        built_through = con.execute(
            "select max(built_at) from warehouse.ops.build_log where status = 'built'"
        ).fetchall()[0][0]
        con.execute("begin transaction")
        if previous is None:
            _copy_all(con)
        else:
            _patch(con, previous)
        for schema, table in _tables(con, "warehouse"):
            count = con.execute(f"select count(*) from {schema}.{table}").fetchall()[0][0]
            tables[f"{schema}.{table}"] = int(count)
        latest: date | None = None
        if "marts.seller_scorecard" in tables:
            latest = con.execute("select max(as_of_date) from marts.seller_scorecard").fetchall()[
                0
            ][0]
        built_dates = con.execute(
            "select coalesce(list(distinct as_of_date order by as_of_date), []) "
            "from warehouse.ops.build_log where status = 'built'"
        ).fetchall()[0][0]
        con.execute("create schema if not exists meta")
        con.execute(
            "create or replace table meta.snapshot as select now()::timestamp as published_at, "
            "?::date as latest_as_of_date, ?::json as row_counts, "
            "?::varchar as warehouse, ?::timestamp as built_through, ?::date[] as built_dates",
            [
                latest,
                json.dumps(tables, sort_keys=True),
                str(settings.warehouse.resolve()),
                built_through,
                built_dates,
            ],
        )
        con.execute("commit")
        con.execute("detach warehouse")
        con.execute("checkpoint")
        con.close()
        # A checkpointed, closed file has no write-ahead log; a stale one beside the
        # target would be replayed against the new file.
        target.with_name(target.name + ".wal").unlink(missing_ok=True)
        _fsync(tmp)
        os.replace(tmp, target)
        _fsync(target.parent)
    except BaseException:
        con.close()
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
        raise
    seconds = time.perf_counter() - started
    log.info(
        "published snapshot %s tables=%d seconds=%.1f (%s)",
        target,
        len(tables),
        seconds,
        "patched" if previous else "copied",
    )
    return Snapshot(target, tables, latest, seconds, previous is not None)


@contextmanager
def open_snapshot(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the published snapshot: what rendering reads.

    Any number of processes may hold one at the same time, beside a build that writes the
    warehouse: the snapshot is only ever replaced by a rename, never written in place.
    """
    path = settings.analytics_path
    if settings.analytics_db is None and not settings.warehouse.is_file():
        # The snapshot's place comes from --warehouse: a mistyped one is an error, not
        # a read of whatever snapshot happens to lie in that folder.
        require_warehouse(settings.warehouse)
    if not path.is_file():
        raise NotBuiltError(
            f"{path}: no published snapshot there; `cxn build` publishes one "
            "(or `cxn publish` after a build); check CXN_ANALYTICS_DB or --warehouse"
        )
    con = connect(path, read_only=True)
    try:
        yield con
    finally:
        con.close()


def snapshot_has(con: duckdb.DuckDBPyConnection, as_of: date) -> bool:
    """True when the snapshot holds the marts as of `as_of` (a build of it was published)."""
    try:
        row = con.execute(
            "select list_contains(built_dates, ?::date) from meta.snapshot", [as_of]
        ).fetchall()
    except duckdb.Error:  # published before the snapshot listed its dates
        row = con.execute(
            "select count(*) > 0 from marts.seller_scorecard where as_of_date = ?", [as_of]
        ).fetchall()
    return bool(row and row[0][0])


@dataclass(frozen=True)
class _Previous:
    built_through: datetime


def _previous(target: Path, warehouse: Path) -> _Previous | None:
    """What the current snapshot holds, when it can be patched rather than rewritten."""
    if not target.is_file():
        return None
    try:
        con = duckdb.connect(str(target), read_only=True)
    except duckdb.Error:
        return None
    try:
        row = con.execute("select warehouse, built_through from meta.snapshot").fetchall()
    except duckdb.Error:
        return None  # a snapshot of an earlier layout
    finally:
        con.close()
    if not row or row[0][0] != str(warehouse.resolve()) or row[0][1] is None:
        return None
    from pipeline.models.build import LATEST_CHANGES_DAYS  # (not at the top: readers need no numpy)

    built_through = row[0][1]
    if built_through < datetime.now(UTC).replace(tzinfo=None) - timedelta(
        days=LATEST_CHANGES_DAYS - 1
    ):
        return None  # older than the change log: ops.latest_changes has forgotten some
    return _Previous(built_through)


def _tables(con: duckdb.DuckDBPyConnection, database: str) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where database_name = ? and schema_name in "
            f"({', '.join('?' for _ in SCHEMAS)}) order by 1, 2",
            [database, *SCHEMAS],
        ).fetchall()
        if r[0] != "ops" or r[1] in OPS_TABLES
    ]


def _views(con: duckdb.DuckDBPyConnection, database: str) -> list[tuple[str, str, str]]:
    return [
        (r[0], r[1], r[2])
        for r in con.execute(
            "select schema_name, view_name, sql from duckdb_views() "
            "where database_name = ? and not internal and schema_name in "
            f"({', '.join('?' for _ in SCHEMAS)}) order by 1, 2",
            [database, *SCHEMAS],
        ).fetchall()
    ]


def _copy_views(con: duckdb.DuckDBPyConnection) -> None:
    """The warehouse's views over the copied tables (a latest_as_of mart is one: its rows
    table plus the as-of date), recreated as they are there."""
    current_db = con.execute("select current_database()").fetchall()[0][0]
    for schema, view, _ in _views(con, current_db):
        con.execute(f"drop view {schema}.{view}")
    for _, _, sql in _views(con, "warehouse"):
        con.execute(sql)


def _copy_all(con: duckdb.DuckDBPyConnection) -> None:
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    for schema, table in _tables(con, "warehouse"):
        con.execute(f"create table {schema}.{table} as select * from warehouse.{schema}.{table}")
    _copy_views(con)


def _columns(con: duckdb.DuckDBPyConnection, database: str, schema: str, table: str) -> list:
    return con.execute(
        "select column_name, data_type from duckdb_columns() where database_name = ? "
        "and schema_name = ? and table_name = ? order by column_index",
        [database, schema, table],
    ).fetchall()


def _patch(con: duckdb.DuckDBPyConnection, previous: _Previous) -> None:
    """Bring a copy of the previous snapshot up to the warehouse, table by table."""
    from pipeline.models.build import discover, latest_rows_table

    for schema in SCHEMAS:  # a snapshot of an earlier layout may lack one (ops)
        con.execute(f"create schema if not exists {schema}")

    materialized = {
        latest_rows_table(m.fqn) if m.materialized == "latest_as_of" else m.fqn: m.materialized
        for m in discover()
    }
    current_db = con.execute("select current_database()").fetchall()[0][0]
    for schema, view, _ in _views(con, current_db):
        con.execute(f"drop view {schema}.{view}")
    here = set(_tables(con, current_db))
    there = _tables(con, "warehouse")
    for schema, table in sorted(here - set(there)):
        con.execute(f"drop table {schema}.{table}")
    built = [
        r[0]
        for r in con.execute(
            "select distinct as_of_date from warehouse.ops.build_log "
            "where status = 'built' and built_at > ?",
            [previous.built_through],
        ).fetchall()
    ]
    for schema, table in there:
        fqn = f"{schema}.{table}"
        source = f"warehouse.{fqn}"
        same = (schema, table) in here and _columns(con, current_db, schema, table) == _columns(
            con, "warehouse", schema, table
        )
        kind = materialized.get(fqn)
        if not same or schema != "marts" or kind not in ("as_of", "latest_as_of"):
            con.execute(f"create or replace table {fqn} as select * from {source}")
        elif kind == "as_of":
            if built:
                con.execute(
                    f"delete from {fqn} where as_of_date in (select unnest(?::date[]))", [built]
                )
                con.execute(
                    f"insert into {fqn} select * from {source} "
                    "where as_of_date in (select unnest(?::date[]))",
                    [built],
                )
        else:
            _patch_latest(con, fqn, source, previous)
    _copy_views(con)


def _patch_latest(
    con: duckdb.DuckDBPyConnection, fqn: str, source: str, previous: _Previous
) -> None:
    """The rows table of a latest_as_of mart: the rows the builds since `previous`
    changed, by key (the as-of date is in the mart's view, copied after)."""
    from pipeline.models.build import discover, latest_rows_table

    model = next(m for m in discover() if latest_rows_table(m.fqn) == fqn)
    key = model.header.get("changes", "").rpartition(" by ")[2]
    changes = con.execute(
        "select count(*), count(*) filter (where key is null) from warehouse.ops.latest_changes "
        "where table_name = ? and changed_at > ?",
        [model.fqn, previous.built_through],
    ).fetchall()[0]
    if not changes[0]:
        return
    if changes[1] or not key:
        con.execute(f"create or replace table {fqn} as select * from {source}")
        return
    con.execute(
        "create or replace temp table _changed_keys as select distinct key "
        "from warehouse.ops.latest_changes where table_name = ? and changed_at > ?",
        [model.fqn, previous.built_through],
    )
    con.execute(f"delete from {fqn} where {key} in (select key from _changed_keys)")
    con.execute(
        f"insert into {fqn} select * from {source} where {key} in (select key from _changed_keys)"
    )


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
