"""Load one day's extracts into the append-only raw layer (SPEC §2).

`load_day` reads `{landing}/dt=D/{dataset}.csv|.csv.gz|.parquet` for the ten datasets,
validates every record against `pipeline.schema`, and in ONE transaction replaces what
day D had in `raw.*` and `ops.rejected_rows`:

* a file that cannot be read (not UTF-8, broken quoting, missing required column,
  unreadable parquet) fails the whole day with a one-line `LoadError` naming the file;
* a record that parses but breaks a rule is kept in `ops.rejected_rows` with its reason
  and not loaded; if more than `max_reject_rate` of a file's records are rejected the
  day fails instead;
* nothing of the day is written unless everything succeeded, and loading a day again
  gives exactly the same raw rows (idempotent).

Validation runs as generated SQL over the file's values as text, so a day of tens of
thousands of rows validates in milliseconds.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from pipeline.errors import LoadError
from pipeline.schema import (
    BOOL,
    DATASET_ORDER,
    DATASETS,
    DATE,
    DECIMAL,
    DECIMAL_PRECISION,
    DECIMAL_SCALE,
    FILE_SUFFIXES,
    INT,
    MAX_FIELD_BYTES,
    STR,
    TIMESTAMP,
    Column,
    Dataset,
)
from pipeline.settings import Settings
from pipeline.warehouse import mark_superseded, open_warehouse, transaction

log = logging.getLogger(__name__)

# Python's CSV reader refuses fields over 128 KB by default; SPEC §2 lets any field up to
# 10 MB load. Longer fields still parse (so their row is rejected with its reason, not
# the whole day), up to a bound that keeps one record from taking the machine's memory.
_CSV_FIELD_LIMIT = 16 * MAX_FIELD_BYTES
csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))

# The unparsed input of one file, as a relation named `_in_<dataset>`:
# `_line, _raw, _fields_error` and one VARCHAR column per dataset column.


@dataclass(frozen=True)
class FileResult:
    dataset: str
    file: str
    records: int
    loaded: int
    duplicates: int
    rejected: int


@dataclass(frozen=True)
class LoadResult:
    load_date: date
    files: list[FileResult] = field(default_factory=list)

    @property
    def loaded(self) -> int:
        return sum(f.loaded for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)


def day_folder(landing: Path, day: date) -> Path:
    return landing / f"dt={day.isoformat()}"


def find_file(folder: Path, dataset: str) -> Path | None:
    """The dataset's file in a day folder, or None when absent (nothing new that day)."""
    found = [folder / f"{dataset}{suffix}" for suffix in FILE_SUFFIXES]
    found = [p for p in found if p.is_file()]
    if len(found) > 1:
        names = " and ".join(p.name for p in found)
        raise LoadError(f"{folder.name}/{dataset}: both {names}; keep one file per dataset")
    return found[0] if found else None


# ---------------------------------------------------------------------------------------
# Reading files into text columns


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _check_header(ds: Dataset, rel: str, header: list[str]) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise LoadError(f"{rel}: column '{name}' appears twice in the header")
        seen.add(name)
    missing = [c for c in ds.required_columns if c not in seen]
    if missing:
        cols = ", ".join(f"'{c}'" for c in missing)
        s = "s" if len(missing) > 1 else ""
        raise LoadError(f"{rel}: missing required column{s} {cols} in the header")


def _read_csv_text(ds: Dataset, path: Path, rel: str) -> pa.Table:
    """Parse a CSV (optionally gzipped) into text columns, one row per record."""
    raw_bytes = _read_bytes(path, rel)
    if path.name.endswith(".gz"):
        try:
            raw_bytes = gzip.decompress(raw_bytes)
        except (OSError, EOFError, zlib.error) as exc:
            raise LoadError(f"{rel}: not a readable gzip file ({_first_line(exc)})") from None
    try:
        text = raw_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw_bytes[: exc.start].count(b"\n") + 1
        raise LoadError(f"{rel}: file line {line}: not valid UTF-8 ({exc.reason})") from None

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise LoadError(f"{rel}: header: cannot parse CSV ({exc})") from None
    if header is None:
        raise LoadError(f"{rel}: the file is empty (no header row)")
    header = [h.strip() for h in header]
    _check_header(ds, rel, header)

    positions = {name: i for i, name in enumerate(header)}
    wanted = [(c.name, positions.get(c.name)) for c in ds.columns]
    values: dict[str, list[str | None]] = {name: [] for name, _ in wanted}
    lines: list[int] = []
    raws: list[str] = []
    errors: list[str | None] = []
    width = len(header)
    record = 0
    try:
        for fields in reader:
            if not fields:  # a blank line is not a record
                continue
            record += 1
            lines.append(record)
            raws.append(_format_record(fields))
            if len(fields) != width:
                errors.append(f"expected {width} fields as in the header, found {len(fields)}")
                for name, _ in wanted:
                    values[name].append(None)
                continue
            errors.append(None)
            for name, pos in wanted:
                values[name].append(fields[pos] if pos is not None else None)
    except csv.Error as exc:
        raise LoadError(
            f"{rel}: record {record + 1} (file line {reader.line_num}): cannot parse CSV ({exc})"
        ) from None

    columns = {
        "_line": pa.array(lines, type=pa.int32()),
        "_raw": pa.array(raws, type=pa.string()),
        "_fields_error": pa.array(errors, type=pa.string()),
    }
    for name, vals in values.items():
        columns[name] = pa.array(vals, type=pa.string())
    return pa.table(columns)


def _read_bytes(path: Path, rel: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise LoadError(f"{rel}: cannot read the file ({exc.strerror or exc})") from None


def _format_record(fields: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(fields)
    return buf.getvalue()


@dataclass(frozen=True)
class _Input:
    """A file's records as relation `name`: `_line`, `_fields_error`, one text column per
    dataset column (NULL when absent), and the text columns `raw_sql` turns back into the
    record's text (SQL over those columns, evaluated for rejected records only)."""

    name: str
    raw_columns: tuple[str, ...]
    raw_sql: str
    native: bool  # read by DuckDB's CSV reader (else Python's, or Parquet)
    # SQL for each record's folder day and file (constants for a one-file relation).
    load_date_sql: str = "null::date"
    file_sql: str = "null::varchar"


def _stage_input(
    con: duckdb.DuckDBPyConnection,
    ds: Dataset,
    path: Path,
    rel: str,
    day: date,
    *,
    native: bool = True,
) -> _Input:
    """Make the file's records available as a relation (see `_Input`).

    CSV and CSV.GZ are read by DuckDB's own reader, every column as text. A file that
    reader refuses (ragged records, broken quoting, not UTF-8, very long lines...) is read
    again by Python's `csv` module (`native=False`), which says precisely what is wrong
    or rejects just the broken records.
    """
    name = f"_in_{ds.name}"
    day_sql, file_sql = f"date '{day.isoformat()}'", _sql_str(rel)
    if path.name.endswith(".parquet"):
        staged = _stage_parquet(con, ds, path, rel, name)
        return replace(staged, load_date_sql=day_sql, file_sql=file_sql)
    if native:
        header = _csv_header(path)
        if header is not None:
            _check_header(ds, rel, header)
            staged = _stage_csv_native(con, ds, [path], header, name)
            return replace(staged, load_date_sql=day_sql, file_sql=file_sql)
    table = _read_csv_text(ds, path, rel)
    con.execute(f"drop view if exists {name}")  # the native reader's, when it gave up
    con.register(name, table)
    return _Input(name, ("_raw",), "_raw", False, day_sql, file_sql)


def _csv_header(path: Path) -> list[str] | None:
    """The header record, read by Python; None when it cannot be (the fallback explains)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as text:  # type: ignore[operator]
            header = next(csv.reader(text, strict=True), None)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, csv.Error):
        return None
    if header is None or any("\n" in h or "\r" in h for h in header):
        return None
    return [h.strip() for h in header]


def _stage_csv_native(
    con: duckdb.DuckDBPyConnection,
    ds: Dataset,
    paths: list[Path],
    header: list[str],
    name: str,
) -> _Input:
    """CSV files of one header, read by DuckDB as text; `_line` counts within each file
    (the reader keeps the files' order and each file's record order)."""
    fields = [f"_f{i}" for i in range(len(header))]
    columns = "{" + ", ".join(f"'{f}': 'VARCHAR'" for f in fields) + "}"
    position = {h: i for i, h in enumerate(header)}
    selects = [
        "cast(_n - min(_n) over (partition by filename) + 1 as integer) as _line",
        "null::varchar as _fields_error",
        "filename as _path",
    ]
    for col in ds.columns:
        i = position.get(col.name)
        selects.append(f"{fields[i] if i is not None else 'null::varchar'} as {_ident(col.name)}")
    selects += fields
    files = "[" + ", ".join(_sql_str(str(p)) for p in paths) + "]"
    # RFC 4180, nothing guessed: DuckDB's sniffer is off; any record that does not fit the
    # header is an error here (the Python reader then handles the file).
    source = (
        f"(select row_number() over () as _n, * from read_csv({files}, header = true, "
        f"columns = {columns}, auto_detect = false, delim = ',', quote = '\"', "
        "escape = '\"', strict_mode = true, null_padding = false, parallel = true, "
        "filename = true))"
    )
    con.execute(f"create or replace temp view {name} as select {', '.join(selects)} from {source}")
    return _Input(name, tuple(fields), " || ',' || ".join(_csv_field(f) for f in fields), True)


def _csv_field(column: str) -> str:
    """SQL for a text column as a CSV field (quoted only when it must be, like csv.writer)."""
    return (
        f"case when {column} is null then '' "
        f"when regexp_matches({column}, '[\",\r\n]') "
        f"""then '"' || replace({column}, '"', '""') || '"' else {column} end"""
    )


def _stage_parquet(
    con: duckdb.DuckDBPyConnection, ds: Dataset, path: Path, rel: str, name: str
) -> _Input:
    source = f"read_parquet({_sql_str(str(path))}, file_row_number = true)"
    try:
        types = {
            str(r[0]): str(r[1]) for r in con.execute(f"describe select * from {source}").fetchall()
        }
    except duckdb.Error as exc:
        raise LoadError(f"{rel}: not a readable parquet file ({_first_line(exc)})") from None
    types.pop("file_row_number", None)
    _check_header(ds, rel, list(types))
    present = [c.name for c in ds.columns if c.name in types]
    fields = [f"_f{i}" for i in range(len(present))]
    selects = ["cast(file_row_number + 1 as integer) as _line", "null::varchar as _fields_error"]
    for col in ds.columns:
        expr = _parquet_text(col.name, types[col.name]) if col.name in types else "null::varchar"
        selects.append(f"{expr} as {_ident(col.name)}")
    selects += [
        f"{_parquet_text(c, types[c])} as {f}" for c, f in zip(present, fields, strict=True)
    ]
    con.execute(f"create or replace temp view {name} as select {', '.join(selects)} from {source}")
    raw = " || ',' || ".join(f"coalesce({f}, '')" for f in fields) or "''"
    return _Input(name, tuple(fields), raw, native=False)


def _parquet_text(column: str, duckdb_type: str) -> str:
    """SQL for a parquet column's value as text, validated like a CSV field afterwards.

    A typed timestamp is a point in time already: one with a zone is shown in UTC with
    its offset, one without is taken as UTC (SPEC §1: time is UTC throughout).
    """
    col = _ident(column)
    if duckdb_type.startswith("TIMESTAMP WITH TIME ZONE"):
        return f"cast({col} as varchar)"
    if duckdb_type.startswith("TIMESTAMP"):
        return f"cast({col} as varchar) || 'Z'"
    return f"cast({col} as varchar)"


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# ---------------------------------------------------------------------------------------
# Validation SQL, generated from the dataset contract

_INTEGER_RE = r"^\s*[+-]?[0-9]+\s*$"
# At most DECIMAL_SCALE decimals and what DECIMAL_PRECISION leaves for the integer part:
# anything more could only be stored rounded, so it is a rejected row (SPEC §2).
_DECIMAL_RE = r"^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)\s*$"
_DECIMAL_FITS_RE = (
    rf"^\s*[+-]?0*[0-9]{{0,{DECIMAL_PRECISION - DECIMAL_SCALE}}}"
    rf"(\.[0-9]{{0,{DECIMAL_SCALE}}}0*)?\s*$"
)
_DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# ISO 8601 with `Z` or an explicit offset; words such as `epoch` or `infinity`, which
# DuckDB's own cast would take, are not timestamps (SPEC §2).
_TIMESTAMP_RE = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
    r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
)
# Microseconds are what a TIMESTAMP keeps; a finer, non-zero fraction would be cut off.
_SUB_MICROSECOND_RE = r"\.[0-9]{6}0*[1-9]"

_KIND_LABEL = {
    INT: "an integer",
    DECIMAL: "a decimal number",
    DATE: "a date (YYYY-MM-DD)",
    TIMESTAMP: "an ISO 8601 timestamp with Z or a UTC offset",
    BOOL: "a boolean (true/false)",
}


def _value(col: Column) -> str:
    return f"nullif(src.{_ident(col.name)}, '')"


def _parsed(col: Column) -> str:
    v = _value(col)
    if col.kind == STR:
        return v
    if col.kind == INT:
        return f"case when regexp_matches({v}, '{_INTEGER_RE}') then try_cast({v} as integer) end"
    if col.kind == DECIMAL:
        return (
            f"case when regexp_matches({v}, '{_DECIMAL_RE}') "
            f"and regexp_matches({v}, '{_DECIMAL_FITS_RE}') "
            f"then try_cast({v} as {col.sql_type}) end"
        )
    if col.kind == DATE:
        return (
            f"case when regexp_matches({v}, '{_DATE_RE}') "
            f"then cast(try_strptime({v}, '%Y-%m-%d') as date) end"
        )
    if col.kind == TIMESTAMP:
        return (
            f"case when regexp_matches({v}, '{_TIMESTAMP_RE}') "
            f"and not regexp_matches({v}, '{_SUB_MICROSECOND_RE}') "
            f"then (try_cast({v} as timestamptz) at time zone 'UTC') end"
        )
    if col.kind == BOOL:
        return f"case lower(trim({v})) when 'true' then true when 'false' then false end"
    raise ValueError(col.kind)


def _not_kind_reason(col: Column) -> str:
    """Why a value of the column's kind did not parse, as SQL (the common case first)."""
    label = f"column {col.name}: "
    generic = (
        f"{_sql_str(label)} || {_quoted_value(col)} || "
        f"{_sql_str(' is not ' + _KIND_LABEL[col.kind])}"
    )
    v = _value(col)
    if col.kind == DECIMAL:
        return (
            f"case when regexp_matches({v}, '{_DECIMAL_RE}') "
            f"and not regexp_matches({v}, '{_DECIMAL_FITS_RE}') then "
            f"{_sql_str(label)} || {_quoted_value(col)} || "
            + _sql_str(
                f" has more than {DECIMAL_SCALE} decimals or "
                f"{DECIMAL_PRECISION - DECIMAL_SCALE} digits before the point, "
                "so it cannot be kept as sent"
            )
            + f" else {generic} end"
        )
    if col.kind == TIMESTAMP:
        return (
            f"case when regexp_matches({v}, '{_SUB_MICROSECOND_RE}') then "
            f"{_sql_str(label)} || {_quoted_value(col)} || "
            + _sql_str(" is finer than a microsecond, so it cannot be kept as sent")
            + f" else {generic} end"
        )
    return generic


def _quoted_value(col: Column) -> str:
    """SQL for `'<value as given>'`, shortened, for use inside a reason."""
    return _quoted(f"src.{_ident(col.name)}")


def _quoted(expr: str) -> str:
    """SQL for the text of `expr` in quotes, shortened to 60 characters, line breaks and
    tabs shown as `\\n`, `\\r`, `\\t` (a reason is one line: it may end up in an error)."""
    text = f"left({expr}, 60)"
    for char, shown in ((10, "\\n"), (13, "\\r"), (9, "\\t")):
        text = f"replace({text}, chr({char}), '{shown}')"
    return f"'''' || {text} || ''''"


def _column_checks(ds: Dataset) -> list[tuple[str, str]]:
    """(condition, reason SQL) pairs in the order they are reported."""
    checks: list[tuple[str, str]] = []
    for col in ds.columns:
        v, p, label = _value(col), f"p_{col.name}", f"column {col.name}"
        checks.append(
            (
                f"strlen({v}) > {MAX_FIELD_BYTES}",
                f"{_sql_str(label + ': ')} || strlen({v}) || "
                f"{_sql_str(f' bytes, longer than the {MAX_FIELD_BYTES:,} a field may have')}",
            )
        )
        if not col.allows_null and col.null_when is None:
            checks.append((f"{v} is null", _sql_str(f"{label}: empty, but a value is required")))
        if col.kind != STR:
            checks.append((f"{v} is not null and {p} is null", _not_kind_reason(col)))
        if col.pattern and col.separator:
            item = (
                f"list_filter(string_split({v}, {_sql_str(col.separator)}), "
                f"lambda item: not regexp_full_match(trim(item), {_sql_str(col.pattern)}))[1]"
            )
            checks.append(
                (
                    f"{v} is not null and {item} is not null",
                    f"{_sql_str(label + ': ')} || {_quoted(f'trim({item})')} || "
                    f"{_sql_str(' is not ' + col.pattern_label)}",
                )
            )
        elif col.pattern:
            checks.append(
                (
                    f"{v} is not null and not regexp_full_match({v}, {_sql_str(col.pattern)})",
                    f"{_sql_str(label + ': ')} || {_quoted_value(col)} || "
                    f"{_sql_str(' is not ' + col.pattern_label)}",
                )
            )
        if col.enum:
            allowed = ", ".join(_sql_str(e) for e in col.enum)
            checks.append(
                (
                    f"{p} is not null and {p} not in ({allowed})",
                    f"{_sql_str(label + ': ')} || {_quoted_value(col)} || "
                    f"{_sql_str(' is not one of ' + ', '.join(col.enum))}",
                )
            )
        if col.min_value is not None or col.max_value is not None:
            lo, hi = col.min_value, col.max_value
            conds = []
            if lo is not None:
                conds.append(f"{p} < {lo}")
            if hi is not None:
                conds.append(f"{p} > {hi}")
            bounds = f"{lo:g}..{hi:g}" if lo is not None and hi is not None else f">= {lo:g}"
            checks.append(
                (
                    f"{p} is not null and ({' or '.join(conds)})",
                    f"{_sql_str(label + ': ')} || {_quoted_value(col)} || "
                    f"{_sql_str(' is outside ' + bounds)}",
                )
            )
        if col.null_when is not None:
            other, values = col.null_when
            allowed = ", ".join(_sql_str(x) for x in values)
            checks.append(
                (
                    f"{v} is null and coalesce(p_{other} not in ({allowed}), true)",
                    _sql_str(
                        f"{label}: empty, but a value is required unless {other} is "
                        + " or ".join(values)
                    ),
                )
            )
    for event in ds.event_columns:
        checks.append(
            (
                f"p_{event} > p_last_updated_at",
                f"{_sql_str(f'column {event}: ')} || strftime(p_{event}, '%Y-%m-%dT%H:%M:%SZ')"
                f" || {_sql_str(' is after the row' + chr(39) + 's last_updated_at ')}"
                f" || strftime(p_last_updated_at, '%Y-%m-%dT%H:%M:%SZ')",
            )
        )
    checks.append(
        (
            "p_last_updated_at >= cast(src._load_date + 1 as timestamp)",
            "'column last_updated_at: ' || strftime(p_last_updated_at, '%Y-%m-%dT%H:%M:%SZ')"
            " || ' is in the future (after the end of the folder''s day ' "
            "|| strftime(src._load_date, '%Y-%m-%d') || ')'",
        )
    )
    if ds.has_seller_id and ds.name != "sellers":
        checks.append(
            (
                "p_seller_id is not null and known.seller_id is null",
                "'column seller_id: unknown seller ''' || p_seller_id || ''' "
                "(no sellers row in this folder or an earlier one)'",
            )
        )
    return checks


def _checked_sql(ds: Dataset, inp: _Input) -> str:
    parsed = ",\n        ".join(f"{_parsed(c)} as p_{c.name}" for c in ds.columns)
    cases = "\n            ".join(
        f"when {cond} then {reason}" for cond, reason in _column_checks(ds)
    )
    join = ""
    if ds.has_seller_id and ds.name != "sellers":
        # Known: a sellers row loaded from this folder or an earlier one.
        join = (
            "left join _known_sellers as known on known.seller_id = "
            f"{_value(ds.column('seller_id'))} and known.since <= src._load_date"
        )
    return f"""
    with parsed as (
        select
            src.*,
            {inp.load_date_sql} as _load_date,
            {inp.file_sql} as _file,
            {parsed}
        from {inp.name} as src
    )
    select
        src._line,
        src._load_date,
        src._file,
        {", ".join(f"src.{f}" for f in inp.raw_columns)},
        {", ".join(f"p_{c.name} as {_ident(c.name)}" for c in ds.columns)},
        case
            when src._fields_error is not null then src._fields_error
            {cases}
        end as _reason
    from parsed as src
    {join}
    """


def _verdict_sql(
    ds: Dataset, inp: _Input, table: str, key: str, all_cols: str, key_desc: str
) -> str:
    """Every record of the input with its verdict (a SELECT for temp table `table`).

    The same key and last_updated_at twice with different parsed values: every copy is
    rejected. Identical copies are one record (the first is kept).
    """
    return f"""
        with checked as ({_checked_sql(ds, inp)}),
        grouped as (
            select
                *,
                count(distinct ({all_cols})) over same_record as _variants,
                row_number() over (same_record order by _line) as _copy,
                list(_line) over same_record as _lines,
            from checked
            window same_record as (partition by _load_date, {key}, _reason is null)
        ),
        judged as (
            select
                *,
                coalesce(
                    _reason,
                    case when _variants > 1 then
                        'duplicate record: ' || {key_desc}
                        || ', last_updated_at='
                        || strftime(last_updated_at, '%Y-%m-%dT%H:%M:%SZ')
                        || ' appears with different values on lines '
                        || array_to_string(list_sort(_lines), ', ')
                    end
                ) as _verdict,
            from grouped
        )
        select
            _load_date, _file, _line, {all_cols},
            _verdict as _reason,
            -- The record's text is built for rejected records only.
            case when _verdict is not null then {inp.raw_sql} end as _raw,
            _verdict is null and _variants = 1 and _copy > 1 as _is_copy,
        from judged
        """


@dataclass(frozen=True)
class _File:
    """One extract file of a day."""

    dataset: Dataset
    day: date
    path: Path
    rel: str  # path relative to the landing zone, as messages and lineage show it


@dataclass
class _Counted:
    """What validation found in one file."""

    file: _File
    records: int = 0
    loaded: int = 0
    duplicates: int = 0
    rejected: int = 0
    sha256: str = ""


def _verdicts(
    con: duckdb.DuckDBPyConnection, ds: Dataset, files: list[_File], failed: dict[date, LoadError]
) -> None:
    """Check every record of `files` into temp table `_checked_<dataset>` (its folder day,
    file, line, values, reason and whether it is an identical copy). A file that cannot be
    read records its day's error in `failed` instead.

    CSV files sharing a header are read and checked in one statement (a backfill reads a
    dataset's files of many days at once); a file DuckDB's reader refuses is read again on
    its own, by Python's csv module when need be, which says what is wrong record by record.
    """
    table = f"_checked_{ds.name}"
    key = ", ".join(_ident(k) for k in (*ds.key, "last_updated_at"))
    all_cols = ", ".join(_ident(c) for c in ds.column_names)
    key_desc = " || ', ' || ".join(
        f"'{k}=' || coalesce(cast({_ident(k)} as varchar), '')" for k in ds.key
    )
    created = False

    def add(inp: _Input) -> None:
        nonlocal created
        sql = _verdict_sql(ds, inp, table, key, all_cols, key_desc)
        con.execute(
            f"{'insert into' if created else 'create or replace temp table'} {table} "
            f"{'' if created else 'as '}{sql}"
        )
        created = True

    groups: dict[tuple[str, ...], list[_File]] = {}
    singles: list[_File] = []
    for f in files:
        header = None if f.path.name.endswith(".parquet") else _csv_header(f.path)
        if header is None:  # parquet, or a file only the Python reader can explain
            singles.append(f)
            continue
        try:
            _check_header(ds, f.rel, header)
        except LoadError as exc:
            failed.setdefault(f.day, exc)
            continue
        groups.setdefault(tuple(header), []).append(f)
    for names, group in groups.items():
        if len(group) == 1:
            singles += group
            continue
        con.execute(
            "create or replace temp table _files as select * from (values "
            + ", ".join(
                f"({_sql_str(str(f.path))}, {_sql_str(f.rel)}, date '{f.day.isoformat()}')"
                for f in group
            )
            + ") as t(path, rel, day)"
        )
        inp = _stage_csv_native(con, ds, [f.path for f in group], list(names), f"_in_{ds.name}")
        inp = replace(
            inp,
            load_date_sql="(select day from _files where path = src._path)",
            file_sql="(select rel from _files where path = src._path)",
        )
        try:
            add(inp)
        except duckdb.Error:
            singles += group  # one of them is malformed: each on its own
    for f in sorted(singles, key=lambda f: f.day):
        try:
            inp = _stage_input(con, ds, f.path, f.rel, f.day)
            try:
                add(inp)
            except duckdb.Error as exc:
                if inp.native:
                    inp = _stage_input(con, ds, f.path, f.rel, f.day, native=False)
                    add(inp)
                elif f.path.name.endswith(".parquet"):
                    raise LoadError(
                        f"{f.rel}: not a readable parquet file ({_first_line(exc)})"
                    ) from None
                else:
                    raise
            finally:
                if not inp.native and not f.path.name.endswith(".parquet"):
                    con.unregister(inp.name)  # the arrow table of the CSV's text
        except LoadError as exc:
            failed.setdefault(f.day, exc)
    if not created:
        con.execute(
            f"create or replace temp table {table} as select * from ("
            f"select null::date as _load_date, null::varchar as _file, null::integer as _line, "
            + ", ".join(f"null::{c.sql_type} as {_ident(c.name)}" for c in ds.columns)
            + ", null::varchar as _reason, null::varchar as _raw, false as _is_copy) where false"
        )


def _count(
    con: duckdb.DuckDBPyConnection,
    ds: Dataset,
    files: list[_File],
    max_reject_rate: float,
    failed: dict[date, LoadError],
) -> list[_Counted]:
    """Per file: records, loaded, copies, rejected; a file over the reject rate fails its day."""
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            f"""
            select
                _file,
                count(*),
                count(*) filter (where _reason is not null),
                count(*) filter (where _is_copy),
                arg_min(_line, _line) filter (where _reason is not null),
                arg_min(_reason, _line) filter (where _reason is not null),
            from _checked_{ds.name}
            group by _file
            """
        ).fetchall()
    }
    counted = []
    for f in files:
        if f.day in failed:
            continue
        records, rejected, copies, first_line, first_reason = rows.get(f.rel, (0, 0, 0, None, None))
        if records and rejected / records > max_reject_rate:
            failed.setdefault(
                f.day,
                LoadError(
                    f"{f.rel}: {rejected} of {records} records rejected "
                    f"({rejected / records:.1%} > {max_reject_rate:.0%} allowed); "
                    f"first: line {first_line}: {first_reason}"
                ),
            )
            continue
        counted.append(
            _Counted(
                f,
                records=int(records),
                loaded=int(records) - int(rejected) - int(copies),
                duplicates=int(copies),
                rejected=int(rejected),
                sha256=hashlib.sha256(_read_bytes(f.path, f.rel)).hexdigest(),
            )
        )
    return counted


# ---------------------------------------------------------------------------------------

# A backfill validates a dataset's files of up to this many days in one statement.
DAYS_PER_BATCH = 15


def load_day(settings: Settings, load_date: date) -> LoadResult:
    """Load the extracts of `load_date` into raw.*, replacing that day (idempotent).

    Side effects: on success, raw.<dataset> rows with `_load_date = load_date`,
    `ops.rejected_rows` for that day and `ops.load_log` are replaced in one transaction.
    On failure nothing of the day is written; a `failed` row is added to ops.load_log.
    """
    return load_days(settings, [load_date])[0]


def load_days(
    settings: Settings,
    days: list[date],
    progress: Callable[[LoadResult], None] | None = None,
) -> list[LoadResult]:
    """Load several days in order, reading each dataset's files of many days at once.

    The same result as `load_day` for each day in turn: each day is all or nothing, and the
    first day that fails stops the run (the days before it are loaded, its error is raised,
    the days after it are not touched). Days are committed in batches of DAYS_PER_BATCH.
    """
    missing = [d for d in days if not day_folder(settings.landing_dir, d).is_dir()]
    results: list[LoadResult] = []
    with open_warehouse(settings.warehouse, create=True) as con:
        for start in range(0, len(days), DAYS_PER_BATCH):
            batch = days[start : start + DAYS_PER_BATCH]
            stop = next((d for d in batch if d in missing), None)
            loadable = [d for d in batch if stop is None or d < stop]
            failed: dict[date, LoadError] = {}
            if loadable:
                loaded = _load_days(con, settings, loadable, failed)
                results += loaded
                for result in loaded:
                    if progress is not None:
                        progress(result)
            if stop is not None:
                failed.setdefault(
                    stop,
                    LoadError(
                        f"{day_folder(settings.landing_dir, stop)}: no extracts for {stop} "
                        "(folder does not exist)"
                    ),
                )
            if failed:
                first = min(failed)
                if day_folder(settings.landing_dir, first).is_dir():
                    con.execute(
                        "insert into ops.load_log (load_date, dataset, status, error, loaded_at) "
                        "values (?, '*', 'failed', ?, now()::timestamp)",
                        [first, str(failed[first])],
                    )
                raise failed[first]
    return results


def _load_days(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    days: list[date],
    failed: dict[date, LoadError],
) -> list[LoadResult]:
    """Validate the days, then write those before the first failing one in one transaction."""
    # Sellers known before these days, with the day from which each is known; the valid
    # sellers of these days are added as they are read.
    con.execute(
        "create or replace temp table _known_sellers as "
        "select seller_id, min(_load_date) as since from raw.sellers "
        "where _load_date < ? group by seller_id",
        [days[0]],
    )
    counted: list[_Counted] = []
    for name in DATASET_ORDER:
        ds = DATASETS[name]
        files: list[_File] = []
        for day in days:
            if day in failed:
                continue
            try:
                path = find_file(day_folder(settings.landing_dir, day), name)
            except LoadError as exc:
                failed.setdefault(day, exc)
                continue
            if path is not None:
                rel = (
                    str(path.relative_to(settings.landing_dir))
                    if path.is_relative_to(settings.landing_dir)
                    else str(path)
                )
                files.append(_File(ds, day, path, rel))
        _verdicts(con, ds, files, failed)
        counted += _count(con, ds, files, settings.max_reject_rate, failed)
        if name == "sellers":
            con.execute(
                "insert into _known_sellers select seller_id, min(_load_date) "
                "from _checked_sellers where _reason is null and not _is_copy "
                "and seller_id not in (select seller_id from _known_sellers) "
                "group by seller_id"
            )
    good = [d for d in days if not failed or d < min(failed)]
    if not good:
        return []
    counted = [c for c in counted if c.file.day in good]
    con.execute("create or replace temp table _days as select unnest(?::date[]) as day", [good])
    with transaction(con):
        con.execute("delete from ops.rejected_rows where load_date in (select day from _days)")
        con.execute("delete from ops.load_log where load_date in (select day from _days)")
        for name in DATASET_ORDER:
            # The records these days touch, before and after: their version chains change.
            ds = DATASETS[name]
            key = ds.key[0]
            con.execute(
                f"create or replace temp table _touched_{name} as "
                f"select distinct {key}, _load_date from raw.{name} "
                "where _load_date in (select day from _days)"
            )
            _remember_state_refs(con, ds, before=True)
            con.execute(f"delete from raw.{name} where _load_date in (select day from _days)")
            cols = ", ".join(_ident(c) for c in ds.column_names)
            con.execute(
                f"insert into raw.{name} ({cols}, _load_date, _source_file, _line) "
                f"select {cols}, _load_date, _file, _line from _checked_{name} "
                "where _reason is null and not _is_copy "
                "and _load_date in (select day from _days) order by _load_date, _line"
            )
            con.execute(
                f"insert into _touched_{name} select distinct {key}, _load_date "
                f"from _checked_{name} where _reason is null and not _is_copy "
                "and _load_date in (select day from _days)"
            )
            con.execute(
                f"insert into ops.rejected_rows select _load_date, '{name}', _file, _line, "
                f"_reason, _raw from _checked_{name} where _reason is not null "
                "and _load_date in (select day from _days) order by _load_date, _line"
            )
        for c in counted:
            con.execute(
                "insert into ops.load_log values (?, ?, ?, ?, ?, ?, ?, ?, 'loaded', null, "
                "now()::timestamp)",
                [
                    c.file.day,
                    c.file.dataset.name,
                    c.file.rel,
                    c.sha256,
                    c.records,
                    c.loaded,
                    c.duplicates,
                    c.rejected,
                ],
            )
        for day in good:
            if not any(c.file.day == day for c in counted):
                con.execute(
                    "insert into ops.load_log (load_date, dataset, status, loaded_at) "
                    "values (?, '*', 'empty', now()::timestamp)",
                    [day],
                )
        for name in DATASET_ORDER:
            ds = DATASETS[name]
            mark_superseded(con, name, ds.key[0], f"_touched_{name}")
            _remember_state_refs(con, ds, before=False)
        _record_pending_state(con)
    results = [
        LoadResult(
            load_date=day,
            files=[
                FileResult(
                    c.file.dataset.name, c.file.rel, c.records, c.loaded, c.duplicates, c.rejected
                )
                for c in counted
                if c.file.day == day
            ],
        )
        for day in good
    ]
    for result in results:
        log.info(
            "loaded day=%s files=%d rows=%d rejected=%d",
            result.load_date,
            len(result.files),
            result.loaded,
            result.rejected,
        )
    return results


def _remember_state_refs(con: duckdb.DuckDBPyConnection, ds: Dataset, *, before: bool) -> None:
    """Collect the outcome histories (orders, messages, threads) that versions of `ds`
    refer to, with the load date that changes them, into temp table _state_refs: the
    versions the days being loaded had (`before` they are replaced), then every version
    of the records those days touched (a claim moved to another order changes both).
    """
    con.execute(
        "create temp table if not exists _state_refs (entity varchar, key varchar, day date)"
    )
    key = ds.key[0]
    for entity, column in ds.state_refs:
        if not before and column == key:  # the touched keys themselves
            con.execute(
                f"insert into _state_refs select ?, {key}, _load_date from _touched_{ds.name}",
                [entity],
            )
            continue
        if before:
            sql = (
                f"select distinct ?, {_ident(column)}, _load_date from raw.{ds.name} "
                f"where _load_date in (select day from _days) and {_ident(column)} is not null"
            )
        else:
            sql = (
                f"select distinct ?, v.{_ident(column)}, t._load_date from raw.{ds.name} as v "
                f"join _touched_{ds.name} as t using ({key}) where v.{_ident(column)} is not null"
            )
        con.execute(f"insert into _state_refs {sql}", [entity])


def _record_pending_state(con: duckdb.DuckDBPyConnection) -> None:
    """Tell the next build which outcome histories these loads changed (ops.pending_state)."""
    con.execute(
        "create temp table if not exists _state_refs (entity varchar, key varchar, day date)"
    )
    con.execute("insert into ops.pending_state select distinct entity, key, day from _state_refs")
    con.execute("drop table _state_refs")


def loaded_days(con: duckdb.DuckDBPyConnection) -> list[date]:
    """Days whose last load succeeded."""
    rows = con.execute(
        "select distinct load_date from ops.load_log where status in ('loaded', 'empty') order by 1"
    ).fetchall()
    return [r[0] for r in rows]


# The marker the extract job writes last into `dt=D/` once every file of the day is there.
READY_MARKER = "_SUCCESS"


def extracts_ready(settings: Settings, day: date, *, now: datetime, deadline: timedelta) -> bool:
    """True when `dt=day/_SUCCESS` exists; raises once `deadline` after the day has passed.

    `now` is an aware UTC datetime. The day's extracts are expected after the day ends
    (`day + 1` 00:00 UTC); waiting longer than `deadline` beyond that is an incident, and
    the message says which file is missing.
    """
    marker = settings.landing_dir / f"dt={day.isoformat()}" / READY_MARKER
    if marker.is_file():
        return True
    day_end = datetime(day.year, day.month, day.day, tzinfo=now.tzinfo) + timedelta(days=1)
    if now - day_end > deadline:
        raise LoadError(
            f"{marker}: not there {deadline} after {day} ended; the day's extracts are "
            "incomplete or late (fix the extract job; once the marker is there, clear this task)"
        )
    return False
