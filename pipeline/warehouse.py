"""The DuckDB warehouse: connections, schemas, the raw and ops tables.

Schemas (SPEC §4): `raw` (append-only versions as loaded), `staging`, `intermediate`,
`marts` (what analysts read), `ops` (load log, rejected rows, builds, newsletter outbox)
and `ref` (reference data from `reference/`, reloaded by every build).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipeline.schema import DATASETS

log = logging.getLogger(__name__)

SCHEMAS = ("raw", "staging", "intermediate", "marts", "ops", "ref")

# Lineage columns every raw table carries beside the dataset's own columns.
RAW_LINEAGE = (
    ("_load_date", "DATE NOT NULL"),  # the dt= folder the version came from
    ("_source_file", "VARCHAR NOT NULL"),  # path relative to the landing zone
    ("_line", "INTEGER NOT NULL"),  # 1-based record position after the header
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


def connect(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (created on first use) with the session pinned to UTC."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    # Timestamps are stored as UTC TIMESTAMP; casting timestamptz input must not depend
    # on the machine's time zone.
    con.execute("set TimeZone = 'UTC'")
    return con


def init(con: duckdb.DuckDBPyConnection) -> None:
    """Create schemas, raw tables and ops tables if they do not exist (idempotent)."""
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    for ds in DATASETS.values():
        cols = [f"{c.name} {c.sql_type}" for c in ds.columns]
        cols += [f"{name} {ddl}" for name, ddl in RAW_LINEAGE]
        con.execute(f"create table if not exists raw.{ds.name} ({', '.join(cols)})")
    con.execute(OPS_DDL)


@contextmanager
def open_warehouse(path: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to an initialised warehouse, closed on exit."""
    con = connect(path, read_only=read_only)
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
