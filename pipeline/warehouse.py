"""The DuckDB warehouse: connections, schemas, the raw and ops tables.

Schemas (SPEC §4): `raw` (append-only versions as loaded), `staging`, `intermediate`,
`marts` (what analysts read), `ops` (load log, rejected rows, builds, newsletter outbox)
and `ref` (reference data from `reference/`, reloaded by every build).
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb

from pipeline.errors import CxnError
from pipeline.schema import DATASETS, DECIMAL

log = logging.getLogger(__name__)

SCHEMAS = ("raw", "staging", "intermediate", "marts", "ops", "ref")

# Lineage columns every raw table carries beside the dataset's own columns.
RAW_LINEAGE = (
    ("_load_date", "DATE NOT NULL"),  # the dt= folder the version came from
    ("_source_file", "VARCHAR NOT NULL"),  # path relative to the landing zone
    ("_line", "INTEGER NOT NULL"),  # 1-based record position after the header
    # The load date from which a higher-ranked version of the same record is known, so
    # this one is no longer in effect (NULL: still in effect). Maintained by the loader;
    # a version is the one in effect at D iff _load_date <= D < _superseded_on.
    ("_superseded_on", "DATE"),
)

OPS_DDL = """
create table if not exists ops.load_log (
    load_date date not null,
    dataset varchar not null,
    file varchar,
    file_sha256 varchar,
    records integer,
    loaded integer,
    duplicates integer,
    rejected integer,
    status varchar not null,
    error varchar,
    loaded_at timestamp not null
);
create table if not exists ops.rejected_rows (
    load_date date not null,
    dataset varchar not null,
    file varchar not null,
    line integer not null,
    reason varchar not null,
    raw varchar
);
create table if not exists ops.build_log (
    as_of_date date not null,
    status varchar not null,
    models integer,
    tests integer,
    seconds double,
    error varchar,
    built_at timestamp not null
);
-- What loads changed since the last build: the order, message and thread histories
-- (intermediate.*_state) the next build recomputes (pipeline/models/engine.py).
create table if not exists ops.pending_state (
    entity varchar not null,
    key varchar not null,
    load_date date not null
);
-- The rows of latest_as_of marts each build changed (key NULL: the whole table), so the
-- analysts' snapshot copies only those (pipeline/models/snapshot.py). Kept for LATEST_CHANGES_DAYS.
create table if not exists ops.latest_changes (
    table_name varchar not null,
    key varchar,
    changed_at timestamp not null
);
create table if not exists ops.newsletter_outbox (
    seller_id varchar not null,
    week varchar not null,
    as_of_date date not null,
    recipients varchar,
    status varchar not null,
    attempts integer not null,
    message_id varchar,
    pdf_path varchar,
    pdf_sha256 varchar,
    sent_at timestamp,
    error varchar,
    primary key (seller_id, week)
);
"""


class WarehouseLockedError(CxnError):
    """Another process has the warehouse open (DuckDB lets one process write it)."""


_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


def require_warehouse(path: Path) -> None:
    """Refuse a path that holds no warehouse file: a mistyped path, which opening would
    turn into what looks like a fresh start (every newsletter unsent, nothing loaded)."""
    if not path.is_file():
        if path.exists():
            raise CxnError(f"{path}: not a warehouse file (it is a folder or a device)")
        raise CxnError(
            f"{path}: no warehouse there; check --warehouse or CXN_WAREHOUSE "
            "(only `cxn load`, `cxn run` and `cxn demo` create a warehouse)"
        )


def connect(
    path: Path, *, read_only: bool = False, create: bool = False
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse with the session pinned to UTC.

    Only `create=True` (loading, a backfill, the demo) may start a new warehouse file;
    anywhere else the path must hold one (`require_warehouse`).
    """
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        require_warehouse(path)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        raise _open_error(path, exc) from None
    # Timestamps are stored as UTC TIMESTAMP; casting timestamptz input must not depend
    # on the machine's time zone.
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    return con


def _open_error(path: Path, exc: duckdb.Error) -> CxnError:
    text = str(exc)
    if "lock" not in text.lower():
        return CxnError(f"{path}: cannot open the warehouse ({text.strip().splitlines()[0]})")
    holder = _LOCK_HOLDER.search(text)
    who = f" (PID {holder['pid']}, {holder['program']})" if holder else ""
    return WarehouseLockedError(
        f"{path}: the warehouse is in use by another process{who}; DuckDB lets one process "
        "open it for writing. Analysts query the snapshot (analytics.duckdb beside it, or "
        "CXN_ANALYTICS_DB), never this file; otherwise wait for that process or stop it"
    )


def _layout_digest() -> str:
    """What init() would create: when a warehouse records the same, init() has no work."""
    import hashlib

    layout = repr(
        (
            SCHEMAS,
            RAW_LINEAGE,
            OPS_DDL,
            [(d.name, [c.sql_type for c in d.columns]) for d in DATASETS.values()],
        )
    )
    return hashlib.sha256(layout.encode()).hexdigest()[:16]


def init(con: duckdb.DuckDBPyConnection) -> None:
    """Create schemas, raw tables and ops tables if they do not exist (idempotent).

    The warehouse records the layout it was brought to (`ops.layout`), so opening an
    up-to-date warehouse costs one query instead of some forty.
    """
    digest = _layout_digest()
    with contextlib.suppress(duckdb.CatalogException):
        if scalar(con, "select digest from ops.layout") == digest:
            return
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    for ds in DATASETS.values():
        cols = [f"{c.name} {c.sql_type}" for c in ds.columns]
        cols += [f"{name} {ddl}" for name, ddl in RAW_LINEAGE]
        con.execute(f"create table if not exists raw.{ds.name} ({', '.join(cols)})")
        _upgrade_raw_table(con, ds.name)
    con.execute(OPS_DDL)
    con.execute("create or replace table ops.layout as select ? as digest", [digest])


def _upgrade_raw_table(con: duckdb.DuckDBPyConnection, dataset: str) -> None:
    """Bring a raw table of an older warehouse to the contract's columns and types.

    Only widening changes happen here (a new column, a decimal with more digits), so every
    value already loaded stays as it was.
    """
    ds = DATASETS[dataset]
    have = dict(
        con.execute(
            "select column_name, data_type from duckdb_columns() "
            "where schema_name = 'raw' and table_name = ?",
            [dataset],
        ).fetchall()
    )
    for col in ds.columns:
        if col.name not in have:
            con.execute(f"alter table raw.{dataset} add column {col.name} {col.sql_type}")
        elif col.kind == DECIMAL and have[col.name] != col.sql_type:
            log.info("widening raw.%s.%s to %s", dataset, col.name, col.sql_type)
            con.execute(f"alter table raw.{dataset} alter {col.name} type {col.sql_type}")
    if "_superseded_on" not in have:  # a warehouse from before the column existed
        con.execute(f"alter table raw.{dataset} add column _superseded_on date")
        mark_superseded(con, dataset, ds.key[0], None)


def mark_superseded(
    con: duckdb.DuckDBPyConnection, dataset: str, key: str, keys_table: str | None
) -> None:
    """Recompute `_superseded_on` for the versions of the given keys (None: all keys).

    Versions rank by (last_updated_at, _load_date, _line); a version stops being in
    effect on the earliest load date of any version ranked above it (SPEC 3.1).

    A daily load touches keys whose versions sit in the last few days' row groups, so
    every step names the range of load dates it needs and DuckDB skips the row groups
    outside it: find the oldest load date of the keys' versions (a scan of the key column
    only), rank their versions from there, update the versions whose date changes.
    """
    where = ""
    if keys_table:
        # The oldest version of these keys, found by the key column alone, bounds the
        # read of their versions to the row groups from its load date on.
        oldest = con.execute(
            f"select min(_load_date) from raw.{dataset} "
            f"where {key} in (select {key} from {keys_table})"
        ).fetchall()[0][0]
        if oldest is None:
            return
        where = (
            f"where _load_date >= date '{oldest.isoformat()}' "
            f"and {key} in (select {key} from {keys_table})"
        )
    con.execute(
        f"""
        create or replace temp table _superseded_changes as
        select {key}, _load_date, _line, superseded_on
        from (
            select
                {key}, _load_date, _line, _superseded_on,
                min(_load_date) over (
                    partition by {key}
                    order by last_updated_at desc, _load_date desc, _line desc
                    rows between unbounded preceding and 1 preceding
                ) as superseded_on,
            from raw.{dataset}
            {where}
        )
        where _superseded_on is distinct from superseded_on
        """
    )
    first, last = con.execute(
        "select min(_load_date), max(_load_date) from _superseded_changes"
    ).fetchall()[0]
    if first is not None:
        con.execute(
            f"""
            update raw.{dataset} as target
            set _superseded_on = changes.superseded_on
            from _superseded_changes as changes
            where target._load_date between date '{first.isoformat()}'
                                        and date '{last.isoformat()}'
              and target.{key} = changes.{key}
              and target._load_date = changes._load_date
              and target._line = changes._line
            """
        )
    con.execute("drop table _superseded_changes")


@contextmanager
def open_warehouse(
    path: Path, *, read_only: bool = False, create: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to an initialised warehouse, closed on exit (see `connect`)."""
    con = connect(path, read_only=read_only, create=create)
    try:
        if not read_only:
            init(con)
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All-or-nothing: commit on success, roll back on any exception."""
    con.execute("begin transaction")
    try:
        yield
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def first_row(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> tuple | None:
    """The first row of a query, fetching the result completely.

    DuckDB 2 refuses other work on a connection whose last result was only partly
    fetched, so `execute(...).fetchone()` is never used in this project.
    """
    rows = (
        con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()
    )
    return rows[0] if rows else None


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> object:
    """The first column of the first row (None when there are no rows)."""
    row = first_row(con, sql, params)
    return row[0] if row else None


def is_built(con: duckdb.DuckDBPyConnection, as_of: date) -> bool:
    """True when a build as of `as_of` has completed (its marts partition is there)."""
    return bool(
        scalar(
            con,
            "select count(*) from ops.build_log where as_of_date = ? and status = 'built'",
            [as_of],
        )
    )
