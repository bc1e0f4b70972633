"""Run the SQL models of `sql/` as of a date (SPEC §3.1), then the data tests.

Models are plain SQL files, one `select` each: `sql/<schema>/<table>.sql`. The runner
finds the tables a model references (`staging.stg_orders`, written in full), orders the
models by those references, and materialises each one as its header says:

    -- materialized: view          create or replace view (staging's default)
    -- materialized: table         a temp table that lives for the build only
                                   (intermediate's default: build-internal, never
                                   written to the warehouse file)
    -- materialized: as_of         a partition per as-of date: delete D, insert D (marts)
    -- materialized: latest_as_of  keep only the most recent as-of date built: the rows
                                   in table <name>__rows, the mart a view adding
                                   the date; `-- changes: intermediate.X by key`
                                   lets a daily build rewrite only changed rows

Every model sees the as-of date as `getvariable('as_of_date')`. Staging views pick the
record versions known at the end of that day, so building as of D gives the same rows
whenever it runs. The whole build runs in one transaction: analysts never see a
half-built as-of date, and a failing data test (`sql/tests/*.sql` returning rows) rolls
everything back.
"""

from __future__ import annotations

import contextlib
import csv
import graphlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from pipeline.errors import BuildError, CxnError, NotBuiltError
from pipeline.models import engine, registry, stats
from pipeline.settings import SQL_DIR, Settings
from pipeline.warehouse import is_built, open_warehouse, scalar, transaction

log = logging.getLogger(__name__)

MODEL_SCHEMAS = ("staging", "intermediate", "marts")
# How long ops.latest_changes keeps the changed rows of latest_as_of marts: a snapshot
# published longer ago than this is copied whole instead of patched.
LATEST_CHANGES_DAYS = 14
DEFAULT_MATERIALIZATION = {"staging": "view", "intermediate": "table", "marts": "as_of"}
MATERIALIZATIONS = {"view", "table", "temp_view", "as_of", "latest_as_of"}
_REF = re.compile(r"\b(staging|intermediate|marts)\.([a-z_][a-z0-9_]*)\b")
_HEADER = re.compile(r"^--\s*([a-z_ ]+):\s*(.+?)\s*$")


@dataclass(frozen=True)
class Model:
    schema: str
    name: str
    path: Path
    sql: str
    materialized: str
    depends_on: frozenset[str]
    header: dict[str, str] = field(default_factory=dict)

    @property
    def fqn(self) -> str:
        return f"{self.schema}.{self.name}"


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def _model_files(sql_dir: Path, incremental: bool) -> list[tuple[str, Path]]:
    """(schema, file) of every model; an incremental build takes sql/incremental/'s file
    where one of the same name exists, and leaves out what the engine computes itself."""
    files = {
        f"{schema}.{path.stem}": (schema, path)
        for schema in MODEL_SCHEMAS
        for path in sorted((sql_dir / schema).glob("*.sql"))
    }
    if incremental:
        for path in sorted((sql_dir / "incremental").glob("*.sql")):
            fqn = f"intermediate.{path.stem}"
            if fqn not in files:
                raise BuildError(f"{path}: replaces {fqn}, which no model defines")
            files[fqn] = ("intermediate", path)
        for fqn in engine.REPLACED_BY_ENGINE:
            files.pop(fqn, None)
    return [files[k] for k in sorted(files)]


def discover(sql_dir: Path = SQL_DIR, *, incremental: bool = False) -> list[Model]:
    """All models under sql_dir, in an order where each comes after what it references
    (`incremental`: the models of an incremental build, see pipeline/models/engine.py)."""
    models: dict[str, Model] = {}
    for schema, path in _model_files(sql_dir, incremental):
        text = path.read_text(encoding="utf-8")
        header = {}
        for line in text.splitlines():
            m = _HEADER.match(line)
            if not m:
                break
            header[m.group(1).strip()] = m.group(2)
        materialized = header.get("materialized", DEFAULT_MATERIALIZATION[schema])
        if materialized not in MATERIALIZATIONS:
            raise BuildError(f"{path}: unknown materialization '{materialized}'")
        refs = {f"{s}.{n}" for s, n in _REF.findall(_strip_comments(text))}
        fqn = f"{schema}.{path.stem}"
        refs.discard(fqn)
        refs -= engine.ENGINE_TABLES
        models[fqn] = Model(
            schema,
            path.stem,
            path,
            text.strip().rstrip(";"),
            materialized,
            frozenset(refs),
            header,
        )
    for model in models.values():
        unknown = sorted(model.depends_on - models.keys())
        if unknown:
            raise BuildError(
                f"{model.path}: references {', '.join(unknown)}, which no model defines"
            )
    sorter = graphlib.TopologicalSorter({k: m.depends_on for k, m in models.items()})
    try:
        order = list(sorter.static_order())
    except graphlib.CycleError as exc:
        raise BuildError(f"models reference each other in a cycle: {exc.args[1]}") from None
    return [models[k] for k in order]


def discover_tests(sql_dir: Path = SQL_DIR) -> list[Path]:
    return sorted((sql_dir / "tests").glob("*.sql"))


# ---------------------------------------------------------------------------------------
# Statistical functions the status rules of SPEC §3.4 need, as vectorised DuckDB UDFs.


# The UDFs move doubles between Arrow and numpy through the buffers themselves: the
# convenient pyarrow calls (pa.array, to_numpy) import pandas on first use, a second
# that every build would pay before its first status.


def _doubles(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A DOUBLE column as a float array, NULL as NaN."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = []
    for chunk in chunks:
        start, stop = chunk.offset, chunk.offset + len(chunk)
        values = np.frombuffer(chunk.buffers()[1], dtype=np.float64)[start:stop].copy()
        if chunk.null_count:
            bitmap = np.frombuffer(chunk.buffers()[0], dtype=np.uint8)
            valid = np.unpackbits(bitmap, bitorder="little")[start:stop].astype(bool)
            values[~valid] = np.nan
        parts.append(values)
    return np.concatenate(parts) if parts else np.empty(0)


def _arrays(*columns: pa.Array) -> list[np.ndarray]:
    return [_doubles(c) for c in columns]


def _result(values: np.ndarray) -> pa.Array:
    data = np.ascontiguousarray(values, dtype=np.float64)
    return pa.Array.from_buffers(pa.float64(), len(data), [None, pa.py_buffer(data)])


def _binom_sf(x: pa.Array, n: pa.Array, p: pa.Array) -> pa.Array:
    """P(X >= x) for X ~ Binomial(n, p)."""
    return _result(stats.binom_sf(*_arrays(x, n, p)))


def _binom_cdf(x: pa.Array, n: pa.Array, p: pa.Array) -> pa.Array:
    """P(X <= x) for X ~ Binomial(n, p)."""
    return _result(stats.binom_cdf(*_arrays(x, n, p)))


def _poisson_sf(x: pa.Array, lam: pa.Array) -> pa.Array:
    """P(Y >= x) for Y ~ Poisson(lam)."""
    return _result(stats.poisson_sf(*_arrays(x, lam)))


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """Make cxn_binom_sf / cxn_binom_cdf / cxn_poisson_sf callable from the models."""
    dbl = duckdb.sqltype("DOUBLE")
    specs: list[tuple[str, Callable[..., pa.Array], int]] = [
        ("cxn_binom_sf", _binom_sf, 3),
        ("cxn_binom_cdf", _binom_cdf, 3),
        ("cxn_poisson_sf", _poisson_sf, 2),
    ]
    for name, fn, arity in specs:
        with contextlib.suppress(duckdb.Error):  # not registered yet on this connection
            con.remove_function(name)
        con.create_function(  # type: ignore[call-overload]  # the stubs want enum members
            name, fn, [dbl] * arity, dbl, type="arrow", null_handling="special", side_effects=False
        )


# The status rule of SPEC 3.4 for one metric row, in one place: the seller_metrics model
# calls these macros and the property tests call the same ones.
STATUS_MACROS = """
create or replace temp macro cxn_meets_target(x, n, target, cond) as
    case cond when 'LESS_THAN' then x / n < target when 'GREATER_THAN' then x / n >= target end;

-- A miss is credible only with enough bad events behind it (min_bad) and a small chance
-- (< max_p) that a seller exactly at target would have done this badly.
create or replace temp macro cxn_is_credible_miss(x, n, target, cond, min_bad, max_p) as
    case cond
        when 'LESS_THAN' then x >= min_bad and cxn_binom_sf(x, n, target) < max_p
        when 'GREATER_THAN' then n - x >= min_bad and cxn_binom_cdf(x, n, target) < max_p
    end;

create or replace temp macro cxn_status(x, n, target, cond, poor_at, min_bad, max_p) as
    case
        when target is null or n is null or n = 0 then 'none'
        when cxn_meets_target(x, n, target, cond) then 'good'
        when not cxn_is_credible_miss(x, n, target, cond, min_bad, max_p) then 'good'
        when (cond = 'LESS_THAN' and x / n >= poor_at)
            or (cond = 'GREATER_THAN' and x / n < poor_at) then 'poor'
        else 'fair'
    end;

-- The bad events of a row: its numerator where lower is better, the rest of its
-- denominator where higher is better (the outlook's recoveries and change parts).
create or replace temp macro cxn_bad_events(x, n, cond) as
    case cond when 'LESS_THAN' then x else n - x end;

create or replace temp macro cxn_low_volume(x, n, target, cond, min_bad, max_p) as
    coalesce(
        target is not null and n > 0
        and not cxn_meets_target(x, n, target, cond)
        and not cxn_is_credible_miss(x, n, target, cond, min_bad, max_p),
        false
    );
"""


def register_macros(con: duckdb.DuckDBPyConnection) -> None:
    register_functions(con)
    con.execute(STATUS_MACROS)


# The columns of reference/metric_targets.csv, and the defaults of the optional ones.
TARGET_COLUMNS = {
    "marketplace": "VARCHAR",
    "metric": "VARCHAR",
    "target": "DOUBLE",
    "target_condition": "VARCHAR",
    "poor_at": "DOUBLE",
    "min_bad_events": "INTEGER",
    "max_p_value": "DOUBLE",
    "peer_min_denominator": "INTEGER",
    "peer_min_sellers": "INTEGER",
}
TARGET_DEFAULTS = {"peer_min_denominator": 50, "peer_min_sellers": 10}


def load_reference(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """(Re)load the operator-editable reference files into `ref.*`."""
    targets = settings.reference_dir / "metric_targets.csv"
    if not targets.is_file():
        raise CxnError(f"{targets}: reference file of metric targets not found")
    with targets.open(encoding="utf-8", newline="") as f:
        header = next(csv.reader(f), [])
    unknown = [c for c in header if c not in TARGET_COLUMNS]
    missing = [c for c in TARGET_COLUMNS if c not in header and c not in TARGET_DEFAULTS]
    if unknown or missing:
        raise CxnError(
            f"{targets}: line 1: "
            + (f"unknown column(s) {', '.join(unknown)}" if unknown else "")
            + ("; " if unknown and missing else "")
            + (f"missing column(s) {', '.join(missing)}" if missing else "")
            + f" (expected {','.join(TARGET_COLUMNS)})"
        )
    # The peer settings (SPEC 3.6) came later: a file without them gets their defaults.
    columns = ", ".join(f"'{c}': '{TARGET_COLUMNS[c]}'" for c in header)
    select = ", ".join(
        c if c in header else f"cast({TARGET_DEFAULTS[c]} as {TARGET_COLUMNS[c]}) as {c}"
        for c in TARGET_COLUMNS
    )
    try:
        con.execute(
            f"""
            create or replace table ref.metric_targets as
            select {select}
            from read_csv(?, header = true, auto_detect = false, columns = {{{columns}}})
            """,
            [str(targets)],
        )
    except duckdb.Error as exc:
        raise CxnError(f"{targets}: cannot read ({str(exc).splitlines()[0]})") from None
    low = con.execute(
        "select metric from ref.metric_targets where peer_min_denominator < 1 "
        "or peer_min_sellers < 3 or peer_min_denominator is null or peer_min_sellers is null"
    ).fetchall()
    if low:
        raise CxnError(
            f"{targets}: metric {low[0][0]}: peer_min_denominator must be at least 1 and "
            "peer_min_sellers at least 3 (no seller's own rate can be read from its peers)"
        )
    bad = con.execute(
        "select metric, target_condition from ref.metric_targets "
        "where target_condition not in ('LESS_THAN', 'GREATER_THAN') or target is null"
    ).fetchall()
    if bad:
        raise CxnError(
            f"{targets}: metric {bad[0][0]}: target_condition must be LESS_THAN or "
            "GREATER_THAN and target must be set"
        )
    # Each target names a metric of the registry and agrees with its direction.
    conditions = {
        m.code: "LESS_THAN" if m.direction == "lower" else "GREATER_THAN"
        for m in registry.reported()
        if not m.counts_only
    }
    for metric_code, condition in con.execute(
        "select distinct metric, target_condition from ref.metric_targets order by 1"
    ).fetchall():
        if metric_code not in conditions:
            raise CxnError(
                f"{targets}: metric {metric_code!r} is not a rate of reference/metrics.toml "
                f"(one of: {', '.join(sorted(conditions))})"
            )
        if condition != conditions[metric_code]:
            raise CxnError(
                f"{targets}: metric {metric_code}: target_condition {condition} contradicts "
                f"its direction in reference/metrics.toml ({conditions[metric_code]})"
            )


# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildResult:
    as_of: date
    models: int
    tests: int
    seconds: float
    # How the daily counts were had: full (every model from staging), incremental (moved
    # from the day before), reuse (already at that date) or histories (counted).
    mode: str = "full"


def _rewrite_temp_refs(sql: str, temp_models: set[str]) -> str:
    """Point references to build-internal models at their temp tables."""
    return _REF.sub(
        lambda m: (
            f"temp.{m.group(2)}" if f"{m.group(1)}.{m.group(2)}" in temp_models else m.group(0)
        ),
        sql,
    )


def _materialize(
    con: duckdb.DuckDBPyConnection, model: Model, as_of: date, temp_models: set[str]
) -> None:
    sql, fqn = _rewrite_temp_refs(model.sql, temp_models), model.fqn
    if model.materialized == "view":
        con.execute(f"create or replace view {fqn} as\n{sql}")
        return
    if model.materialized == "table":
        con.execute(f"create or replace temp table {model.name} as\n{sql}")
        return
    if model.materialized == "temp_view":
        con.execute(f"create or replace temp view {model.name} as\n{sql}")
        return
    if model.materialized == "latest_as_of":
        _materialize_latest(con, model, sql, as_of)
        return
    exists = _table_exists(con, model.schema, model.name)
    con.execute(f"create or replace temp table _new as\n{sql}")
    new_cols = [r[0] for r in con.execute("describe _new").fetchall()]
    if exists:
        old_cols = [r[0] for r in con.execute(f"describe {fqn}").fetchall()]
        if old_cols != new_cols:
            # The model's columns changed: the history of the old shape cannot be kept.
            log.warning("model %s changed its columns; dropping its earlier as-of dates", fqn)
            con.execute(f"drop table {fqn}")
            exists = False
    if not exists:
        con.execute(f"create table {fqn} as select * from _new")
    else:
        con.execute(f"delete from {fqn} where as_of_date = ?", [as_of])
        con.execute(f"insert into {fqn} select * from _new")
    con.execute("drop table _new")


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(
        scalar(
            con,
            "select count(*) from duckdb_tables() where database_name = current_database() "
            "and schema_name = ? and table_name = ?",
            [schema, name],
        )
    )


LATEST_ROWS_SUFFIX = "__rows"


def latest_rows_table(fqn: str) -> str:
    """Where a latest_as_of mart keeps its rows (its public name is a view over them)."""
    return fqn + LATEST_ROWS_SUFFIX


def _materialize_latest(
    con: duckdb.DuckDBPyConnection, model: Model, sql: str, as_of: date
) -> None:
    """A latest_as_of mart: its rows without `as_of_date` in table `<name>__rows`, and the
    mart itself a view adding the as-of date as a constant. So the daily build rewrites
    only the rows whose outcome changed (`-- changes:` header), not one row per order
    ever seen, and moving to the next date rewrites the view, not every row."""
    fqn, rows = model.fqn, latest_rows_table(model.fqn)
    if _table_exists(con, model.schema, model.name):
        con.execute(f"drop table {fqn}")  # the layout before the view: rebuilt in full
    stored = _table_exists(con, model.schema, rows.split(".")[1])
    latest = scalar(con, f"select as_of_date from {fqn} limit 1") if stored else None
    if isinstance(latest, date) and latest > as_of:
        return  # a rerun of an older date: the newest stays
    cols = [r[0] for r in con.execute(f"describe {sql}").fetchall()]
    if "as_of_date" not in cols:
        raise BuildError(f"{model.path}: a latest_as_of model must select as_of_date")
    stored_cols = [c for c in cols if c != "as_of_date"]
    if stored and stored_cols != [r[0] for r in con.execute(f"describe {rows}").fetchall()]:
        stored = False  # the model changed its columns: replace its rows whole
    moved = stored and latest == as_of - timedelta(days=1) and _changes_only(con, model, sql)
    if not moved:
        con.execute(f"drop table if exists _changed_rows_{model.name}")
        con.execute(f"create or replace table {rows} as select * exclude (as_of_date) from ({sql})")
        con.execute("insert into ops.latest_changes values (?, null, now()::timestamp)", [fqn])
    select = ", ".join(
        f"date '{as_of.isoformat()}' as as_of_date" if c == "as_of_date" else c for c in cols
    )
    con.execute(f"create or replace view {fqn} as select {select} from {rows}")


_CHANGES = re.compile(r"^(intermediate\.[a-z_]+) by ([a-z_]+)$")


def _changes_only(con: duckdb.DuckDBPyConnection, model: Model, sql: str) -> bool:
    """Move a latest_as_of mart's rows from the day before by the rows that changed, when
    its header says which input rows drive it (`-- changes: intermediate.X by key`) and
    the incremental build knows them (temp relation `_changed_X`). True when done; the
    changed rows are left in temp table `_changed_rows_<name>` for the data tests."""
    m = _CHANGES.match(model.header.get("changes", ""))
    if m is None:
        return False
    source, key = m.groups()
    changed = f"_changed_{source.split('.')[1]}"
    if not scalar(
        con,
        "select count(*) from duckdb_views() where temporary and view_name = ?",
        [changed],
    ):
        return False
    fqn, rows = model.fqn, latest_rows_table(model.fqn)
    changed_rows = f"_changed_rows_{model.name}"
    changed_sql = re.sub(rf"\btemp\.{source.split('.')[1]}\b", changed, sql)
    con.execute(f"create or replace temp table {changed_rows} as\n{changed_sql}")
    con.execute(f"delete from {rows} where {key} in (select {key} from {changed_rows})")
    con.execute(f"insert into {rows} select * exclude (as_of_date) from {changed_rows}")
    con.execute(
        f"insert into ops.latest_changes select ?, {key}, now()::timestamp from {changed_rows}",
        [fqn],
    )
    return True


def _persisted_leftovers(
    con: duckdb.DuckDBPyConnection, temp_models: set[str]
) -> list[tuple[str, str]]:
    """Tables an older version persisted for what are now build-internal models."""
    rows = con.execute(
        "select schema_name, table_name from duckdb_tables() "
        "where database_name = current_database() and not temporary"
    ).fetchall()
    return [(s, t) for s, t in rows if f"{s}.{t}" in temp_models]


def run_tests(
    con: duckdb.DuckDBPyConnection, tests: list[Path], moved: dict[str, str] | None = None
) -> None:
    """Each test returns offending rows; any row fails the build.

    `moved` maps a latest_as_of mart the build moved by its changed rows to the temp table
    of those rows: its tests check them only. The rows of every other key are the ones
    the last build tested, and the changed keys were deleted before their rows went in,
    so a key unique among the changed rows is unique in the mart.
    """
    for path in tests:
        sql = path.read_text(encoding="utf-8").strip().rstrip(";")
        for fqn, changed in (moved or {}).items():
            sql = re.sub(rf"\b{re.escape(fqn)}\b", changed, sql)
        rows = con.execute(f"select * from ({sql}) limit 5").fetchall()
        if rows:
            raise BuildError(f"data test {path.stem} failed: offending rows such as {rows[0]}")


def build(
    settings: Settings, as_of: date, *, require_loaded: bool = True, full: bool = False
) -> BuildResult:
    """Build every model as of `as_of` (idempotent: a rerun gives the same rows).

    Incremental by default (pipeline/models/engine.py: the day's change, when the day before was
    built); `full` runs every model from the staging views instead, the reference the
    incremental build is tested against. Both give the same marts.

    Side effects: replaces the as-of partition of each mart, the intermediate tables and
    the staging views, and (incremental) brings the engine's histories and totals up to
    date, in one transaction; appends a row to ops.build_log.
    """
    with open_warehouse(settings.warehouse) as con:
        return _build(con, settings, as_of, require_loaded=require_loaded, full=full)


def build_days(
    settings: Settings,
    days: list[date],
    progress: Callable[[BuildResult], None] | None = None,
) -> list[BuildResult]:
    """Build `days` in order, each as `build` would, on one connection (a backfill).

    Each date is still its own transaction. What a later date of the run replaces anyway
    is skipped (the latest_as_of marts, built for the last date only), and the warehouse
    file is written once at the end rather than after every date.
    """
    results = []
    with open_warehouse(settings.warehouse) as con:
        con.execute("set checkpoint_threshold = '4GB'")
        for i, day in enumerate(days):
            result = _build(con, settings, day, latest_marts=i == len(days) - 1)
            results.append(result)
            if progress is not None:
                progress(result)
        con.execute("checkpoint")
    return results


def _build(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    as_of: date,
    *,
    require_loaded: bool = True,
    full: bool = False,
    latest_marts: bool = True,
) -> BuildResult:
    started = time.perf_counter()
    models = discover(incremental=not full)
    tests = discover_tests()
    if not latest_marts:  # and their data tests (assert_<model>__<rule>.sql)
        skipped = {m.name for m in models if m.materialized == "latest_as_of"}
        models = [m for m in models if m.name not in skipped]
        tests = [t for t in tests if t.stem.split("__")[0].removeprefix("assert_") not in skipped]
    mode = "full"
    if require_loaded:
        loaded = scalar(
            con,
            "select count(*) from ops.load_log where load_date = ? "
            "and status in ('loaded', 'empty')",
            [as_of],
        )
        if not loaded:
            raise BuildError(f"day {as_of} is not loaded; run `cxn load --date {as_of}` first")
    register_macros(con)
    con.execute(f"set variable as_of_date = date '{as_of.isoformat()}'")
    try:
        with transaction(con):
            load_reference(con, settings)
            if not full:
                engine.refresh_states(con)
                mode = engine.prepare(con, as_of)
            temp_models = {m.fqn for m in models if m.materialized in ("table", "temp_view")}
            for schema_name, table in _persisted_leftovers(con, temp_models):
                con.execute(f"drop table {schema_name}.{table}")
            for model in models:
                t0 = time.perf_counter()
                try:
                    _materialize(con, model, as_of, temp_models)
                except duckdb.Error as exc:
                    raise BuildError(
                        f"model {model.fqn} ({model.path.name}): {str(exc).splitlines()[0]}"
                    ) from None
                log.debug("model %s in %.3fs", model.fqn, time.perf_counter() - t0)
            moved = {
                m.fqn: f"temp._changed_rows_{m.name}"
                for m in models
                if m.materialized == "latest_as_of"
                and scalar(
                    con,
                    "select count(*) from duckdb_tables() where temporary and table_name = ?",
                    [f"_changed_rows_{m.name}"],
                )
            }
            run_tests(con, tests, moved)
            for rows in moved.values():
                con.execute(f"drop table {rows}")
    except CxnError as exc:
        con.execute(
            "insert into ops.build_log values (?, 'failed', ?, ?, ?, ?, now()::timestamp)",
            [as_of, len(models), len(tests), time.perf_counter() - started, str(exc)],
        )
        raise
    seconds = time.perf_counter() - started
    con.execute(
        "insert into ops.build_log values (?, 'built', ?, ?, ?, null, now()::timestamp)",
        [as_of, len(models), len(tests), seconds],
    )
    con.execute(
        "delete from ops.latest_changes "
        f"where changed_at < now()::timestamp - interval {LATEST_CHANGES_DAYS} day"
    )
    log.info(
        "built as_of=%s mode=%s models=%d tests=%d in %.2fs",
        as_of,
        mode,
        len(models),
        len(tests),
        seconds,
    )
    return BuildResult(as_of, len(models), len(tests), seconds, mode)


def require_history_loaded(settings: Settings, as_of: date) -> None:
    """Raise unless every day from the first loaded day up to `as_of` is loaded.

    A build reads every version loaded for days up to `as_of`; a day in between whose
    load failed (or has not run yet, in a parallel backfill) would silently be missing.
    """
    with open_warehouse(settings.warehouse, read_only=True) as con:
        row = con.execute(
            "with loaded as (select distinct load_date from ops.load_log "
            "where status in ('loaded', 'empty')) "
            "select min(day)::date from generate_series("
            "(select min(load_date) from loaded), ?::date, interval 1 day) as days(day) "
            "where day::date not in (select load_date from loaded)",
            [as_of],
        ).fetchall()
    missing = row[0][0] if row else None
    if missing is not None:
        raise BuildError(
            f"day {missing} is not loaded, so a build as of {as_of} would miss it; "
            f"load {missing} first (clear its cx_daily run, or `cxn load --date {missing}`)"
        )


def check(settings: Settings, as_of: date) -> int:
    """Run the data tests of `sql/tests/` against the marts of `as_of` as persisted.

    The build runs them inside its transaction too; this reads the committed result
    (read-only), so an operator sees the check as its own step. Returns the test count.
    """
    tests = discover_tests()
    with open_warehouse(settings.warehouse, read_only=True) as con:
        if not is_built(con, as_of):
            raise NotBuiltError(f"no build as of {as_of}; run `cxn build --as-of {as_of}` first")
        con.execute(f"set variable as_of_date = date '{as_of.isoformat()}'")
        run_tests(con, tests)
    return len(tests)
