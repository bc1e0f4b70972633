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
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipeline.settings import Settings
from pipeline.warehouse import connect

log = logging.getLogger(__name__)

SCHEMAS = ("marts", "ref")


@dataclass(frozen=True)
class Snapshot:
    path: Path
    tables: dict[str, int]
    latest_as_of: date | None
    seconds: float


def publish_snapshot(settings: Settings) -> Snapshot:
    """Copy the marts into a fresh file and rename it over `settings.analytics_path`.

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
    con = connect(tmp, create=True)
    tables: dict[str, int] = {}
    try:
        con.execute(f"attach '{_sql_path(settings.warehouse)}' as warehouse (read_only)")
        rows = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where database_name = 'warehouse' and schema_name in "
            f"({', '.join('?' for _ in SCHEMAS)}) order by 1, 2",
            list(SCHEMAS),
        ).fetchall()
        con.execute("begin transaction")
        for schema in SCHEMAS:
            con.execute(f"create schema if not exists {schema}")
        for schema, table in rows:
            con.execute(
                f"create table {schema}.{table} as select * from warehouse.{schema}.{table}"
            )
            count = con.execute(f"select count(*) from {schema}.{table}").fetchall()[0][0]
            tables[f"{schema}.{table}"] = int(count)
        latest: date | None = None
        if "marts.seller_scorecard" in tables:
            latest = con.execute("select max(as_of_date) from marts.seller_scorecard").fetchall()[
                0
            ][0]
        con.execute("create schema meta")
        con.execute(
            "create table meta.snapshot as select now()::timestamp as published_at, "
            "?::date as latest_as_of_date, ?::json as row_counts",
            [latest, json.dumps(tables, sort_keys=True)],
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
    log.info("published snapshot %s tables=%d seconds=%.1f", target, len(tables), seconds)
    return Snapshot(target, tables, latest, seconds)


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
