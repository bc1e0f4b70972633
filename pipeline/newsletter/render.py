"""Render each seller's weekly Customer Experience newsletter (SPEC §6) to HTML and PDF.

`render_week` reads the marts as of the week's Sunday from the published snapshot (the
analysts' read-only copy, `pipeline.models.snapshot`), builds one view model per seller
(`pipeline.newsletter.context.Newsletter`, every number already formatted: templates do no
arithmetic), renders
`reports/templates/newsletter.html.j2` with autoescaping, and prints it with WeasyPrint.
Rendering never opens the warehouse, so any number of render processes (Airflow's mapped
batches on several Celery workers) run beside each other and beside a build. It is a pure
function of the snapshot: a rerun writes the same files.

Safety: every value from the extracts is escaped by Jinja's autoescape, and the PDF
renderer's URL fetcher refuses everything except files inside the templates folder, so
a product name like `<img src="file:///etc/passwd">` is shown as text and fetches nothing.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import io
import json
import logging
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import duckdb
import jinja2

from pipeline.errors import CxnError, NotBuiltError
from pipeline.models.snapshot import open_snapshot, snapshot_has
from pipeline.newsletter.context import (
    SELLER_RATING_NOTE,
    Newsletter,
    defective_orders_csv_rows,
    email_summary,
    plural,
    seller_context,
)
from pipeline.paths import UnsafeNameError, child
from pipeline.progress import Step
from pipeline.settings import TEMPLATES_DIR, Settings
from pipeline.weeks import IsoWeek

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------
# The safe URL fetcher


class TemplatesOnlyFetcher:
    """A WeasyPrint URL fetcher that serves files inside the templates folder, nothing else.

    Remote URLs, `file:` URLs elsewhere and every other scheme are refused (WeasyPrint
    logs the refusal and renders without the resource). Refusals are kept for the log.
    """

    def __init__(self, root: Path = TEMPLATES_DIR) -> None:
        self.root = root.resolve()
        self.refused: list[str] = []
        self.fetched: list[str] = []
        from weasyprint.urls import URLFetcher

        self._inner = URLFetcher(allowed_protocols={"file"})
        self._fail_on_errors = False

    def __call__(self, url: str) -> Any:
        return self.fetch(url)

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> Any:
        parts = urlsplit(url)
        if parts.scheme == "file":
            path = Path(unquote(parts.path)).resolve()
            if path.is_relative_to(self.root) and path.is_file():
                self.fetched.append(url)
                return self._inner.fetch(url, headers)
        self.refused.append(url)
        raise ValueError(f"refused to fetch {url!r}: only files inside the templates folder")


# ---------------------------------------------------------------------------------------
# Rendering


def template_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(
            ["html", "html.j2", "xml"], default_for_string=True, default=False
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["plural"] = plural  # "79 defective orders", for the emails' counts
    env.globals["seller_rating_note"] = SELLER_RATING_NOTE
    return env


def render_html(
    view: Newsletter,
    env: jinja2.Environment | None = None,
    *,
    inline_css: bool = True,
    page_size: str = "A4",
) -> str:
    """The newsletter as HTML. With `inline_css` (the HTML file) the stylesheet is in a
    `<style>` element; without it (the copy `Printer` lays out) the printer brings it.
    `page_size` is the settings' paper size (`Settings.paper_size`, CXN_PAPER_SIZE)."""
    env = env or template_env()
    return env.get_template("newsletter.html.j2").render(
        **view.template_values(), inline_css=inline_css, page_size=page_size
    )


class Printer:
    """Lays out newsletters to PDF with the stylesheet and its fonts parsed once.

    WeasyPrint would otherwise parse the stylesheet and register the `@font-face` fonts for
    every document; a printer does it once for a batch of documents. Keep it no longer
    than the batch: its font configuration holds a temporary copy of the fonts, removed
    when the printer is collected (a process pool's workers never run exit handlers). The
    stylesheet's fonts come through `fetcher` (templates folder only); each document gets
    its own fetcher, so a refusal is logged with the document that caused it.
    """

    def __init__(self, page_size: str, fetcher: TemplatesOnlyFetcher | None = None) -> None:
        import weasyprint
        from weasyprint.text.fonts import FontConfiguration

        self.fetcher = fetcher or TemplatesOnlyFetcher()
        self.font_config = FontConfiguration()
        css = template_env().get_template("newsletter.css").render(page_size=page_size)
        self.stylesheet = weasyprint.CSS(
            string=css,
            base_url=str(TEMPLATES_DIR) + os.sep,
            url_fetcher=self.fetcher,
            font_config=self.font_config,
        )

    def pdf(self, html: str, fetcher: TemplatesOnlyFetcher | None = None) -> bytes:
        """`html` rendered with `inline_css=False`, as PDF bytes."""
        return render_pdf(
            html, fetcher, stylesheets=[self.stylesheet], font_config=self.font_config
        )


# A last page filled less than this is "near-empty" (a few lines of the closing section).
NEAR_EMPTY = 0.2
# The compact layout: "how computed" in two columns at 7.5 pt, the trend charts four to a
# row where that saves a row without leaving a chart alone (8 charts: two rows of four
# instead of three; the template marks such a grid `fit-four`), table rows and the space
# above headings a little tighter. One layout, tried once: trying lighter ones first
# laid 22 % of the documents out 2.3 more times on average, +53 % of all layout time.
# `!important` because a stylesheet given to WeasyPrint's render() comes before the
# document's own <style> in the cascade, so a plain rule loses to the newsletter's
# inline CSS of equal specificity.
COMPACT_CSS = (
    ".how { columns: 2; column-gap: 6mm; font-size: 7.5pt !important; }"
    " .how-item { break-inside: avoid; }"
    " .fit-four .trend-cell { width: 25% !important; }"
    " .fit-four svg.trend { width: 42mm !important; }"
    " th, td { padding-top: 1.2mm !important; padding-bottom: 1.2mm !important; }"
    " h2 { margin-top: 5mm !important; }"
)


def _last_page_fill(document: Any) -> float:
    """How far down the last page its text reaches, as a share of the page (1 page: 1)."""
    from weasyprint.formatting_structure import boxes

    if len(document.pages) < 2:
        return 1.0
    page = document.pages[-1]._page_box
    top = page.margin_top or 0
    bottom = top
    for area in page.children:
        if isinstance(area, boxes.MarginBox):
            continue
        for box in area.descendants():
            if isinstance(box, boxes.LineBox):
                bottom = max(bottom, box.position_y + box.height)
    return (bottom - top) / page.height if page.height else 1.0


def render_pdf(
    html: str,
    fetcher: TemplatesOnlyFetcher | None = None,
    *,
    stylesheets: list[Any] | None = None,
    font_config: Any = None,
) -> bytes:
    import weasyprint

    fetcher = fetcher or TemplatesOnlyFetcher()
    source = weasyprint.HTML(string=html, base_url=str(TEMPLATES_DIR) + os.sep, url_fetcher=fetcher)
    document = source.render(stylesheets=stylesheets, font_config=font_config)
    if _last_page_fill(document) < NEAR_EMPTY:
        # A last page with a few lines on it: lay out again compactly, and keep that when
        # it holds the document on fewer pages.
        compact = source.render(
            stylesheets=[*(stylesheets or []), weasyprint.CSS(string=COMPACT_CSS)],
            font_config=font_config,
        )
        if len(compact.pages) < len(document.pages):
            document = compact
    pdf = document.write_pdf()
    if fetcher.refused:
        log.warning(
            "refused %d resource(s) while printing: %s", len(fetcher.refused), fetcher.refused[:3]
        )
    assert pdf is not None
    return pdf


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a unique temporary file beside `path`, flush it to disk, rename it into place.

    Two writers of the same file (a CLI resend beside an Airflow batch) each rename their
    own complete file; readers see the old or a new file, never a mix.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


# A cell that starts with one of these is a formula to a spreadsheet (CSV injection):
# buyer comments are shown as text, so such cells get a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_bytes(rows: list[list[str]]) -> bytes:
    """UTF-8 CSV with a BOM (so spreadsheets read the accents), formulas neutralised."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["'" + v if v.startswith(_FORMULA_START) else v for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


@dataclass(frozen=True)
class Rendered:
    seller_id: str
    html_path: Path
    pdf_path: Path
    pdf_sha256: str


@dataclass(frozen=True)
class RenderResult:
    week: IsoWeek
    folder: Path
    newsletters: list[Rendered] = field(default_factory=list)
    # Sellers whose newsletter could not be written, with the reason.
    failed: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NewsletterFiles:
    html: Path
    pdf: Path
    defective_orders_csv: Path


def newsletter_files(folder: Path, seller_id: str) -> NewsletterFiles:
    """Where a seller's newsletter is written; the seller id is checked to name a file."""
    return NewsletterFiles(
        html=child(folder, f"{seller_id}.html"),
        pdf=child(folder, f"{seller_id}.pdf"),
        defective_orders_csv=child(folder, f"{seller_id}.defective-orders.csv"),
    )


def render_week(
    settings: Settings,
    week: IsoWeek,
    sellers: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
) -> RenderResult:
    """Render every (or the given) seller's newsletter for `week` into the out folder.

    Reads the published snapshot only. Side effects: writes
    `{out}/newsletters/{week}/{seller}.html|.pdf` and `manifest.json` (atomically, file by
    file). Idempotent: same snapshot, same files. Layout is CPU bound, so sellers are
    spread over `workers` processes (default: one per core; the weekly DAG passes 1 and
    lets Airflow run its batches side by side).
    """
    started = time.perf_counter()
    folder = settings.newsletter_dir(str(week))
    failed: dict[str, str] = {}
    targets = []
    for seller_id in week_sellers(settings, week, sellers):
        try:
            newsletter_files(folder, seller_id)
            targets.append(seller_id)
        except UnsafeNameError as exc:  # a warehouse loaded before the seller id rule
            failed[seller_id] = str(exc)
            log.error("not rendered seller=%r week=%s: %s", seller_id, week, exc)

    workers = workers or min(os.cpu_count() or 1, max(1, len(targets) // 8))
    results: list[tuple[Rendered, dict[str, Any]]] = []
    if workers <= 1:
        results = _render_batch(settings, week, targets, progress)
    else:
        # spawn, not fork: a forked child would inherit DuckDB's and WeasyPrint's state.
        ctx = multiprocessing.get_context("spawn")
        # Chunks of a few newsletters, so progress is reported as they finish (each
        # chunk pays a printer's set-up, about 0.1 s; the processes are started once).
        size = max(1, min(10, -(-len(targets) // (workers * 4))))
        batches = [targets[i : i + size] for i in range(0, len(targets), size)]
        with _main_not_rerun(), ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = [pool.submit(_render_batch, settings, week, b) for b in batches]
            for future in as_completed(futures):
                batch = future.result()
                results += batch
                if progress:
                    last = batch[-1][0].seller_id if batch else ""
                    progress(Step(len(results), len(targets), "render", f"rendered {last}"))
        results.sort(key=lambda r: r[0].seller_id)
    _merge_manifest(folder, week, [entry for _, entry in results])
    seconds = time.perf_counter() - started
    log.info(
        "rendered week=%s newsletters=%d failed=%d seconds=%.1f sellers_per_second=%.2f "
        "workers=%d folder=%s",
        week,
        len(results),
        len(failed),
        seconds,
        len(results) / seconds if seconds else 0.0,
        workers,
        folder,
    )
    return RenderResult(week, folder, [r for r, _ in results], failed)


@contextlib.contextmanager
def _main_not_rerun() -> Iterator[None]:
    """Keep spawned workers from re-running the parent's `__main__` script.

    A spawned process first re-imports the parent's main module. Under Airflow that is the
    `airflow` command, which cannot start inside a bare child (it fails on the metadata DB
    settings the task process hides), and the pool breaks. The workers need nothing from
    `__main__`: they import `pipeline.newsletter.render` by name. So while the pool starts its
    processes, `__main__` shows no file and no spec, which multiprocessing takes as
    "nothing to re-import".
    """
    main = sys.modules["__main__"]
    missing = object()
    saved = {k: main.__dict__.get(k, missing) for k in ("__file__", "__spec__")}
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is missing:
                main.__dict__.pop(key, None)
            else:
                main.__dict__[key] = value


def _render_batch(
    settings: Settings,
    week: IsoWeek,
    seller_ids: list[str],
    progress: Callable[[str], None] | None = None,
) -> list[tuple[Rendered, dict[str, Any]]]:
    """Render some sellers' newsletters on this process's own connection to the snapshot."""
    folder = settings.newsletter_dir(str(week))
    env = template_env()
    out: list[tuple[Rendered, dict[str, Any]]] = []
    printer = Printer(settings.paper_size)
    with open_snapshot(settings) as con:
        for i, seller_id in enumerate(seller_ids, 1):
            view = seller_context(con, seller_id, week)
            html = render_html(view, env, page_size=settings.paper_size)
            pdf = printer.pdf(render_html(view, env, inline_css=False))
            files = newsletter_files(folder, seller_id)
            html_path, pdf_path = files.html, files.pdf
            write_atomic(html_path, html.encode("utf-8"))
            write_atomic(pdf_path, pdf)
            sha = hashlib.sha256(pdf).hexdigest()
            csv_path: Path | None = None
            if view.odr.defective_total:
                # The document lists the first rows; the attachment has every one.
                csv_path = files.defective_orders_csv
                write_atomic(
                    csv_path, csv_bytes(defective_orders_csv_rows(con, seller_id, week.as_of))
                )
            else:
                files.defective_orders_csv.unlink(missing_ok=True)
            entry = {
                "seller_id": seller_id,
                "seller_name": view.seller.name,
                "marketplace": view.seller.marketplace,
                "account_status": view.account_status,
                "as_of_date": week.as_of.isoformat(),
                "html": html_path.name,
                "pdf": pdf_path.name,
                "pdf_sha256": sha,
                "defective_orders_csv": csv_path.name if csv_path else None,
                "defective_orders": view.odr.defective_total,
                "seller_rating": view.seller_rating,
                "feedback_rating": view.feedback_rating,
                "scorecard": email_summary(view),
            }
            out.append((Rendered(seller_id, html_path, pdf_path, sha), entry))
            if progress:
                progress(Step(i, len(seller_ids), "render", f"rendered {seller_id}"))
    return out


def seller_batches(
    sellers: list[str], *, per_batch: int = 50, max_batches: int = 1000
) -> list[list[str]]:
    """Split sellers into consecutive batches for Airflow's dynamic task mapping.

    A render task pays about 1.5 s before its first newsletter (a new process importing
    WeasyPrint) plus Airflow's own start-up; 50 newsletters (~20 s) keep that small while
    leaving dozens of batches to spread over the workers (docs/benchmarks.md).

    Batches hold `per_batch` sellers, or more when that would make more than
    `max_batches` of them (Airflow maps at most 1,024 tasks by default), so a marketplace
    of any size fits. Every seller is in exactly one batch, in the given order.
    """
    if not sellers:
        return []
    size = max(per_batch, -(-len(sellers) // max_batches))
    return [sellers[i : i + size] for i in range(0, len(sellers), size)]


def week_sellers(settings: Settings, week: IsoWeek, sellers: list[str] | None = None) -> list[str]:
    """The sellers with a scorecard as of the week's Sunday in the published snapshot (or
    the given subset, checked)."""
    with open_snapshot(settings) as con:
        if not snapshot_has(con, week.as_of):
            raise NotBuiltError(
                f"no metrics as of {week.as_of} (the Sunday of {week}) in the published "
                f"snapshot {settings.analytics_path}; run `cxn build --as-of {week.as_of}` "
                "(it publishes), or `cxn publish` if that build is done"
            )
        return known_sellers(con, week, sellers)


def known_sellers(
    con: duckdb.DuckDBPyConnection, week: IsoWeek, sellers: list[str] | None = None
) -> list[str]:
    """The sellers with a scorecard as of the week's Sunday, or the given ones, each checked
    to be one of them (a typo is an error, not an empty newsletter)."""
    known = [
        r[0]
        for r in con.execute(
            "select seller_id from marts.seller_scorecard where as_of_date = ? order by 1",
            [week.as_of],
        ).fetchall()
    ]
    if not sellers:
        return known
    unknown = sorted(set(sellers) - set(known))
    if unknown:
        if not known:
            raise CxnError(
                f"seller {unknown[0]} is not known as of {week.as_of}: nothing is built as of "
                f"that date; run `cxn build --as-of {week.as_of}` first"
            )
        shown = ", ".join(known[:3]) + (f" … {known[-1]}" if len(known) > 3 else "")
        raise CxnError(
            f"seller {unknown[0]} is not known as of {week.as_of}; the {len(known)} sellers "
            f"of {week} are {shown}"
        )
    return [s for s in known if s in set(sellers)]


def _merge_manifest(folder: Path, week: IsoWeek, entries: list[dict[str, Any]]) -> None:
    """Keep one manifest per week; rendering a subset of sellers updates their entries.

    Batches of sellers may render at the same time: an exclusive lock on a file beside
    the manifest makes each read-modify-write whole.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".manifest.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _merge_manifest_locked(folder, week, entries)


def _merge_manifest_locked(folder: Path, week: IsoWeek, entries: list[dict[str, Any]]) -> None:
    path = folder / "manifest.json"
    existing: dict[str, Any] = {}
    if path.is_file():
        existing = {e["seller_id"]: e for e in json.loads(path.read_text())["newsletters"]}
    for entry in entries:
        existing[entry["seller_id"]] = entry
    doc = {
        "week": str(week),
        "as_of_date": week.as_of.isoformat(),
        "newsletters": [existing[k] for k in sorted(existing)],
    }
    write_atomic(path, (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def read_manifest(settings: Settings, week: IsoWeek) -> list[dict[str, Any]]:
    path = settings.newsletter_dir(str(week)) / "manifest.json"
    if not path.is_file():
        raise NotBuiltError(
            f"no newsletters rendered for {week}; run `cxn render --week {week}` first"
        )
    return list(json.loads(path.read_text())["newsletters"])


def render_overview(settings: Settings, week: IsoWeek) -> tuple[Path, Path]:
    """Write the operator's overview of `week` (HTML and PDF) from the snapshot; the
    delivery results come from the warehouse when it can be read (they change after the
    snapshot is published), else from the snapshot's copy."""
    from pipeline.newsletter.overview import overview_context, overview_files
    from pipeline.warehouse import connect

    with open_snapshot(settings) as con:
        try:
            deliveries = connect(settings.warehouse, read_only=True)
        except CxnError:
            deliveries = None  # the pipeline holds the warehouse: the snapshot's copy
        try:
            view = overview_context(con, week, deliveries)
        finally:
            if deliveries is not None:
                deliveries.close()
    env = template_env()
    html = env.get_template("overview.html.j2").render(
        **view.template_values(), page_size=settings.paper_size
    )
    html_path, pdf_path = overview_files(settings, week)
    pdf = render_pdf(html)  # its stylesheet is inline, as in the HTML file
    write_atomic(html_path, html.encode("utf-8"))
    write_atomic(pdf_path, pdf)
    log.info("rendered the overview of week=%s to %s", week, pdf_path)
    return html_path, pdf_path
