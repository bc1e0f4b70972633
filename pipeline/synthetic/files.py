"""Writing the landing zone: files, the manifest of what a generate wrote, clearing it."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.errors import CxnError
from pipeline.schema import DATASETS
from pipeline.synthetic.defects import BadRow, _Bad, _corrupt
from pipeline.synthetic.vocabulary import CHUNK_ROWS
from pipeline.synthetic.world_state import _Table

log = logging.getLogger(__name__)


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
