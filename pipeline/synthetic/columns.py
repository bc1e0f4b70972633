"""Fast formatting of numpy columns into the extracts' text (dates, timestamps, ids, amounts)."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.synthetic.vocabulary import _NAME_MIDDLE, _NAME_PARTS, DAY, HOUR, MINUTE

log = logging.getLogger(__name__)


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
