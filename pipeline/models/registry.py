"""The metric registry (`reference/metrics.toml`): one entry per metric, and the SQL models
generated from it.

The generated models are checked in, so a newcomer reads the SQL a build runs like any
other model; `make models` (`python -m pipeline.models.registry --write`) rewrites them after a
change to the registry, and a test fails while they are stale:

    sql/intermediate/int_metric_counts_daily.sql  daily numerator and denominator per metric
                                                  (written here: its grouping is code)
    sql/templates/<model>.sql.j2 -> the model     int_metric_windows, seller_scorecard,
                                                  metric_drivers (Jinja, one per model)
    docs/data_dictionary.md                       its metric and scorecard tables
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from pipeline.settings import REFERENCE_DIR, SQL_DIR

REGISTRY = REFERENCE_DIR / "metrics.toml"
CHANNELS = ("all", "MFN", "AFN")
SOURCES = {
    "orders": "intermediate.int_orders_evaluated",
    "messages": "intermediate.int_messages_evaluated",
    "threads": "intermediate.int_threads_evaluated",
    "feedback": "intermediate.int_feedback_evaluated",
    "notices": "intermediate.int_notices_evaluated",
}
COUNTS_MODEL = SQL_DIR / "intermediate" / "int_metric_counts_daily.sql"


class RegistryError(ValueError):
    """The registry file breaks one of its rules (the message names the metric)."""


@dataclass(frozen=True)
class KeyDate:
    name: str
    label: str
    source: str
    sql: str
    phrase: str = ""  # plural, for "30 days of purchase dates"


@dataclass(frozen=True)
class PlanStep:
    """A plan-of-action step; `channels`: only for plans of those channels' rows (a step
    about shipping is no advice for orders the marketplace fulfils)."""

    text: str
    channels: tuple[str, ...] = CHANNELS

    @classmethod
    def parse(cls, raw: object, where: str) -> PlanStep:
        if isinstance(raw, str):
            return cls(raw)
        if isinstance(raw, dict) and isinstance(raw.get("text"), str):
            channels = tuple(raw.get("channels", CHANNELS))
            if not set(channels) <= set(CHANNELS):
                raise RegistryError(f"{where}: a plan step's channels must be among {CHANNELS}")
            return cls(raw["text"], channels)
        raise RegistryError(f"{where}: a plan step is text or {{ text = ..., channels = [...] }}")

    def applies_to(self, channel: str) -> bool:
        return channel in self.channels


@dataclass(frozen=True)
class Metric:
    code: str
    label: str
    key_date: KeyDate
    channels: tuple[str, ...]
    windows: tuple[int, ...]
    headline: int | None
    lag_days: int
    window_lags: dict[int, int] = field(default_factory=dict)
    population: str = ""
    denominator: str = ""
    numerator: str = ""
    measure: str = "1"
    numerator_measure: str = "1"
    counts_only: bool = False
    direction: str = "lower"
    unit: str = "percent"
    reported: bool = True
    scorecard: str = ""
    spike_column: str = ""
    export: dict[str, str] = field(default_factory=dict)
    detail: dict[str, str] = field(default_factory=dict)
    driver_causes: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    driver_date_sql: str = ""
    # The newsletter's words (SPEC 6).
    scorecard_rows: tuple[str, ...] = ()
    row_labels: dict[str, str] = field(default_factory=dict)
    bad: str = ""
    noun: str = ""
    # What one bad event is called, singular and plural ("late shipment", "late
    # shipments"): the outlook's "3 late shipments must leave the 30-day window".
    bad_events: tuple[str, ...] = ()
    part_of: str = ""
    how: str = ""
    how_window: str = ""
    plan_now: tuple[PlanStep, ...] = ()
    plan_later: tuple[PlanStep, ...] = ()

    @property
    def driver_date(self) -> str:
        """The date whose weekday marts.metric_drivers reports (default: the key date)."""
        return self.driver_date_sql or self.key_date.sql

    @property
    def driver_date_label(self) -> str:
        return self.driver_date_sql or self.key_date.label

    @property
    def bad_sql(self) -> str:
        """A bad event: the numerator's flag, or its opposite when higher is better."""
        return self.numerator if self.direction == "lower" else f"not {self.numerator}"

    @property
    def population_sql(self) -> str:
        """The rows of the denominator (the channel and window aside)."""
        return _flag(self.population, self.denominator)

    def row_label(self, channel: str) -> str:
        return self.row_labels.get(channel, self.label)

    @property
    def windows_text(self) -> str:
        """'30, 60 (headline) and 90 days of purchase dates'."""
        if self.how_window:
            return self.how_window
        days = [
            f"{w} (headline)" if w == self.headline and len(self.windows) > 1 else str(w)
            for w in self.windows
        ]
        listed = days[0] if len(days) == 1 else ", ".join(days[:-1]) + " and " + days[-1]
        return f"{listed} days of {self.key_date.phrase}"

    @property
    def lag_text(self) -> str:
        return f"{self.lag_days} days" if self.lag_days else "none"

    @property
    def spike(self) -> bool:
        return bool(self.spike_column)

    def lag(self, window: int) -> int:
        return self.window_lags.get(window, self.lag_days)

    @property
    def headline_channel(self) -> str:
        """The channel of the metric's one headline figure (the scorecard's)."""
        return "all" if "all" in self.channels else self.channels[0]


def _flag(*parts: str) -> str:
    return " and ".join(p for p in parts if p) or ""


@cache
def metrics(path: Path = REGISTRY) -> tuple[Metric, ...]:
    """Every metric of the registry, in its order."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    key_dates = {
        name: KeyDate(name, kd["label"], kd["source"], kd.get("sql", name), kd.get("phrase", ""))
        for name, kd in data.get("key_dates", {}).items()
    }
    out: list[Metric] = []
    for raw in data.get("metric", []):
        code = raw.get("code", "?")
        where = f"{path.name}: metric {code}"
        unknown = set(raw) - {f for f in Metric.__dataclass_fields__} - {"driver_date"}
        if unknown:
            raise RegistryError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        if raw.get("key_date") not in key_dates:
            raise RegistryError(f"{where}: key_date {raw.get('key_date')!r} is not in [key_dates]")
        key_date = key_dates[raw["key_date"]]
        if key_date.source not in SOURCES:
            raise RegistryError(f"{where}: unknown source {key_date.source!r}")
        windows = tuple(raw.get("windows", ()))
        headline = raw.get("headline", windows[0] if len(windows) == 1 else None)
        if windows and headline not in (*windows, 0):
            raise RegistryError(f"{where}: headline {headline!r} is not one of its windows")
        channels = tuple(raw["channels"])
        if not set(channels) <= set(CHANNELS):
            raise RegistryError(f"{where}: channels must be among {', '.join(CHANNELS)}")
        if raw.get("direction", "lower") not in ("lower", "higher"):
            raise RegistryError(f"{where}: direction is lower or higher")
        metric = Metric(
            code=code,
            label=raw["label"],
            key_date=key_date,
            channels=channels,
            windows=windows,
            headline=headline or None,
            lag_days=raw.get("lag_days", 0),
            window_lags={int(k): v for k, v in raw.get("window_lags", {}).items()},
            population=raw.get("population", ""),
            denominator=raw.get("denominator", ""),
            numerator=raw.get("numerator", ""),
            measure=raw.get("measure", "1"),
            numerator_measure=raw.get("numerator_measure", raw.get("measure", "1")),
            counts_only=raw.get("counts_only", False),
            direction=raw.get("direction", "lower"),
            unit=raw.get("unit", "percent"),
            reported=raw.get("reported", True),
            scorecard=raw.get("scorecard", ""),
            spike_column=raw.get("spike_column", ""),
            export=dict(raw.get("export", {})),
            detail=dict(raw.get("detail", {})),
            driver_causes=dict(raw.get("driver_causes", {})),
            summary=raw.get("summary", ""),
            driver_date_sql=raw.get("driver_date", ""),
            scorecard_rows=tuple(raw.get("scorecard_rows", ())),
            row_labels=dict(raw.get("row_labels", {})),
            bad=raw.get("bad", ""),
            noun=raw.get("noun", ""),
            bad_events=tuple(raw.get("bad_events", ())),
            part_of=raw.get("part_of", ""),
            how=raw.get("how", ""),
            how_window=raw.get("how_window", ""),
            plan_now=tuple(PlanStep.parse(x, where) for x in raw.get("plan_now", ())),
            plan_later=tuple(PlanStep.parse(x, where) for x in raw.get("plan_later", ())),
        )
        if metric.bad_events and (
            len(metric.bad_events) != 2 or not all(isinstance(w, str) for w in metric.bad_events)
        ):
            raise RegistryError(f"{where}: bad_events is [singular, plural]")
        if metric.scorecard not in ("", "status", "rate", "count"):
            raise RegistryError(f"{where}: scorecard is status, rate or count")
        out.append(metric)
    codes = [m.code for m in out]
    if len(set(codes)) != len(codes):
        raise RegistryError(f"{path.name}: a metric code appears twice")
    return tuple(out)


@dataclass(frozen=True)
class DetailGroup:
    name: str
    title: str
    short_title: str


@cache
def detail_groups(path: Path = REGISTRY) -> tuple[DetailGroup, ...]:
    """The newsletter's groups of detail rows, in order ([detail_groups])."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    groups = tuple(
        DetailGroup(name, g["title"], g.get("short_title", g["title"]))
        for name, g in data.get("detail_groups", {}).items()
    )
    names = {g.name for g in groups}
    for m in metrics(path):
        if m.detail and m.detail.get("group") not in names:
            raise RegistryError(
                f"{path.name}: metric {m.code}: detail group {m.detail.get('group')!r} "
                "is not in [detail_groups]"
            )
    return groups


def metric(code: str) -> Metric:
    for m in metrics():
        if m.code == code:
            return m
    raise KeyError(code)


def reported() -> tuple[Metric, ...]:
    """The metrics with rows in marts.seller_metrics."""
    return tuple(m for m in metrics() if m.reported)


# ---------------------------------------------------------------------------------------
# Generated models

_GENERATED_NOTE = "-- Generated from reference/metrics.toml by `make models`: edit the registry.\n"


def _sum(measure: str, flag: str) -> str:
    value = "weight" if measure == "1" else f"weight * {measure}"
    return f"sum({value})" + (f" filter (where {flag})" if flag else "")


def _aliased(expression: str, alias: str) -> str:
    """`expression as alias,` on one line of the model, or the alias on the next."""
    line = f"{expression} as {alias},"
    return line if len(line) <= 87 else f"{expression}\n            as {alias},"


@dataclass
class _Group:
    """The metrics counted from one source by one key date over one population."""

    key_date: KeyDate
    population: str
    metrics: list[Metric]

    @property
    def channels(self) -> set[str]:
        return {c for m in self.metrics for c in m.channels}

    def name(self, taken: set[str]) -> str:
        base = f"by_{self.key_date.name}"
        name, i = base, 2
        while name in taken:
            name, i = f"{base}_{i}", i + 1
        return name


def _groups() -> list[_Group]:
    groups: dict[tuple[str, str], _Group] = {}
    for m in metrics():
        key = (m.key_date.name, m.population)
        groups.setdefault(key, _Group(m.key_date, m.population, [])).metrics.append(m)
    return list(groups.values())


def counts_sql() -> str:
    sources = sorted({g.key_date.source for g in _groups()}, key=list(SOURCES).index)
    ctes = [f"{s} as (\n    select * from {SOURCES[s]}\n)" for s in sources]
    branches = []
    taken: set[str] = set()
    for group in _groups():
        name = group.name(taken)
        taken.add(name)
        key_date = group.key_date
        channels = group.channels
        where = group.population
        if channels == {"MFN"}:
            channel = "'MFN' as channel"
            where = _flag("fulfillment_channel = 'MFN'", where)
            group_by = f"group by seller_id, {key_date.sql}"
        elif channels == {"all"}:
            channel = "'all' as channel"
            group_by = f"group by seller_id, {key_date.sql}"
        else:
            channel = "coalesce(fulfillment_channel, 'all') as channel"
            group_by = (
                "group by grouping sets (\n"
                f"        (seller_id, fulfillment_channel, {key_date.sql}),\n"
                f"        (seller_id, {key_date.sql})\n    )"
            )
        columns = []
        for m in group.metrics:
            numerator = _sum(m.numerator_measure, _flag(m.denominator, m.numerator))
            columns.append(_aliased(numerator, f"{m.code}__numerator"))
            if not m.counts_only:
                columns.append(_aliased(_sum(m.measure, m.denominator), f"{m.code}__denominator"))
        body = "\n        ".join(columns)
        where_line = f"\n    where {where}" if where else ""
        ctes.append(
            f"-- Key date: {key_date.label}"
            + (f"; {group.population}" if group.population else "")
            + f".\n{name} as (\n"
            f"    select\n        seller_id,\n        {channel},\n"
            f"        {key_date.sql} as key_date,\n        {body}\n"
            f"    from {key_date.source}{where_line}\n    {group_by}\n)"
        )
        for m in group.metrics:
            denominator = "null" if m.counts_only else f"{m.code}__denominator"
            branch = (
                f"    select seller_id, channel, key_date, '{m.code}' as metric,\n"
                f"        {m.code}__numerator as numerator,\n"
                f"        {denominator} as denominator,\n"
                f"    from {name}"
            )
            if set(m.channels) != channels:
                listed = ", ".join(f"'{c}'" for c in m.channels)
                branch += f"\n    where channel in ({listed})"
            branches.append(branch)
    counts_only = ", ".join(f"'{m.code}'" for m in metrics() if m.counts_only)
    union = "\n    union all\n".join(branches)
    with_ctes = ",\n\n".join(ctes)
    return f"""-- grain: one row per seller x channel x metric x key date
-- primary key: seller_id, channel, metric, key_date
{_GENERATED_NOTE}\
-- Daily numerators and denominators of each metric by the key date of SPEC 3.3, so a
-- window of any length is a sum over days rather than another scan of the orders.
-- Every flag comes from the evaluated intermediate models; nothing is re-derived here.
-- Rows are summed by `weight`: 1 here, +1 / -1 when the incremental build (pipeline/
-- engine.py) runs this same SQL over the orders and messages whose outcome changed,
-- so both builds count with one definition. Internal metrics: `rating_points` (the
-- seller rating's points by purchase date, SPEC 3.5) and `defect_events` (orders by the
-- date of their first counting defect, for the spike rule of SPEC 3.4).
with {with_ctes},

final as (
{union}
)

select
    seller_id,
    channel,
    key_date,
    metric,
    -- avg_response_hours counts seconds here; the windowed model turns them into hours.
    cast(coalesce(numerator, 0) as bigint) as numerator,
    -- Counts ({counts_only}) have no denominator.
    cast(
        case
            when metric not in ({counts_only}) then coalesce(denominator, 0)
        end as bigint
    ) as denominator,
from final
"""


TEMPLATES = SQL_DIR / "templates"


def _from_template(name: str) -> str:
    """A model written from sql/templates/<name>.j2 with the registry's metrics."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # SQL, written from the registry only: no outside text
    )
    env.filters["sql_string"] = lambda v: "'" + str(v).replace("'", "''") + "'"
    scorecard = [m for m in metrics() if m.scorecard]
    single_channel = [m.code for m in scorecard if m.channels == ("MFN",)]
    drivers = [
        m
        for m in metrics()
        if m.scorecard == "status" and m.key_date.source in ("orders", "messages")
    ]
    return env.get_template(f"{name}.j2").render(
        drivers=drivers,
        generated_note=(
            f"-- Generated from reference/metrics.toml and sql/templates/{name}.j2\n"
            "-- by `make models`: edit those."
        ),
        metrics=metrics(),
        scorecard=scorecard,
        single_channel=single_channel,
        window_rows=[(m, c, w) for m in metrics() for c in m.channels for w in m.windows],
    )


DICTIONARY = REFERENCE_DIR.parent / "docs" / "data_dictionary.md"


def default_targets() -> dict[str, dict[str, str]]:
    """The default ('*') rows of reference/metric_targets.csv, by metric."""
    import csv

    with (REFERENCE_DIR / "metric_targets.csv").open(encoding="utf-8", newline="") as f:
        return {r["metric"]: r for r in csv.DictReader(f) if r["marketplace"] == "*"}


def _percent(value: str) -> str:
    return f"{float(value) * 100:g} %"


def _dictionary_blocks() -> dict[str, str]:
    targets = default_targets()
    rows = [
        "| `metric` | channels | windows (headline **bold**) | key date | lag | "
        "numerator / denominator | target | poor at |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in reported():
        windows = ", ".join(f"**{w}**" if w == m.headline else str(w) for w in m.windows)
        t = targets.get(m.code)
        if t:
            lower = t["target_condition"] == "LESS_THAN"
            target = ("< " if lower else "≥ ") + _percent(t["target"])
            poor = ("≥ " if lower else "< ") + _percent(t["poor_at"])
        else:
            target = "see below" if m.code == "policy_notices" else "–"
            poor = "–"
        rows.append(
            f"| `{m.code}` | {', '.join(m.channels)} | {windows} | {m.key_date.label} | "
            f"{m.lag_days} | {m.summary} | {target} | {poor} |"
        )
    card = []
    for m in metrics():
        if m.scorecard not in ("status", "count"):
            continue
        where = f"{m.headline} days, channel {m.headline_channel}"
        if m.scorecard == "count":
            card.append(
                f"| `{m.code}`, `{m.code}_status` | INTEGER, VARCHAR | "
                f"{m.summary} in {m.headline} days, and their status |"
            )
            continue
        card.append(
            f"| `{m.code}`, `{m.code}_status`, `{m.code}_change_7d` | DOUBLE, VARCHAR, DOUBLE "
            f"| {m.label}: rate and status of the headline row ({where}), and the rate's "
            "change since seven days before (NULL where that date was not built) |"
        )
        if m.spike:
            card.append(f"| `{m.spike_column}` | BOOLEAN | the spike flag of that row |")
    return {"metrics": "\n".join(rows), "scorecard": "\n".join(card)}


def _dictionary() -> str:
    text = DICTIONARY.read_text(encoding="utf-8")
    for name, block in _dictionary_blocks().items():
        begin = f"<!-- generated: {name} (reference/metrics.toml, `make models`) -->\n"
        start = text.index(begin) + len(begin)
        end = text.index(f"<!-- end: {name} -->", start)
        text = text[:start] + block + "\n" + text[end:]
    return text


def rendered() -> dict[Path, str]:
    out = {COUNTS_MODEL: counts_sql()}
    for template in sorted(TEMPLATES.glob("*.sql.j2")):
        name = template.name.removesuffix(".j2")
        schema = name.split("_")[0]
        folder = {"int": "intermediate", "stg": "staging"}.get(schema, "marts")
        out[SQL_DIR / folder / name] = _from_template(name)
    out[DICTIONARY] = _dictionary()
    return out


def stale() -> list[Path]:
    """The generated models whose file differs from what the registry gives."""
    return [
        path
        for path, text in rendered().items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write (default) or check the models generated from reference/metrics.toml."
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite stale files (default)")
    mode.add_argument("--check", action="store_true", help="exit 1 when a file is stale")
    args = parser.parse_args(argv)
    if args.check:
        old = stale()
        for path in old:
            print(f"{path}: stale; run `make models`", file=sys.stderr)
        return 1 if old else 0
    for path, text in rendered().items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
