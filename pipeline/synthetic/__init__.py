"""A synthetic landing zone: a deterministic, realistic marketplace for demos, tests and benchmarks.

`generate()` writes `{out}/dt=YYYY-MM-DD/{dataset}.csv` for every day of a period, in the
format of SPEC §2, with the columns of `pipeline.schema`. The same arguments give
byte-identical files.

The model
---------
*Sellers* get a marketplace (US/UK/DE, which fixes currency, carriers and transit times), a
catalogue of 2-4 product lines with 5-30 SKUs each, a lognormal order volume and a *profile*:
mostly healthy, and a few each of high order defect rate, late shipper, seller-canceller, poor
tracking, slow responder and notice-heavy, plus one or two very-low-volume sellers. A problem
profile raises a few per-seller probabilities; apart from one "anchor" seller per profile whose
problem lasts the whole period, a problem may start mid-period and some recover, so account
statuses change over time and the order defect spike rule has something to find.

*Orders* are drawn per seller and day (Poisson around volume x weekday x season: weekends busier,
a gentle yearly sine and a November/December peak), then every later event of an order is
drawn from the seller's probabilities: payment (pending -> unshipped), cancellation, ship
confirmation against the promise dates, carrier scan, delivery, refunds, feedback (2-40 days
after delivery), A-to-z claims, chargebacks and buyer messages; notices come per seller and day.
Everything is computed on whole numpy arrays: there is no Python loop per order.

*Change data capture.* An entity (an order, a shipment, a claim...) changes at a few instants;
each change is a *version* row whose `last_updated_at` is the change time plus a CDC lag of at
most 90 s. A version shows exactly the events that happened at or before its `last_updated_at`
(an event time not yet reached is NULL), so every event timestamp is <= `last_updated_at` by
construction; consecutive changes of one entity are >= 5 minutes apart, so a lag never reorders
them and no two versions of a record share a `last_updated_at`. A version goes to the folder of
its `last_updated_at` date, except ~0.5 % that arrive 1-3 days late (never after `end_date`,
never a sellers row, so a seller is always known before its orders). Versions after `end_date`
23:59:59 have not happened yet and are not written.

*Malformed rows.* A few deliberately bad rows (bad enum, out-of-range value, impossible date,
unknown seller, empty required field, event after `last_updated_at`, duplicate key and
`last_updated_at` with different values) go into files of at least 200 rows, one per file, so
no file gets near the loader's 5 % reject limit. `GenerateResult.rejects` lists every row the
loader must reject, by file and line.

Output: rows inside a file are sorted by (`last_updated_at`, key); files are written to a
temporary name and renamed into place; `_SUCCESS` marks each finished folder, and
`.cxn-generated.json` lists every file written with its SHA-256.

Nothing is lost by a mistake (SPEC §7): a folder that already holds extracts is refused
unless `force` is given; then its `dt=*` folders are replaced, so no stale day stays behind.
`generated_here(out)` tells whether everything in a folder is an earlier run's untouched
output (the demo relies on it to rerun without `--force`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from pipeline.errors import CxnError
from pipeline.schema import DATASET_ORDER
from pipeline.synthetic.defects import BadRow, _plan_malformed
from pipeline.synthetic.files import (
    GENERATED_MANIFEST,
    _clear,
    _prepare,
    _write_dataset,
    _write_manifest,
    _Writer,
    generated_here,
)
from pipeline.synthetic.vocabulary import Progress
from pipeline.synthetic.world import _World

log = logging.getLogger(__name__)

__all__ = ["GENERATED_MANIFEST", "BadRow", "GenerateResult", "generate", "generated_here"]

# --- public API --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GenerateResult:
    """What `generate()` wrote, for the CLI's summary and for tests."""

    out: Path
    first_date: date
    end_date: date
    sellers: int
    seed: int
    # Rows written per dataset (malformed rows included), over all folders.
    rows: dict[str, int]
    files: int
    # Deliberately malformed rows written (a duplicate pair counts once here) ...
    malformed: int
    # ... and every row the loader must reject because of them (both copies of a duplicate).
    rejects: tuple[BadRow, ...] = field(default=())
    # Versions written in a folder later than their last_updated_at date.
    late: int = 0
    # Orders simulated: every one is purchased in the period and has at least one version.
    orders: int = 0


def generate(
    out: Path,
    *,
    sellers: int = 40,
    days: int = 120,
    end_date: date,
    seed: int = 7,
    progress: Progress | None = None,
    force: bool = False,
) -> GenerateResult:
    """Write a synthetic landing zone for `[end_date - days + 1, end_date]` under `out`.

    Side effects: writes one folder per day (files renamed into place, `_SUCCESS` last) and
    `.cxn-generated.json`. A folder that holds extracts already is refused, unless `force`:
    then its `dt=*` folders are removed first. Deterministic: the same arguments give
    byte-identical files.
    """
    if sellers < 1:
        raise CxnError(f"--sellers must be at least 1, not {sellers}")
    if days < 1:
        raise CxnError(f"--days must be at least 1, not {days}")
    if seed < 0:
        raise CxnError(f"--seed must be a non-negative integer, not {seed}")
    say = progress or (lambda _msg: None)
    first_date = end_date - timedelta(days=days - 1)
    out = Path(out)

    _prepare(out, force=force)
    world = _World(first_date, days, sellers, seed)
    say(f"simulating {sellers} sellers over {days} days ({first_date} .. {end_date})")
    tables = world.simulate(say)
    plan = _plan_malformed(tables, days, np.random.default_rng([seed, 99]))

    _prepare(out, force=force)  # again: the folder may have changed while simulating
    _clear(out)
    (out / GENERATED_MANIFEST).unlink(missing_ok=True)
    dt_dirs = [out / f"dt={first_date + timedelta(days=d)}" for d in range(days)]
    for d in dt_dirs:
        d.mkdir(parents=True, exist_ok=True)

    rows: dict[str, int] = {}
    rejects: list[BadRow] = []
    files = late = 0
    with _Writer() as writer:
        for name in DATASET_ORDER:
            table = tables[name]
            written, n_files, bad = _write_dataset(table, dt_dirs, first_date, plan, writer)
            rows[name] = int(written)
            files += n_files
            late += int(table.late.sum())
            rejects.extend(bad)
            log.info(
                "generate: dataset=%s rows=%d files=%d malformed=%d",
                name,
                written,
                n_files,
                sum(1 for b in bad if not b.kind.endswith("_original")),
            )
            say(f"wrote {name}: {written:,} rows in {n_files} files")
        for d in dt_dirs:
            writer.write(d / "_SUCCESS", b"")
    _write_manifest(out, writer.written)

    malformed = sum(1 for b in rejects if not b.kind.endswith("_original"))
    result = GenerateResult(
        out=out,
        first_date=first_date,
        end_date=end_date,
        sellers=sellers,
        seed=seed,
        rows=rows,
        files=files,
        malformed=malformed,
        rejects=tuple(sorted(rejects, key=lambda b: (b.dt, b.dataset, b.line))),
        late=late,
        orders=world.n_orders,
    )
    log.info(
        "generate: out=%s days=%d sellers=%d orders=%d rows=%d malformed=%d late=%d",
        out,
        days,
        sellers,
        world.n_orders,
        sum(rows.values()),
        malformed,
        late,
    )
    return result
