"""A synthetic landing zone: a deterministic, realistic marketplace for demos, tests and benchmarks.

`generate()` writes `{out}/dt=YYYY-MM-DD/{dataset}.csv` for every day of a period, in the format
of SPEC §2, with the columns of `pipeline.schema`. The same arguments give byte-identical files.

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

import hashlib
import json
import logging
import os
import shutil
import unicodedata
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.errors import CxnError
from pipeline.schema import CLAIM_STATUSES, DATASET_ORDER, DATASETS, ORDER_STATUSES

log = logging.getLogger(__name__)

DAY = 86_400
HOUR = 3_600
MINUTE = 60
# "Has not happened (yet)": larger than any version time, so `event <= lu` is simply false.
NEVER = np.int64(2**62)
# A version's last_updated_at trails its change by up to this much; changes of one entity are
# at least MIN_GAP apart, so the lag never makes a version show the next change.
CDC_LAG = 90
MIN_GAP = 5 * MINUTE
LATE_SHARE = 0.005
# A file needs this many rows before it may carry a malformed row (1 bad row, or 2 rejected
# rows for a duplicate, stays <= 1 % of it).
MALFORMED_MIN_ROWS = 200
# Rows formatted at once; bounds memory (and keeps pyarrow string offsets 32-bit).
CHUNK_ROWS = 1_000_000

Progress = Callable[[str], None]


# --- reference data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Market:
    code: str
    currency: str
    fx: float  # price level relative to USD
    order_prefix: str  # first block of the order id; sorts US < UK < DE
    utc_offset: int  # hours, for the shape of the purchase time of day
    transit: tuple[int, int]  # promised days from ship date to delivery date
    carriers: tuple[str, ...]
    carrier_weights: tuple[float, ...]
    share: float


MARKETS = (
    _Market(code="US", currency="USD", fx=1.00, order_prefix="113", utc_offset=-5,
            transit=(3, 7), carriers=("UPS", "USPS", "FedEx", "DHL"),
            carrier_weights=(0.35, 0.35, 0.22, 0.08), share=0.5),
    _Market(code="UK", currency="GBP", fx=0.80, order_prefix="204", utc_offset=0,
            transit=(2, 4), carriers=("Royal Mail", "Hermes", "DPD", "DHL"),
            carrier_weights=(0.45, 0.25, 0.2, 0.1), share=0.25),
    _Market(code="DE", currency="EUR", fx=0.92, order_prefix="305", utc_offset=1,
            transit=(2, 5), carriers=("DHL", "Hermes", "DPD", "UPS"),
            carrier_weights=(0.5, 0.2, 0.2, 0.1), share=0.25),
)  # fmt: skip

CARRIERS = ("DHL", "DPD", "FedEx", "Hermes", "Royal Mail", "UPS", "USPS")
# Tracking number shape per carrier: prefix, digits, suffix.
_TRACKING_FORMAT = {
    "DHL": ("", 10, ""),
    "DPD": ("0", 13, ""),
    "FedEx": ("", 12, ""),
    "Hermes": ("H", 15, ""),
    "Royal Mail": ("RM", 9, "GB"),
    "UPS": ("1Z", 16, ""),
    "USPS": ("9400", 18, ""),
}

# name, SKU code, median item price in USD
PRODUCT_LINES = (
    ("Electronics", "ELE", 45.0),
    ("Home & Kitchen", "HOM", 28.0),
    ("Toys", "TOY", 22.0),
    ("Books", "BOK", 13.0),
    ("Beauty", "BEA", 17.0),
    ("Sports", "SPO", 32.0),
    ("Clothing", "CLO", 26.0),
    ("Garden", "GAR", 30.0),
    ("Pet Supplies", "PET", 19.0),
    ("Office", "OFF", 15.0),
)

PROFILES = (
    "healthy",
    "high_odr",
    "late_shipper",
    "seller_canceller",
    "poor_tracking",
    "slow_responder",
    "notice_heavy",
    "low_volume",
)
_PROBLEM_PROFILES = PROFILES[1:7]

# Shop names: first part, optional middle word, last part.
# fmt: off
_NAME_PARTS = {
    "US": (
        ("Blue Ridge", "Summit", "Prairie", "Harbor", "Maple Lane", "Cedar Point", "Golden Gate",
         "Lakeside", "Redwood", "Liberty", "Sunset", "Pioneer", "Evergreen", "Granite", "Bayou",
         "Copper Creek", "Hudson", "Desert Rose", "Lone Star", "Big Sky"),
        ("Goods", "Supply Co.", "Outfitters", "Trading", "Essentials", "Emporium", "Direct",
         "Market", "Gear", "Depot"),
    ),
    "UK": (
        ("Thistle & Oak", "Kingsbridge", "Albion", "Hawthorn", "Brighton", "Cotswold",
         "Penny Lane", "Highland", "Harrow", "Wren", "Bramble", "Tyneside", "Ashford", "Mersey",
         "Fenwick"),
        ("Ltd", "Trading Ltd", "& Sons", "Supplies", "Emporium", "Goods", "Direct"),
    ),
    "DE": (
        ("Müller", "Schäfer", "Nordlicht", "Alpenblick", "Rheinland", "Sonnenschein", "Grünwald",
         "Hafenstadt", "Bärenstark", "Elbufer", "Schwarzwald", "Löwenzahn"),
        ("Handel GmbH", "Versand", "Shop", "Warenhaus", "KG", "e.K.", "Direkt"),
    ),
}
# fmt: on
_NAME_MIDDLE = {
    "US": ("Home", "Tech", "Outdoor", "Kids", "Pet", "Kitchen", "Style", "Book"),
    "UK": ("Home", "Tech", "Garden", "Toy", "Pet", "Kitchen", "Style", "Book"),
    "DE": ("Haus", "Technik", "Garten", "Spielwaren", "Tier", "Küchen", "Mode", "Buch"),
}
# A few names that exercise CSV quoting and non-ASCII text.
_ODD_NAMES = {
    "US": ("Smith, Bell & Co.", 'The "Good Stuff" Store', "Café Crème Supplies"),
    "UK": ("Barker, Hughes & Daughters", "O'Malley's Curiosities", "Crème de la Crème Ltd"),
    "DE": ("Öko-Laden Köln", 'Weiß & Söhne "Qualität"', "Fröhlich, Maier & Partner"),
}
_EMAIL_LOCAL = ("orders", "info", "sales", "shop", "support", "hello", "accounts", "owner")

_CANCEL_REASONS = {
    "buyer": (
        "Buyer requested cancellation",
        "Ordered by mistake",
        "Found a better price",
        "Delivery estimate too long",
    ),
    "seller": ("Out of stock", "Out of stock, supplier delay", "Out of stock"),
    "marketplace": ("Payment not authorised", "Suspected fraud", "Address could not be verified"),
}
_REFUND_REASONS = (
    "Item not as described",
    "Damaged in transit",
    "Return received",
    "Late delivery",
    "Buyer remorse, item returned",
    "Partial refund: missing accessory",
    "Goodwill gesture",
)
_COMMENTS_NEGATIVE = (
    "Item arrived broken.",
    "Never arrived, and no reply from the seller.",
    "Not as described, cheap plastic.",
    'Box said "new" but it was clearly used',
    "Late, damaged, and missing parts",
    "Artikel kam beschädigt an – sehr enttäuscht.",
    "Produit non conforme, très déçu.",
    "Wrong size; the return label didn't work",
    "Stopped working after 3 days 😞",
)
_COMMENTS_NEUTRAL = (
    "OK, but took a while.",
    "Fine, packaging could be better",
    "Does the job.",
    "Naja, geht so.",
    "Average quality; 3/5",
)
_COMMENTS_POSITIVE = (
    "Great seller, fast shipping!",
    "Exactly as described. Would buy again.",
    "Perfect 👍",
    'Five stars — "just what I needed"',
    "Super schnell geliefert, danke!",
    "Très bien, merci !",
    "Lovely quality, arrived early",
    "A+++",
)
_NOTICE_SUBJECTS = {
    "listing_policy": (
        "Listing removed: SKU {sku} violates the listing policy",
        'Policy warning: prohibited keywords in the title of "{sku}"',
    ),
    "ip_complaint": (
        "Intellectual property complaint received for SKU {sku}",
        "Rights owner notice, trademark use in {sku}",
    ),
    "authenticity": (
        "Authenticity complaint: buyers report {sku} is not genuine",
        "Supply-chain documents requested for {sku}",
    ),
    "product_condition": (
        '"Used sold as new" complaints about SKU {sku}',
        "Product condition complaints, please review {sku}",
    ),
    "product_safety": (
        "Product safety report for {sku}: buyer reported overheating",
        "Safety documentation required for {sku}",
    ),
    "restricted_product": (
        "Restricted product: {sku} requires approval",
        "Listing of {sku} deactivated, restricted category",
    ),
    "performance": (
        "Your order defect rate is above target",
        "Late shipment rate above 4 %, action required",
        "Cancellation rate above target",
    ),
    "other": (
        "Tax settings: please review your VAT information",
        "Reminder: update your return address",
        "Account verification, please confirm your details",
    ),
}

# Feedback ratings: negative (1-2) and other (3-5) distributions.
_NEG_RATINGS, _NEG_P = np.array([1, 2]), np.array([0.6, 0.4])
_OTHER_RATINGS, _OTHER_P = np.array([3, 4, 5]), np.array([0.1, 0.25, 0.65])
# Final claim statuses (open -> one of these) and their shares.
_CLAIM_FINAL = tuple(s for s in CLAIM_STATUSES if s != "open")
_CLAIM_FINAL_P = (0.28, 0.25, 0.06, 0.15, 0.16, 0.10)
_ORDER_STATUS = ORDER_STATUSES
_INITIATORS = ("buyer", "seller", "marketplace")
# Purchase hour of day, local time: quiet nights, busy evenings.
# fmt: off
_HOUR_WEIGHTS = np.array([
    1.2, 0.7, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.4, 3.2, 3.6, 3.8,
    4.0, 4.0, 3.8, 3.7, 3.8, 4.2, 4.8, 5.4, 5.8, 5.2, 3.8, 2.2,
])
# fmt: on
_HOUR_WEIGHTS = _HOUR_WEIGHTS / _HOUR_WEIGHTS.sum()
# Monday..Sunday: weekends are visibly busier.
_WEEKDAY_FACTOR = np.array([1.02, 0.94, 0.92, 0.93, 0.99, 1.13, 1.21])
_WEEKDAY_FACTOR = _WEEKDAY_FACTOR / _WEEKDAY_FACTOR.mean()


# --- public API --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadRow:
    """A row the loader must reject: `line` is its 1-based record position after the header."""

    dataset: str
    dt: date
    line: int
    kind: str


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


def _shop_name(market: str, u: np.ndarray) -> str:
    """A shop name such as "Summit Kitchen Outfitters" or "Nordlicht Technik Versand"."""
    firsts, lasts = _NAME_PARTS[market]
    middles = _NAME_MIDDLE[market]
    middle = f" {middles[int(u[2] * len(middles))]}" if u[3] < 0.5 else ""
    return f"{firsts[int(u[0] * len(firsts))]}{middle} {lasts[int(u[1] * len(lasts))]}"


# --- formatting helpers ------------------------------------------------------------------------


def _quote(text: str) -> str:
    """RFC 4180: quote a field only when it holds a comma, a quote or a line break."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


# "00".."99" as ASCII pairs, and "HH:MM:SS" for every second of a day: formatting is then a
# few table look-ups per value instead of one division per digit.
_PAIRS = np.array([[48 + i // 10, 48 + i % 10] for i in range(100)], dtype=np.uint8)
_sod = np.arange(DAY)
_CLOCK = np.concatenate(
    [_PAIRS[_sod // HOUR], np.full((DAY, 1), ord(":"), np.uint8), _PAIRS[_sod // MINUTE % 60],
     np.full((DAY, 1), ord(":"), np.uint8), _PAIRS[_sod % 60]],
    axis=1,
)  # fmt: skip
del _sod


def _put_digits(buf: np.ndarray, start: int, values: np.ndarray, width: int) -> None:
    """Zero-padded decimal digits of non-negative values into columns [start, start+width)."""
    v = np.asarray(values, dtype=np.int64).copy()
    end = start + width
    while end - start >= 2:
        buf[:, end - 2 : end] = _PAIRS[v % 100]
        v //= 100
        end -= 2
    if end > start:
        buf[:, start] = 48 + v % 10


def _put_text(buf: np.ndarray, start: int, text: str) -> None:
    buf[:, start : start + len(text)] = np.frombuffer(text.encode("ascii"), dtype=np.uint8)


def _fixed(buf: np.ndarray) -> pa.Array:
    """A string array from an (n, width) uint8 matrix of ASCII, without a copy per string."""
    n, width = buf.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(buf))
    )


def _date_rows(days: np.ndarray) -> np.ndarray:
    """(n, 10) ASCII `YYYY-MM-DD` for days since 1970-01-01, via a table of the days in range."""
    lo = int(days.min()) if days.size else 0
    hi = int(days.max()) if days.size else 0
    if hi - lo > 100_000:  # a NEVER slipped through unmasked: fail loudly, not by eating RAM
        raise ValueError(f"date range too wide to format: {lo}..{hi}")
    table = np.frombuffer(
        "".join(
            (date(1970, 1, 1) + timedelta(days=d)).isoformat() for d in range(lo, hi + 1)
        ).encode(),
        dtype=np.uint8,
    ).reshape(-1, 10)
    return table[days - lo]


def _fmt_ts(seconds: np.ndarray) -> pa.Array:
    """Unix seconds -> `YYYY-MM-DDTHH:MM:SSZ`."""
    seconds = np.asarray(seconds, dtype=np.int64)
    buf = np.empty((seconds.size, 20), dtype=np.uint8)
    buf[:, 0:10] = _date_rows(seconds // DAY)
    buf[:, 10] = ord("T")
    buf[:, 11:19] = _CLOCK[seconds % DAY]
    buf[:, 19] = ord("Z")
    return _fixed(buf)


def _fmt_date(days_since_epoch: np.ndarray) -> pa.Array:
    return _fixed(_date_rows(np.asarray(days_since_epoch, dtype=np.int64)))


def _blank_unless(mask: np.ndarray, arr: pa.Array) -> pa.Array:
    """NULL (an empty field) where mask is false."""
    if mask.all():
        return arr
    return pc.if_else(pa.array(mask), arr, pa.scalar("", pa.string()))


def _id_rows(prefix: str, seq: np.ndarray, width: int) -> np.ndarray:
    """(n, len(prefix) + width) ASCII ids: prefix and zero-padded sequence number."""
    buf = np.empty((seq.size, len(prefix) + width), dtype=np.uint8)
    _put_text(buf, 0, prefix)
    _put_digits(buf, len(prefix), seq, width)
    return buf


def _fmt_ids(prefix: str, seq: np.ndarray, width: int) -> pa.Array:
    return _fixed(_id_rows(prefix, seq, width))


def _fmt_int(values: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64)).cast(pa.string())


def _fmt_cents(cents: np.ndarray) -> pa.Array:
    cents = np.asarray(cents, dtype=np.int64)
    frac = np.empty((cents.size, 2), dtype=np.uint8)
    _put_digits(frac, 0, np.abs(cents) % 100, 2)
    whole = _fmt_int(np.abs(cents) // 100)
    text = pc.binary_join_element_wise(whole, _fixed(frac), ".")
    if (cents < 0).any():
        text = pc.if_else(pa.array(cents < 0), pc.binary_join_element_wise("-", text, ""), text)
    return text


def _labels(codes: np.ndarray, labels: tuple[str, ...] | list[str]) -> pa.Array:
    """Codes into a label list (labels quoted here, once); a negative code is NULL."""
    table = pa.array([_quote(x) for x in labels] + [""], pa.string())
    codes = np.asarray(codes, dtype=np.int64)
    return table.take(pa.array(np.where(codes < 0, len(labels), codes)))


def _bools(mask: np.ndarray) -> pa.Array:
    return _labels(mask.astype(np.int64), ("false", "true"))


def _id_width(n: int) -> int:
    return max(7, len(str(max(n, 1))))


# --- the simulated world -----------------------------------------------------------------------


@dataclass
class _Table:
    """A dataset's versions: entity index, last_updated_at, folder, sort key, and a renderer."""

    name: str
    entity: np.ndarray
    lu: np.ndarray  # seconds since the first day's 00:00 UTC
    folder: np.ndarray  # day index of the dt folder
    late: np.ndarray
    render: Callable[[np.ndarray, np.ndarray], list[pa.Array]]


def _gap(rng: np.random.Generator, n: int, low: float, high: float) -> np.ndarray:
    return (low + rng.random(n) * (high - low)).astype(np.int64)


class _World:
    """All simulated entities, in relative seconds (0 = the first day's 00:00 UTC)."""

    def __init__(self, first_date: date, days: int, n_sellers: int, seed: int) -> None:
        self.first_date = first_date
        self.days = days
        self.n = n_sellers
        self.seed = seed
        self.epoch = (first_date - date(1970, 1, 1)).days * DAY
        self.end = days * DAY - 1
        self.n_orders = 0

    def rng(self, stream: int) -> np.random.Generator:
        # One independent stream per component: changing one part of the model leaves the
        # random draws of the others as they were.
        return np.random.default_rng([self.seed, stream])

    # .. calendar ..................................................................................

    def _calendar(self) -> tuple[np.ndarray, np.ndarray]:
        dates = [self.first_date + timedelta(days=d) for d in range(self.days)]
        weekday = np.array([d.weekday() for d in dates])
        doy = np.array([d.timetuple().tm_yday for d in dates], dtype=float)
        season = 1.0 + 0.08 * np.sin(2 * np.pi * (doy - 100) / 365.25)
        # Holiday peak centred on early December, plus Black Friday to Cyber Monday.
        season += 0.45 * np.exp(-0.5 * ((doy - 340) / 14) ** 2)
        for i, d in enumerate(dates):
            if d.month == 11:
                thanksgiving = 22 + (3 - date(d.year, 11, 1).weekday()) % 7
                if thanksgiving + 1 <= d.day <= thanksgiving + 4:
                    season[i] += 0.5
        return _WEEKDAY_FACTOR[weekday] * season, weekday

    # .. sellers ...................................................................................

    def _sellers(self) -> None:
        rng = self.rng(1)
        n, days = self.n, self.days
        market = rng.choice(len(MARKETS), size=n, p=[m.share for m in MARKETS])

        # Profiles: a few of each problem, one or two very-low-volume sellers, the rest healthy.
        k = max(1, round(n * 0.05))
        # One more high-ODR seller than the others: the defect metrics are the headline.
        wanted = [p for p in _PROBLEM_PROFILES for _ in range(k + (p == "high_odr"))]
        wanted += ["low_volume"] * max(1, round(n * 0.04))
        wanted = wanted[:n] + ["healthy"] * max(0, n - len(wanted))
        profile = np.array([PROFILES.index(p) for p in wanted])[rng.permutation(n)]
        # The first seller of each problem profile (by id) is its anchor: problem all along.
        anchor = np.zeros(n, dtype=bool)
        for p in range(1, len(PROFILES)):
            members = np.flatnonzero(profile == p)
            if members.size:
                anchor[members[0]] = True

        # Registration: most before the period; a few during it (not anchors).
        reg_day = -rng.integers(30, 2500, size=n)
        n_new = max(1, round(n * 0.04)) if n >= 5 and days >= 14 else 0
        if n_new:
            candidates = np.flatnonzero(~anchor)
            new = rng.choice(candidates, size=min(n_new, candidates.size), replace=False)
            reg_day[new] = rng.integers(1, max(2, days * 2 // 3), size=new.size)
        new_mask = reg_day > 0
        reg_t = np.where(
            new_mask,
            reg_day * DAY + _gap(rng, n, 6 * HOUR, 10 * HOUR),
            rng.integers(0, 10 * MINUTE, size=n),
        )
        # New sellers sell from the day after registration, so the sellers row leads.
        first_day = np.where(new_mask, reg_day + 1, 0)

        volume = np.clip(rng.lognormal(np.log(5.4), 0.8, size=n), 0.8, 80.0)
        volume = np.where(profile == PROFILES.index("low_volume"), rng.uniform(0.3, 0.8, n), volume)

        # Fulfilment mix: some all-MFN, some mostly AFN; MFN problems need MFN orders.
        mix = rng.random(n)
        afn = np.where(
            mix < 0.3,
            0.0,
            np.where(mix < 0.55, rng.uniform(0.7, 0.95, n), rng.uniform(0.2, 0.6, n)),
        )
        mfn_problem = np.isin(
            profile,
            [PROFILES.index(p) for p in ("late_shipper", "seller_canceller", "poor_tracking")],
        )
        afn = np.where(mfn_problem, rng.uniform(0.0, 0.25, n), afn)
        handling = rng.choice([1, 2, 3], size=n, p=[0.5, 0.35, 0.15])

        # Per-seller probabilities when healthy, calibrated so a healthy seller meets every
        # target of SPEC 3.3 (about 97 % perfect orders: buyer threads, refunds, buyer
        # cancellations and late shipments each stay around 1 % of orders) ...
        base = {
            "late_ship": rng.uniform(0.001, 0.008, n),
            "never_confirm": rng.uniform(0.0, 0.002, n),
            "cancel_buyer": rng.uniform(0.002, 0.006, n),
            "cancel_seller": rng.uniform(0.001, 0.008, n),
            "no_tracking": rng.uniform(0.001, 0.008, n),
            "no_scan": rng.uniform(0.003, 0.015, n),
            "late_delivery": rng.uniform(0.02, 0.07, n),
            "fb_other": rng.uniform(0.07, 0.12, n),
            "neg": rng.uniform(0.001, 0.004, n),
            "claim": rng.uniform(0.0003, 0.0015, n),
            "chargeback": rng.uniform(0.0002, 0.0008, n),
            "refund": rng.uniform(0.004, 0.01, n),
            "thread": rng.uniform(0.006, 0.015, n),
            "resp_median_h": rng.uniform(1.5, 6.0, n),
            "resp_sigma": np.full(n, 1.0),
            "no_reply": rng.uniform(0.002, 0.015, n),
            "notice_rate": rng.uniform(0.0005, 0.002, n),
        }
        base["neg"] = np.where(profile == PROFILES.index("low_volume"), 0.015, base["neg"])
        # ... and while a problem is active (severity 1.0 for anchors: a clear example).
        severity = np.where(anchor, 1.0, rng.random(n))

        def scale(low: float, high: float) -> np.ndarray:
            return low + severity * (high - low)

        problem = {key: value.copy() for key, value in base.items()}
        overrides = {
            "high_odr": {
                "neg": scale(0.008, 0.035),
                "claim": scale(0.004, 0.012),
                "chargeback": scale(0.002, 0.006),
                "refund": base["refund"] * 1.8,
            },
            "late_shipper": {
                "late_ship": scale(0.07, 0.2),
                "never_confirm": scale(0.01, 0.04),
                "late_delivery": scale(0.12, 0.25),
            },
            "seller_canceller": {"cancel_seller": scale(0.03, 0.1)},
            "poor_tracking": {"no_tracking": scale(0.03, 0.08), "no_scan": scale(0.04, 0.1)},
            "slow_responder": {
                "resp_median_h": scale(14.0, 30.0),
                "resp_sigma": np.full(n, 0.7),
                "no_reply": scale(0.08, 0.2),
            },
            "notice_heavy": {"notice_rate": scale(0.04, 0.08)},
        }
        for name, values in overrides.items():
            members = profile == PROFILES.index(name)
            for key, arr in values.items():
                problem[key] = np.where(members, arr, problem[key])

        # When the problem is active: anchors all along; others from the start or from a day in
        # the period, and some recover (statuses change over time; defect spikes appear).
        onset = np.where(rng.random(n) < 0.5, 0, (rng.uniform(0.15, 0.6, n) * days).astype(int))
        recover = np.where(rng.random(n) < 0.3, onset + rng.integers(20, 46, n), days + 1)
        onset = np.where(anchor, 0, onset)
        recover = np.where(anchor, days + 1, recover)
        is_problem = profile != PROFILES.index("healthy")
        onset = np.where(is_problem, onset, days + 1)

        names, emails, emails2 = self._seller_texts(rng, market)
        change_t = np.where(
            rng.random(n) < 0.08, reg_t + DAY + (rng.random(n) * days * DAY).astype(np.int64), NEVER
        )

        self.s_market, self.s_profile, self.s_anchor = market, profile, anchor
        self.s_reg_day, self.s_reg_t, self.s_first_day = reg_day, reg_t, first_day
        self.s_volume, self.s_afn, self.s_handling = volume, afn, handling
        self.s_base, self.s_problem, self.s_onset, self.s_recover = base, problem, onset, recover
        self.s_names, self.s_emails, self.s_emails2, self.s_change_t = (
            names,
            emails,
            emails2,
            change_t,
        )
        self.s_width = max(4, len(str(n)))
        self.s_ids = _id_rows("S", np.arange(1, n + 1), self.s_width)

    def _seller_texts(
        self, rng: np.random.Generator, market: np.ndarray
    ) -> tuple[list[str], list[str], list[str]]:
        names: list[str] = []
        seen: dict[str, int] = {}
        emails, emails2 = [], []
        draws = rng.random((market.size, 6))
        for i, m in enumerate(market):
            code = MARKETS[m].code
            u = draws[i]
            if u[0] < 0.08:
                name = _ODD_NAMES[code][int(u[1] * len(_ODD_NAMES[code]))]
            else:
                # A few tries for a name not taken yet, then a number.
                for _ in range(5):
                    name = _shop_name(code, rng.random(4))
                    if name not in seen:
                        break
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name = f"{name} {seen[name]}"
            names.append(name)
            ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
            slug = "-".join("".join(c if c.isalnum() else " " for c in ascii_name).lower().split())
            domain = f"{slug}.{code.lower()}.example"
            local = _EMAIL_LOCAL[int(u[3] * len(_EMAIL_LOCAL))]
            email = f"{local}@{domain}"
            if u[4] < 0.3:  # a second recipient
                email += f";owner@{domain}"
            emails.append(email)
            emails2.append(f"{_EMAIL_LOCAL[int(u[5] * len(_EMAIL_LOCAL))]}.new@{domain}")
        return names, emails, emails2

    # .. catalogue .................................................................................

    def _catalog(self) -> None:
        rng = self.rng(2)
        seller_parts, line_parts, num_parts = [], [], []
        for s in range(self.n):
            lines = rng.choice(len(PRODUCT_LINES), size=rng.integers(2, 5), replace=False)
            for line in np.sort(lines):
                k = int(rng.integers(5, 31))
                seller_parts.append(np.full(k, s))
                line_parts.append(np.full(k, line))
                num_parts.append(np.arange(1, k + 1))
        sku_seller = np.concatenate(seller_parts)
        sku_line = np.concatenate(line_parts)
        sku_num = np.concatenate(num_parts)
        m = sku_seller.size
        median = np.array([p[2] for p in PRODUCT_LINES])[sku_line]
        fx = np.array([mk.fx for mk in MARKETS])[self.s_market[sku_seller]]
        price = median * fx * rng.lognormal(0.0, 0.45, m)
        # Shop prices: mostly x.99, some x.49, a few round.
        ending = rng.choice([99, 49, 0], size=m, p=[0.7, 0.2, 0.1])
        cents = (
            np.maximum(np.floor(price), 1).astype(np.int64) * 100
            + ending
            - np.where(ending == 0, 0, 100)
        )
        cents = np.maximum(cents, 99)
        # Popularity: a few best sellers per seller (Zipf-like weights, shuffled).
        weight = 1.0 / (1.0 + rng.permutation(m) % 12) ** 0.9
        total = np.bincount(sku_seller, weights=weight, minlength=self.n)
        cum = np.cumsum(weight) - np.concatenate([[0.0], np.cumsum(total)[:-1]])[sku_seller]
        cum = sku_seller + cum / total[sku_seller]
        last = np.r_[sku_seller[1:] != sku_seller[:-1], True]
        cum[last] = sku_seller[last] + 1.0
        # Defect proneness per SKU: high-ODR sellers have one or two bad SKUs behind most of it.
        quality = rng.lognormal(0.0, 0.3, m)
        for seller in np.flatnonzero(self.s_profile == PROFILES.index("high_odr")):
            own = np.flatnonzero(sku_seller == seller)
            bad = own[np.argsort(-weight[own])[: 1 + int(rng.random() < 0.5)]]
            quality[bad] *= 5.0
        codes = [p[1] for p in PRODUCT_LINES]
        texts = [
            f"{codes[line]}-{s + 1:0{self.s_width}d}-{num:03d}"
            for s, line, num in zip(
                sku_seller.tolist(), sku_line.tolist(), sku_num.tolist(), strict=True
            )
        ]
        self.k_seller, self.k_line, self.k_cents, self.k_quality = (
            sku_seller,
            sku_line,
            cents,
            quality,
        )
        self.k_cum = cum
        # Fixed width (line code, seller number, item number): stored as ASCII rows.
        self.k_text = np.frombuffer("".join(texts).encode(), dtype=np.uint8).reshape(m, -1)
        self.k_texts = texts

    # .. orders ....................................................................................

    def _param(self, key: str, seller: np.ndarray, day: np.ndarray) -> np.ndarray:
        active = (day >= self.s_onset[seller]) & (day < self.s_recover[seller])
        return np.where(active, self.s_problem[key][seller], self.s_base[key][seller])

    def _orders(self) -> None:
        rng = self.rng(3)
        n, days = self.n, self.days
        factor, weekday = self._calendar()
        lam = self.s_volume[None, :] * factor[:, None]
        lam = np.where(np.arange(days)[:, None] >= self.s_first_day[None, :], lam, 0.0)
        counts = rng.poisson(lam).ravel()
        seller = np.repeat(np.tile(np.arange(n, dtype=np.int32), days), counts)
        day = np.repeat(np.repeat(np.arange(days, dtype=np.int32), n), counts)
        size = seller.size
        market = self.s_market[seller]
        offset = np.array([mk.utc_offset for mk in MARKETS])[market]
        hour = (rng.choice(24, size=size, p=_HOUR_WEIGHTS) - offset) % 24
        purchased = day.astype(np.int64) * DAY + hour * HOUR + rng.integers(0, HOUR, size)
        # Order ids increase with purchase time, as a marketplace's would.
        order = np.lexsort((seller, purchased))
        seller, day, market, purchased = seller[order], day[order], market[order], purchased[order]
        del order

        afn = rng.random(size) < self.s_afn[seller]
        mfn = ~afn
        sku = np.searchsorted(self.k_cum, seller + rng.random(size), side="right").astype(np.int32)
        r = rng.random(size)
        qty = (1 + (r > 0.75) + (r > 0.93)).astype(np.int8)
        # Promise dates: purchase + handling (1-3 days); + transit of the marketplace (2-7 days).
        lsd = day + self.s_handling[seller] + (rng.random(size) < 0.1)
        lo = np.array([mk.transit[0] for mk in MARKETS])[market]
        hi = np.array([mk.transit[1] for mk in MARKETS])[market]
        ldd = lsd + lo + np.floor(rng.random(size) * (hi - lo + 1)).astype(np.int64)

        # Payment: a quarter start `pending` and become `unshipped` minutes to hours later.
        pending = rng.random(size) < 0.25
        unshipped = np.where(
            pending,
            purchased
            + MIN_GAP
            + np.minimum(rng.exponential(40 * MINUTE, size), 4 * HOUR).astype(np.int64),
            purchased,
        )

        # Ship confirmation. MFN: a day up to the latest ship date (early days likelier); late
        # shippers miss it by 1-4 days, more often for weekend orders; a few never confirm.
        never = mfn & (rng.random(size) < self._param("never_confirm", seller, day))
        late_mult = np.where(weekday[day] >= 4, 1.6, 0.85)
        late = mfn & ~never & (rng.random(size) < self._param("late_ship", seller, day) * late_mult)
        span = lsd - day
        ship_day = day + np.floor((span + 1) * rng.random(size) ** 1.8).astype(np.int64)
        ship_day = np.where(late, lsd + rng.integers(1, 5, size), ship_day)
        ship = ship_day * DAY + _gap(rng, size, 9 * HOUR, 21 * HOUR)
        ship = np.maximum(ship, unshipped + 2 * MIN_GAP + rng.integers(0, 3 * HOUR, size))
        # AFN: the marketplace ships within hours.
        afn_ship = unshipped + 2 * MIN_GAP + rng.gamma(2.0, 5 * HOUR, size).astype(np.int64)
        ship = np.where(afn, afn_ship, ship)
        ship = np.where(never, NEVER, ship)

        # Cancellations, before shipping: buyers early, sellers (out of stock) later.
        p_buyer = self._param("cancel_buyer", seller, day)
        p_seller = np.where(mfn, self._param("cancel_seller", seller, day), 0.0)
        r = rng.random(size)
        initiator = np.full(size, -1, dtype=np.int8)
        initiator[r < p_buyer + p_seller + 0.0008] = 2
        initiator[r < p_buyer + p_seller] = 1
        initiator[r < p_buyer] = 0
        cancelled = initiator >= 0
        limit = np.where(ship < NEVER, ship, (lsd + 1) * DAY)
        shape = np.where(initiator == 1, rng.random(size) ** 0.5, rng.random(size) ** 2)
        cancel = unshipped + MIN_GAP + (shape * (limit - unshipped - 2 * MIN_GAP)).astype(np.int64)
        cancel = np.where(cancelled, cancel, NEVER)
        ship = np.where(cancelled, NEVER, ship)
        shipped = ship < NEVER

        # Tracking: some MFN shipments have no tracking id, some never get a carrier scan.
        no_tracking = shipped & mfn & (rng.random(size) < self._param("no_tracking", seller, day))
        no_scan = (
            shipped & mfn & ~no_tracking & (rng.random(size) < self._param("no_scan", seller, day))
        )
        scanned = shipped & ~no_tracking & ~no_scan
        # Some parcels are scanned before the seller confirms the shipment.
        early = scanned & mfn & (rng.random(size) < 0.15)
        room = np.clip(np.where(shipped, ship - unshipped, 0) - 3 * MIN_GAP, 0, 8 * HOUR)
        scan = np.where(
            early,
            ship - MIN_GAP - (rng.random(size) * room).astype(np.int64),
            ship + 2 * MIN_GAP + rng.gamma(2.0, 3 * HOUR, size).astype(np.int64),
        )
        scan = np.where(scanned, scan, NEVER)

        # Delivery (the true one; the marketplace only learns it through a scanned tracking).
        ship_d = np.where(shipped, ship // DAY, 0)
        late_delivery = mfn & (rng.random(size) < self._param("late_delivery", seller, day))
        first_ok = ship_d + 1
        last_ok = np.maximum(ldd, first_ok)
        del_day = first_ok + np.floor(rng.random(size) * (last_ok - first_ok + 1)).astype(np.int64)
        del_day = np.where(
            late_delivery, np.maximum(ldd + 1, first_ok) + rng.integers(0, 4, size), del_day
        )
        del_day = np.where(afn, ship_d + 1 + rng.integers(0, 3, size), del_day)
        delivered = del_day * DAY + _gap(rng, size, 9 * HOUR, 20 * HOUR)
        delivered = np.maximum(delivered, np.where(scanned, scan, ship) + 2 * HOUR)
        lost = rng.random(size) < 0.002
        delivered = np.where(shipped & ~lost, delivered, NEVER)
        delivered_known = np.where(scanned, delivered, NEVER)

        carrier_parts = np.empty(size, dtype=np.int8)
        for mi, mk in enumerate(MARKETS):
            mask = market == mi
            pick = rng.choice(len(mk.carriers), size=int(mask.sum()), p=mk.carrier_weights)
            carrier_parts[mask] = np.array([CARRIERS.index(c) for c in mk.carriers])[pick]
        tracking_seed = rng.integers(0, 10**18, size, dtype=np.int64)

        self.n_orders = size
        self.o_seller, self.o_day, self.o_market, self.o_purchased = seller, day, market, purchased
        self.o_afn, self.o_sku, self.o_qty = afn, sku, qty
        self.o_cents = self.k_cents[sku] * qty
        self.o_lsd, self.o_ldd = lsd, ldd
        self.o_pending, self.o_unshipped = pending, unshipped
        self.o_ship, self.o_cancel, self.o_initiator = ship, cancel, initiator
        self.o_scan, self.o_delivered, self.o_delivered_known = scan, delivered, delivered_known
        self.o_no_tracking, self.o_carrier, self.o_tracking_seed = (
            no_tracking,
            carrier_parts,
            tracking_seed,
        )
        self.o_late_ship = late
        self.o_late_delivery = mfn & (delivered < NEVER) & (delivered // DAY > ldd)
        # Order ids: "113-0000042-8371625": marketplace block, sequence, random block.
        self.o_width = _id_width(size)
        buf = np.empty((size, 3 + 1 + self.o_width + 1 + 7), dtype=np.uint8)
        prefix = np.array([[ord(c) for c in mk.order_prefix] for mk in MARKETS], dtype=np.uint8)
        buf[:, 0:3] = prefix[market]
        buf[:, 3] = buf[:, 4 + self.o_width] = ord("-")
        _put_digits(buf, 4, np.arange(size), self.o_width)
        _put_digits(buf, 5 + self.o_width, rng.integers(0, 10**7, size), 7)
        self.o_ids = buf
        # String order of the ids = (marketplace block, sequence).
        self.o_rank = market.astype(np.int64) * size + np.arange(size)

    # .. events after the order ....................................................................

    def _feedback(self) -> None:
        rng = self.rng(4)
        size = self.n_orders
        seller, day = self.o_seller, self.o_day
        cancelled = self.o_cancel < NEVER
        has_delivery = self.o_delivered < NEVER
        undelivered = ~cancelled & ~has_delivery
        p_neg = (
            self._param("neg", seller, day)
            * self.k_quality[self.o_sku]
            * np.where(self.o_late_delivery, 3.0, 1.0)
            * np.where(self.o_late_ship, 2.0, 1.0)
        )
        # An order that never arrives angers its buyer.
        p_neg = np.where(undelivered, 0.2, np.where(cancelled, 0.0, np.minimum(p_neg, 0.8)))
        negative = rng.random(size) < p_neg
        other = ~negative & has_delivery & (rng.random(size) < self._param("fb_other", seller, day))
        idx = np.flatnonzero(negative | other)
        neg = negative[idx]
        m = idx.size
        base = np.where(
            has_delivery[idx],
            self.o_delivered[idx],
            np.where(
                self.o_afn[idx], self.o_purchased[idx] + 10 * DAY, (self.o_ldd[idx] + 3) * DAY
            ),
        )
        left = base + 2 * DAY + (rng.beta(1.3, 3.5, m) * 38 * DAY).astype(np.int64)
        rating = np.where(
            neg, rng.choice(_NEG_RATINGS, m, p=_NEG_P), rng.choice(_OTHER_RATINGS, m, p=_OTHER_P)
        )
        # Buyers sometimes revise a rating (up after a resolution, or down); the marketplace
        # removes some negative feedback (e.g. about AFN delivery) days later.
        changed = rng.random(m) < 0.04
        change_t = np.where(changed, left + DAY + _gap(rng, m, 0, 14 * DAY), NEVER)
        up = np.where(rng.random(m) < 0.7, rng.choice([4, 5], m), 3)
        new_rating = np.where(rating <= 2, up, rng.choice([1, 2], m))
        removed = rng.random(m) < np.where(neg, 0.12, 0.01)
        removed_t = left + DAY + _gap(rng, m, 0, 29 * DAY)
        removed_t = np.where(changed, np.maximum(removed_t, change_t + DAY), removed_t)
        removed_t = np.where(removed, removed_t, NEVER)
        # Comments: about half, from a pool matching the first rating.
        pools = (_COMMENTS_NEGATIVE, _COMMENTS_NEUTRAL, _COMMENTS_POSITIVE)
        starts = np.cumsum([0] + [len(p) for p in pools])[:-1]
        kind = np.where(rating <= 2, 0, np.where(rating == 3, 1, 2))
        lengths = np.array([len(p) for p in pools])
        comment = starts[kind] + np.floor(rng.random(m) * lengths[kind]).astype(np.int64)
        comment = np.where(rng.random(m) < 0.45, comment, -1)
        self.f_order, self.f_left, self.f_rating = idx, left, rating
        self.f_change_t, self.f_new_rating, self.f_removed_t = change_t, new_rating, removed_t
        self.f_comment = comment
        self.f_comment_labels = [c for p in pools for c in p]

    def _claims_and_chargebacks(self) -> None:
        rng = self.rng(5)
        size = self.n_orders
        seller, day = self.o_seller, self.o_day
        cancelled = self.o_cancel < NEVER
        undelivered = ~cancelled & (self.o_delivered == NEVER)
        p_claim = (
            self._param("claim", seller, day)
            * self.k_quality[self.o_sku]
            * np.where(undelivered, 8.0, 1.0)
            * np.where(self.o_late_delivery, 2.0, 1.0)
        )
        idx = np.flatnonzero(~cancelled & (rng.random(size) < np.minimum(p_claim, 0.5)))
        m = idx.size
        filed = self.o_purchased[idx] + 5 * DAY + _gap(rng, m, 0, 55 * DAY)
        final = rng.choice(len(_CLAIM_FINAL), m, p=_CLAIM_FINAL_P)
        resolved = filed + 2 * DAY + _gap(rng, m, 0, 23 * DAY)
        # Some claims stay open for months.
        resolved += np.where(rng.random(m) < 0.08, _gap(rng, m, 30 * DAY, 90 * DAY), 0)
        order = np.argsort(filed, kind="stable")
        self.c_order, self.c_filed = idx[order], filed[order]
        self.c_final, self.c_resolved = final[order], resolved[order]

        p_cb = self._param("chargeback", seller, day)
        idx = np.flatnonzero(~cancelled & (rng.random(size) < p_cb))
        m = idx.size
        filed = self.o_purchased[idx] + 7 * DAY + _gap(rng, m, 0, 38 * DAY)
        kind = (rng.random(m) < 0.4).astype(np.int8)  # 0 service, 1 fraud
        upheld = rng.random(m) < 0.55
        resolved = filed + 10 * DAY + _gap(rng, m, 0, 35 * DAY)
        order = np.argsort(filed, kind="stable")
        self.b_order, self.b_filed, self.b_kind = idx[order], filed[order], kind[order]
        self.b_upheld, self.b_resolved = upheld[order], resolved[order]

    def _refunds(self) -> None:
        rng = self.rng(6)
        size = self.n_orders
        p = self._param("refund", self.o_seller, self.o_day)
        idx = np.flatnonzero((self.o_delivered < NEVER) & (rng.random(size) < p))
        m = idx.size
        value = self.o_cents[idx]
        at = self.o_delivered[idx] + HOUR + (rng.beta(1.2, 3.0, m) * 30 * DAY).astype(np.int64)
        full = rng.random(m) < 0.65
        amount = np.where(full, value, np.maximum(1, (value * rng.uniform(0.15, 0.85, m))))
        amount = amount.astype(np.int64)
        reason = np.where(rng.random(m) < 0.7, rng.integers(0, len(_REFUND_REASONS), m), -1)
        # A few partial refunds are followed by a second one, never beyond the order value.
        rest = value - amount
        second = (~full) & (rest > 0) & (rng.random(m) < 0.1)
        j = np.flatnonzero(second)
        amount2 = np.maximum(1, (rest[j] * rng.uniform(0.2, 1.0, j.size)).astype(np.int64))
        at2 = at[j] + DAY + _gap(rng, j.size, 0, 14 * DAY)
        order_idx = np.concatenate([idx, idx[j]])
        at_all = np.concatenate([at, at2])
        amount_all = np.concatenate([amount, amount2])
        reason_all = np.concatenate([reason, np.full(j.size, 5)])
        order = np.argsort(at_all, kind="stable")
        self.r_order, self.r_at = order_idx[order], at_all[order]
        self.r_amount, self.r_reason = amount_all[order], reason_all[order]

    def _messages(self) -> None:
        rng = self.rng(7)
        n, days, size = self.n, self.days, self.n_orders
        # Threads about an order, starting minutes to weeks after the purchase ...
        with_order = np.flatnonzero(
            rng.random(size) < self._param("thread", self.o_seller, self.o_day)
        )
        start_o = (
            self.o_purchased[with_order]
            + 2 * MIN_GAP
            + np.minimum(rng.exponential(3 * DAY, with_order.size), 30 * DAY).astype(np.int64)
        )
        # ... and general questions without an order.
        lam = (0.03 * self.s_volume + 0.05)[None, :] * np.ones((days, 1))
        lam = np.where(np.arange(days)[:, None] >= self.s_first_day[None, :], lam, 0.0)
        counts = rng.poisson(lam).ravel()
        free_seller = np.repeat(np.tile(np.arange(n), days), counts)
        free_day = np.repeat(np.repeat(np.arange(days, dtype=np.int64), n), counts)
        start_f = free_day * DAY + rng.integers(0, DAY, free_seller.size)

        t_seller = np.concatenate([self.o_seller[with_order], free_seller]).astype(np.int32)
        t_order = np.concatenate([with_order, np.full(free_seller.size, -1)])
        t_start = np.concatenate([start_o, start_f])
        order = np.lexsort((t_order, t_seller, t_start))
        t_seller, t_order, t_start = t_seller[order], t_order[order], t_start[order]
        n_threads = t_start.size

        msgs = rng.choice([1, 2, 3], n_threads, p=[0.6, 0.28, 0.12])
        thread = np.repeat(np.arange(n_threads), msgs)
        first = np.cumsum(msgs) - msgs  # each thread's first message (none: empty)
        pos = np.arange(thread.size) - np.repeat(first, msgs)
        gap = np.where(pos == 0, 0, _gap(rng, thread.size, 2 * HOUR, 72 * HOUR))
        # Running sum of gaps within the thread.
        csum = np.cumsum(gap)
        received = t_start[thread] + csum - np.repeat(csum[first], msgs)
        m = received.size
        seller = t_seller[thread]
        rday = np.minimum(received // DAY, days - 1)
        no_response = rng.random(m) < np.where(pos == 0, 0.06, 0.3)
        median = self._param("resp_median_h", seller, rday)
        sigma = self._param("resp_sigma", seller, rday)
        delay = np.maximum(MIN_GAP, median * HOUR * rng.lognormal(0.0, sigma)).astype(np.int64)
        never = rng.random(m) < self._param("no_reply", seller, rday)
        answered = np.where(no_response, rng.random(m) < 0.1, ~never)
        response = np.where(answered, received + delay, NEVER)
        order = np.lexsort((thread, received))
        self.m_thread, self.m_received = thread[order], received[order]
        self.m_seller, self.m_order = seller[order], t_order[thread][order]
        self.m_no_response, self.m_response = no_response[order], response[order]
        self.m_threads = n_threads

    def _notices(self) -> None:
        rng = self.rng(8)
        n, days = self.n, self.days
        day_idx = np.arange(days)[:, None]
        active = (day_idx >= self.s_onset[None, :]) & (day_idx < self.s_recover[None, :])
        rate = np.where(
            active, self.s_problem["notice_rate"][None, :], self.s_base["notice_rate"][None, :]
        )
        rate = np.where(day_idx >= self.s_first_day[None, :], rate, 0.0)
        counts = rng.poisson(rate).ravel()
        seller = np.repeat(np.tile(np.arange(n), days), counts)
        day = np.repeat(np.repeat(np.arange(days, dtype=np.int64), n), counts)
        m = seller.size
        issued = day * DAY + _gap(rng, m, 6 * HOUR, 22 * HOUR)
        heavy = self.s_profile[seller] == PROFILES.index("notice_heavy")
        categories = list(_NOTICE_SUBJECTS)
        cat_p = np.array([0.12, 0.1, 0.08, 0.1, 0.08, 0.08, 0.3, 0.14])
        category = np.where(
            heavy, rng.integers(0, len(categories), m), rng.choice(len(categories), m, p=cat_p)
        )
        severity = np.where(
            heavy,
            rng.choice(4, m, p=[0.2, 0.35, 0.27, 0.18]),
            rng.choice(4, m, p=[0.4, 0.35, 0.2, 0.05]),
        )
        unread = rng.random(m) < np.where(heavy, 0.35, 0.12)
        read = (
            issued
            + 2 * MIN_GAP
            + np.minimum(rng.lognormal(np.log(10 * HOUR), 1.5, m), 20 * DAY).astype(np.int64)
        )
        read = np.where(unread, NEVER, read)
        resolved = np.where(
            ~unread & (rng.random(m) < np.where(heavy, 0.4, 0.6)),
            read + HOUR + _gap(rng, m, 0, 20 * DAY),
            NEVER,
        )
        pick = rng.random((m, 2))
        subjects = []
        for i in range(m):  # a few per seller per quarter: a Python loop is fine here
            texts = _NOTICE_SUBJECTS[categories[category[i]]]
            s = int(seller[i])
            own = np.searchsorted(self.k_seller, [s, s + 1])
            sku = self.k_texts[own[0] + int(pick[i, 1] * (own[1] - own[0]))]
            subjects.append(_quote(texts[int(pick[i, 0] * len(texts))].format(sku=sku)))
        order = np.lexsort((seller, issued))
        self.n_seller, self.n_issued = seller[order], issued[order]
        self.n_category, self.n_severity = category[order], severity[order]
        self.n_read, self.n_resolved = read[order], resolved[order]
        self.n_subject = pa.array(subjects, pa.string()).take(pa.array(order))

    # .. versions and rendering ....................................................................

    def _table(
        self,
        name: str,
        rng: np.random.Generator,
        changes: list[tuple[np.ndarray, np.ndarray]],
        rank: np.ndarray,
        render: Callable[[np.ndarray, np.ndarray], list[pa.Array]],
        *,
        can_be_late: bool = True,
    ) -> _Table:
        """Versions from (entity, change time) lists: lag, cut at end_date, late share, sort."""
        entity = np.concatenate([e for e, _ in changes]).astype(np.int32)
        t = np.concatenate([c for _, c in changes]).astype(np.int64)
        keep = t <= self.end
        entity, t = entity[keep], t[keep]
        # A change in the last seconds of end_date is still extracted that day.
        lu = np.minimum(t + rng.integers(0, CDC_LAG + 1, t.size), self.end)
        del t
        day = lu // DAY
        late = np.zeros(lu.size, dtype=bool)
        if can_be_late:
            late = (rng.random(lu.size) < LATE_SHARE) & (day < self.days - 1)
        folder = np.where(late, np.minimum(day + rng.integers(1, 4, lu.size), self.days - 1), day)
        del day
        # Sort by (folder, last_updated_at, key). One int64 key sorts ~3x faster than lexsort;
        # (entity, last_updated_at) is unique, so no two rows tie.
        key_rank = rank[entity].astype(np.int64)
        bits_rank = max(1, int(key_rank.max(initial=0)).bit_length())
        bits_lu = max(1, int(self.end).bit_length())
        bits_folder = max(1, self.days.bit_length())
        if bits_rank + bits_lu + bits_folder <= 63:
            composite = (folder << (bits_lu + bits_rank)) | (lu << bits_rank) | key_rank
            order = np.argsort(composite)
            del composite
        else:
            order = np.lexsort((key_rank, lu, folder))
        del key_rank
        return _Table(
            name,
            entity[order],
            lu[order].astype(np.int32),
            folder[order].astype(np.int32),
            late[order],
            render,
        )

    def simulate(self, say: Progress) -> dict[str, _Table]:
        self._sellers()
        self._catalog()
        self._orders()
        say(f"simulated {self.n_orders:,} orders")
        self._feedback()
        self._claims_and_chargebacks()
        self._refunds()
        self._messages()
        self._notices()
        rng = self.rng(9)
        ts = self._ts

        # sellers: the first extract holds every seller registered by then; later ones appear on
        # their registration day; a changed email is a new version.
        s_all = np.arange(self.n)
        names = pa.array([_quote(x) for x in self.s_names], pa.string())
        emails = pa.array([_quote(x) for x in self.s_emails], pa.string())
        emails2 = pa.array([_quote(x) for x in self.s_emails2], pa.string())
        market_codes = [mk.code for mk in MARKETS]

        def sellers(e: np.ndarray, lu: np.ndarray) -> list[pa.Array]:
            changed = self.s_change_t[e] <= lu
            email = pc.if_else(
                pa.array(changed), emails2.take(pa.array(e)), emails.take(pa.array(e))
            )
            return [
                _fixed(self.s_ids[e]),
                names.take(pa.array(e)),
                email,
                _labels(self.s_market[e], market_codes),
                _fmt_date(self.epoch // DAY + self.s_reg_day[e]),
                ts(lu),
            ]

        def orders(e: np.ndarray, lu: np.ndarray) -> list[pa.Array]:
            status = np.select(
                [
                    self.o_cancel[e] <= lu,
                    self.o_delivered_known[e] <= lu,
                    self.o_ship[e] <= lu,
                    self.o_unshipped[e] <= lu,
                ],
                [4, 3, 2, 1],
                0,
            )
            afn = self.o_afn[e]
            # As in marketplace reports, a cancelled line shows quantity 0 and no price.
            live = status != 4
            return [
                _fixed(self.o_ids[e]),
                _fixed(self.s_ids[self.o_seller[e]]),
                ts(self.o_purchased[e]),
                ts(lu),
                _labels(status, _ORDER_STATUS),
                _labels(afn.astype(np.int64), ("MFN", "AFN")),
                _labels(self.k_line[self.o_sku[e]], [p[0] for p in PRODUCT_LINES]),
                _fixed(self.k_text[self.o_sku[e]]),
                _fmt_int(np.where(live, self.o_qty[e], 0)),
                _blank_unless(live, _fmt_cents(self.k_cents[self.o_sku[e]])),
                _blank_unless(live, _labels(self.o_market[e], [mk.currency for mk in MARKETS])),
                _blank_unless(~afn, _fmt_date(self.epoch // DAY + self.o_lsd[e])),
                _blank_unless(~afn, _fmt_date(self.epoch // DAY + self.o_ldd[e])),
            ]

        def shipments(e: np.ndarray, lu: np.ndarray) -> list[pa.Array]:
            scan_known = self.o_scan[e] <= lu
            delivered = self.o_delivered_known[e] <= lu
            return [
                _fixed(self.o_ids[e]),
                ts(self.o_ship[e]),
                _labels(self.o_carrier[e], CARRIERS),
                _blank_unless(~self.o_no_tracking[e], self._tracking(e)),
                _blank_unless(scan_known, ts(np.where(scan_known, self.o_scan[e], 0))),
                _blank_unless(delivered, ts(np.where(delivered, self.o_delivered_known[e], 0))),
                ts(lu),
            ]

        def cancellations(e: np.ndarray, lu: np.ndarray) -> list[pa.Array]:
            initiator = self.o_initiator[e]
            reasons = [r for who in _INITIATORS for r in _CANCEL_REASONS[who]]
            starts = np.cumsum([0] + [len(_CANCEL_REASONS[w]) for w in _INITIATORS])[:-1]
            lengths = np.array([len(_CANCEL_REASONS[w]) for w in _INITIATORS])
            # Reason picked from the order's random tracking seed: stable across versions.
            pick = self.o_tracking_seed[e] % 1000
            reason = starts[initiator] + pick % lengths[initiator]
            reason = np.where(pick < 120, -1, reason)  # the reason is optional
            return [
                _fixed(self.o_ids[e]),
                ts(self.o_cancel[e]),
                _labels(initiator, ("buyer", "seller", "marketplace")),
                _labels(reason, reasons),
                ts(lu),
            ]

        r_width = _id_width(self.r_order.size)

        def refunds(e: np.ndarray, lu: np.ndarray) -> list[pa.Array]:
            return [
                _fmt_ids("RF", e + 1, r_width),
                _fixed(self.o_ids[self.r_order[e]]),
                ts(self.r_at[e]),
                _fmt_cents(self.r_amount[e]),
                _labels(self.r_reason[e], _REFUND_REASONS),
                ts(lu),
            ]

        def feedback(e: np.ndarray, lu: np.ndarray) -> list[pa.Array]:
            rating = np.where(self.f_change_t[e] <= lu, self.f_new_rating[e], self.f_rating[e])
            return [
                _fixed(self.o_ids[self.f_order[e]]),
                ts(self.f_left[e]),
                _fmt_int(rating),
                _labels(self.f_comment[e], self.f_comment_labels),
                _bools(self.f_removed_t[e] <= lu),
                ts(lu),
            ]

        c_width = _id_width(self.c_order.size)

        def claims(e: np.ndarray, lu: np.ndarray) -> list[pa.Array]:
            status = np.where(self.c_resolved[e] <= lu, self.c_final[e] + 1, 0)
            return [
                _fmt_ids("AZ", e + 1, c_width),
                _fixed(self.o_ids[self.c_order[e]]),
                ts(self.c_filed[e]),
                _labels(status, ("open", *_CLAIM_FINAL)),
                ts(lu),
            ]

        b_width = _id_width(self.b_order.size)

        def chargebacks(e: np.ndarray, lu: np.ndarray) -> list[pa.Array]:
            status = np.where(self.b_resolved[e] <= lu, np.where(self.b_upheld[e], 1, 2), 0)
            return [
                _fmt_ids("CB", e + 1, b_width),
                _fixed(self.o_ids[self.b_order[e]]),
                ts(self.b_filed[e]),
                _labels(self.b_kind[e], ("service", "fraud")),
                _labels(status, ("open", "upheld", "reversed")),
                ts(lu),
            ]

        m_width = _id_width(self.m_received.size)
        t_width = _id_width(self.m_threads)

        def messages(e: np.ndarray, lu: np.ndarray) -> list[pa.Array]:
            answered = self.m_response[e] <= lu
            order = self.m_order[e]
            return [
                _fmt_ids("MSG", e + 1, m_width),
                _fmt_ids("THR", self.m_thread[e] + 1, t_width),
                _fixed(self.s_ids[self.m_seller[e]]),
                _blank_unless(order >= 0, _fixed(self.o_ids[np.maximum(order, 0)])),
                ts(self.m_received[e]),
                _blank_unless(answered, ts(np.where(answered, self.m_response[e], 0))),
                _bools(self.m_no_response[e]),
                ts(lu),
            ]

        n_width = _id_width(self.n_issued.size)

        def notices(e: np.ndarray, lu: np.ndarray) -> list[pa.Array]:
            read = self.n_read[e] <= lu
            resolved = self.n_resolved[e] <= lu
            return [
                _fmt_ids("NTC", e + 1, n_width),
                _fixed(self.s_ids[self.n_seller[e]]),
                ts(self.n_issued[e]),
                _labels(self.n_category[e], list(_NOTICE_SUBJECTS)),
                _labels(self.n_severity[e], ("low", "medium", "high", "critical")),
                self.n_subject.take(pa.array(e)),
                _blank_unless(read, ts(np.where(read, self.n_read[e], 0))),
                _blank_unless(resolved, ts(np.where(resolved, self.n_resolved[e], 0))),
                ts(lu),
            ]

        o_all = np.arange(self.n_orders)
        shipped = np.flatnonzero(self.o_ship < NEVER)
        later_scan = shipped[self.o_scan[shipped] > self.o_ship[shipped]]
        cancelled = np.flatnonzero(self.o_cancel < NEVER)
        pending = np.flatnonzero(self.o_pending)
        f_all = np.arange(self.f_order.size)
        c_all = np.arange(self.c_order.size)
        b_all = np.arange(self.b_order.size)
        m_all = np.arange(self.m_received.size)
        n_all = np.arange(self.n_issued.size)
        r_all = np.arange(self.r_order.size)
        tables = [
            self._table(
                "sellers",
                rng,
                [(s_all, self.s_reg_t), (s_all, self.s_change_t)],
                s_all,
                sellers,
                can_be_late=False,
            ),
            self._table(
                "orders",
                rng,
                [
                    (o_all, self.o_purchased),
                    (pending, self.o_unshipped[pending]),
                    (o_all, self.o_ship),
                    (o_all, self.o_delivered_known),
                    (cancelled, self.o_cancel[cancelled]),
                ],
                self.o_rank,
                orders,
            ),
            self._table(
                "shipments",
                rng,
                [
                    (shipped, self.o_ship[shipped]),
                    (later_scan, self.o_scan[later_scan]),
                    (shipped, self.o_delivered_known[shipped]),
                ],
                self.o_rank,
                shipments,
            ),
            self._table(
                "cancellations",
                rng,
                [(cancelled, self.o_cancel[cancelled])],
                self.o_rank,
                cancellations,
            ),
            self._table("refunds", rng, [(r_all, self.r_at)], r_all, refunds),
            self._table(
                "feedback",
                rng,
                [
                    (f_all, self.f_left),
                    (f_all, self.f_change_t),
                    (f_all, self.f_removed_t),
                ],
                self.o_rank[self.f_order],
                feedback,
            ),
            self._table(
                "claims", rng, [(c_all, self.c_filed), (c_all, self.c_resolved)], c_all, claims
            ),
            self._table(
                "chargebacks",
                rng,
                [(b_all, self.b_filed), (b_all, self.b_resolved)],
                b_all,
                chargebacks,
            ),
            self._table(
                "messages",
                rng,
                [(m_all, self.m_received), (m_all, self.m_response)],
                m_all,
                messages,
            ),
            self._table(
                "notices",
                rng,
                [
                    (n_all, self.n_issued),
                    (n_all, self.n_read),
                    (n_all, self.n_resolved),
                ],
                n_all,
                notices,
            ),
        ]
        return {t.name: t for t in tables}

    def _ts(self, relative: np.ndarray) -> pa.Array:
        return _fmt_ts(np.asarray(relative, dtype=np.int64) + self.epoch)

    def _tracking(self, e: np.ndarray) -> pa.Array:
        """Tracking numbers in each carrier's shape, derived from a per-order random seed."""
        carrier = self.o_carrier[e]
        seed = self.o_tracking_seed[e]
        parts, where = [], []
        for ci, name in enumerate(CARRIERS):
            sel = np.flatnonzero(carrier == ci)
            if not sel.size:
                continue
            prefix, width, suffix = _TRACKING_FORMAT[name]
            buf = np.empty((sel.size, len(prefix) + width + len(suffix)), dtype=np.uint8)
            if prefix:
                _put_text(buf, 0, prefix)
            # Up to 18 digits from the seed; longer numbers repeat its low digits.
            digits = seed[sel]
            if width > 18:
                _put_digits(buf, len(prefix), digits % 10 ** (width - 18), width - 18)
                _put_digits(buf, len(prefix) + width - 18, digits, 18)
            else:
                _put_digits(buf, len(prefix), digits % 10**width, width)
            if suffix:
                _put_text(buf, len(prefix) + width, suffix)
            parts.append(_fixed(buf))
            where.append(sel)
        if not parts:
            return pa.array([], pa.string())
        combined = pa.concat_arrays(parts)
        inverse = np.empty(e.size, dtype=np.int64)
        inverse[np.concatenate(where)] = np.arange(e.size)
        return combined.take(pa.array(inverse))


# --- malformed rows ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Defects:
    """How a dataset's rows can be broken on purpose."""

    event: str  # first event column: an impossible date, or a time after last_updated_at
    empty: str  # a required column to leave empty
    dup: str  # the column a duplicate (same key and last_updated_at) changes
    enum: tuple[str, str] | None = None  # column, value outside its enum
    range: tuple[str, str] | None = None  # column, value outside its range
    seller: str | None = None  # column to point at a seller that does not exist


_CORRUPT = {
    "orders": _Defects("purchased_at", "sku", "quantity", ("order_status", "shipped?"),
                       ("quantity", "-1"), "seller_id"),
    "shipments": _Defects("ship_confirmed_at", "carrier", "carrier"),
    "cancellations": _Defects("cancelled_at", "initiated_by", "initiated_by",
                              ("initiated_by", "carrier")),
    "refunds": _Defects("refunded_at", "order_id", "amount", range=("amount", "-5.00")),
    "feedback": _Defects("left_at", "removed", "rating", range=("rating", "7")),
    "claims": _Defects("filed_at", "order_id", "status", ("status", "escalated")),
    "chargebacks": _Defects("filed_at", "kind", "status", ("kind", "friendly_fraud")),
    "messages": _Defects("received_at", "thread_id", "no_response_needed", seller="seller_id"),
    "notices": _Defects("issued_at", "subject", "severity", ("severity", "urgent"),
                        seller="seller_id"),
}  # fmt: skip
_KINDS = (
    "bad_enum",
    "out_of_range",
    "impossible_date",
    "unknown_seller",
    "empty_required",
    "event_after_update",
    "duplicate_key",
)
_KIND_SPEC = {
    "bad_enum": "enum",
    "out_of_range": "range",
    "impossible_date": "event",
    "unknown_seller": "seller",
    "empty_required": "empty",
    "event_after_update": "event",
    "duplicate_key": "dup",
}


@dataclass(frozen=True)
class _Bad:
    kind: str
    row: int  # index of the source row in the file


def _plan_malformed(
    tables: dict[str, _Table], days: int, rng: np.random.Generator
) -> dict[tuple[str, int], _Bad]:
    """Pick files of >= 200 rows and one bad row each, cycling through the kinds."""
    sizes = {
        name: np.bincount(t.folder, minlength=days)
        for name, t in tables.items()
        if name in _CORRUPT
    }
    wanted = min(40, max(len(_KINDS), days // 15))
    plan: dict[tuple[str, int], _Bad] = {}
    for i in range(wanted):
        kind = _KINDS[i % len(_KINDS)]
        candidates = [
            (name, day)
            for name, spec in _CORRUPT.items()
            if getattr(spec, _KIND_SPEC[kind]) is not None
            for day in np.flatnonzero(sizes[name] >= MALFORMED_MIN_ROWS).tolist()
            if (name, day) not in plan
        ]
        if not candidates:
            continue
        name, day = candidates[int(rng.integers(0, len(candidates)))]
        plan[(name, day)] = _Bad(kind, int(rng.integers(0, sizes[name][day])))
    return plan


def _alternative(dataset: str, column: str, value: str) -> str:
    """A different valid value for a duplicate row."""
    enum = DATASETS[dataset].column(column).enum
    if enum:
        return enum[(enum.index(value) + 1) % len(enum)] if value in enum else enum[0]
    if value in ("true", "false"):
        return "false" if value == "true" else "true"
    if column == "amount":
        return f"{float(value) + 1:.2f}"
    if column in ("quantity", "rating"):
        return str(int(value) % 5 + 1)
    return "DHL" if value != "DHL" else "UPS"


def _corrupt(dataset: str, kind: str, row: dict[str, str]) -> dict[str, str]:
    spec = _CORRUPT[dataset]
    bad = dict(row)
    key = DATASETS[dataset].key[0]
    if kind != "duplicate_key":
        bad[key] = row[key] + "-X"  # a fresh record: only its own defect gets it rejected
    lu = datetime.strptime(row["last_updated_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    if kind == "bad_enum" and spec.enum:
        bad[spec.enum[0]] = spec.enum[1]
    elif kind == "out_of_range" and spec.range:
        bad[spec.range[0]] = spec.range[1]
    elif kind == "impossible_date":
        bad[spec.event] = f"{lu.year}-02-30T{lu:%H:%M:%S}Z"
    elif kind == "unknown_seller" and spec.seller:
        bad[spec.seller] = "S0000"  # ids start at S0001
    elif kind == "empty_required":
        bad[spec.empty] = ""
    elif kind == "event_after_update":
        bad[spec.event] = f"{lu + timedelta(hours=2):%Y-%m-%dT%H:%M:%SZ}"
    elif kind == "duplicate_key":
        bad[spec.dup] = _alternative(dataset, spec.dup, row[spec.dup])
    else:
        raise ValueError(f"{kind} does not apply to {dataset}")
    return bad


# --- writing -----------------------------------------------------------------------------------


class _Writer:
    """Writes files on one background thread, so disk I/O overlaps formatting the next chunk.

    What a file holds is fixed before it is queued, so the thread changes nothing in the output.
    """

    def __init__(self, max_pending: int = 8) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generate-writer")
        self._pending: deque[Future[None]] = deque()
        self._max_pending = max_pending  # bounds the memory held by queued files
        self.written: dict[Path, str] = {}  # every file written, with its SHA-256

    def write(self, path: Path, data: bytes) -> None:
        self._pending.append(self._pool.submit(self._write, path, data))
        while len(self._pending) > self._max_pending:
            self._pending.popleft().result()

    def _write(self, path: Path, data: bytes) -> None:
        _write_bytes(path, data)
        self.written[path] = hashlib.sha256(data).hexdigest()

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _write_bytes(path: Path, data: bytes | memoryview) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


# What `generate` wrote last in a folder: {"files": {"dt=.../orders.csv": sha256, ...}}.
GENERATED_MANIFEST = ".cxn-generated.json"


def _extract_files(out: Path) -> list[Path]:
    """Every file in the folder's `dt=*` day folders (extracts and markers)."""
    return sorted(p for p in out.glob("dt=*/*") if p.is_file() or p.is_symlink())


def _prepare(out: Path, *, force: bool) -> None:
    """Refuse a folder holding extracts (unless `force`) before anything is simulated."""
    if out.exists() and not out.is_dir():
        raise CxnError(f"{out} exists and is not a directory")
    existing = _extract_files(out) if out.is_dir() else []
    if existing and not force:
        days = len({p.parent for p in existing})
        raise CxnError(
            f"{out} already holds extracts ({days} day folder{'s' if days > 1 else ''}, "
            f"such as {existing[0].relative_to(out)}); generate never replaces extracts it "
            "did not write in this run: choose another --out, or add --force to replace them"
        )


def generated_here(out: Path) -> bool:
    """True when every extract under `out` is an untouched file of an earlier `generate`."""
    try:
        listed = json.loads((out / GENERATED_MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    for path in _extract_files(out):
        name = path.relative_to(out).as_posix()
        if path.is_symlink() or name not in listed:
            return False
        if hashlib.sha256(path.read_bytes()).hexdigest() != listed[name]:
            return False
    return True


def _write_manifest(out: Path, written: dict[Path, str]) -> None:
    files = {p.relative_to(out).as_posix(): digest for p, digest in sorted(written.items())}
    text = json.dumps({"files": files}, indent=0, sort_keys=True) + "\n"
    _write_bytes(out / GENERATED_MANIFEST, text.encode())


def _clear(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for stale in sorted(out.glob("dt=*")):
        if stale.is_dir():
            shutil.rmtree(stale)


def _write_dataset(
    table: _Table,
    dt_dirs: list[Path],
    first_date: date,
    plan: dict[tuple[str, int], _Bad],
    writer: _Writer,
) -> tuple[int, int, list[BadRow]]:
    """Format the table chunk by chunk and write one file per folder day."""
    columns = DATASETS[table.name].column_names
    header = (",".join(columns) + "\n").encode()
    days = len(dt_dirs)
    bounds = np.searchsorted(table.folder, np.arange(days + 1))
    written = files = 0
    bad_rows: list[BadRow] = []
    day = 0
    while day < days:
        # A chunk: whole days, about CHUNK_ROWS rows (at least one day).
        start = bounds[day]
        stop_day = day + 1
        while stop_day < days and bounds[stop_day + 1] - start <= CHUNK_ROWS:
            stop_day += 1
        stop = bounds[stop_day]
        if stop > start:
            cols = table.render(table.entity[start:stop], table.lu[start:stop])
            # One line per row: the fields joined by commas, the last one ending the line.
            cols[-1] = pc.binary_join_element_wise(cols[-1], "", "\n")
            lines = pc.binary_join_element_wise(*cols, ",")
            if isinstance(lines, pa.ChunkedArray):
                lines = lines.combine_chunks()
            offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[
                lines.offset : lines.offset + len(lines) + 1
            ]
            data = memoryview(lines.buffers()[2])
            for d in range(day, stop_day):
                a, b = bounds[d] - start, bounds[d + 1] - start
                if a == b:
                    continue
                path = dt_dirs[d] / f"{table.name}.csv"
                bad = plan.get((table.name, d))
                if bad is None:
                    writer.write(path, header + bytes(data[offsets[a] : offsets[b]]))
                    written += b - a
                else:
                    body, rows = _with_malformed(table.name, bad, cols, lines, a, b)
                    writer.write(path, header + body)
                    written += b - a + 1
                    dt = first_date + timedelta(days=d)
                    bad_rows.extend(BadRow(table.name, dt, line, kind) for line, kind in rows)
                files += 1
        day = stop_day
    return written, files, bad_rows


def _with_malformed(
    dataset: str, bad: _Bad, cols: list[pa.Array], lines: pa.Array, a: int, b: int
) -> tuple[bytes, list[tuple[int, str]]]:
    """A file's body with one malformed row inserted after its source row."""
    names = DATASETS[dataset].column_names
    text = lines.slice(a, b - a).to_pylist()
    i = bad.row
    row = {name: col[a + i].as_py() for name, col in zip(names, cols, strict=True)}
    row[names[-1]] = row[names[-1]].rstrip("\n")
    corrupted = _corrupt(dataset, bad.kind, row)
    text.insert(i + 1, ",".join(corrupted[name] for name in names) + "\n")
    rejected = [(i + 2, bad.kind)]
    if bad.kind == "duplicate_key":
        rejected.append((i + 1, "duplicate_key_original"))
    return "".join(text).encode(), rejected
