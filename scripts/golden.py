"""Golden comparison: run `cxn demo` at a base revision and at the working tree, then
compare what users see: every mart row, the newsletters' HTML text and PDF text, the
emails' bodies, and a JSON export per seller.

    .venv/bin/python scripts/golden.py                 # against HEAD
    .venv/bin/python scripts/golden.py --base main~3 --ignore-metric unit_on_time_delivery_rate

A refactor must print "no differences"; a new metric is named with --ignore-metric, and
its rows, JSON fields and newsletter lines are then listed apart rather than as changes.
Exit status 1 when anything differs.
"""

from __future__ import annotations

import argparse
import difflib
import email
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from email.message import Message
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"


def run_demo(code: Path, data: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(code),
        "CXN_LANDING_DIR": str(data / "landing"),
        "CXN_WAREHOUSE": str(data / "warehouse.duckdb"),
        "CXN_OUT_DIR": str(data / "out"),
        "CXN_REFERENCE_DIR": str(code / "reference"),
    }
    env.pop("CXN_ANALYTICS_DB", None)
    subprocess.run(
        [str(PYTHON), "-m", "pipeline", "demo"], cwd=code, env=env, check=True, capture_output=True
    )


def columns(data: Path) -> dict[str, list[str]]:
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "select table_name, list(column_name order by column_index) from duckdb_columns() "
            "where schema_name = 'marts' group by 1"
        ).fetchall()
        return {t: c for t, c in rows}
    finally:
        con.close()


def marts(data: Path, ignore: set[str], only: dict[str, list[str]]) -> dict[str, set[tuple]]:
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "select distinct table_name from duckdb_columns() where schema_name = 'marts' "
                "and table_name not like '%\\_\\_rows' escape '\\' order by 1"
            ).fetchall()
        ]
        out = {}
        for name in names:
            cols = [r[0] for r in con.execute(f"describe marts.{name}").fetchall()]
            where = ""
            if "metric" in cols and ignore:
                listed = ", ".join(f"'{m}'" for m in ignore)
                where = f" where metric not in ({listed})"
            # The new metric's own columns (a scorecard's `<metric>`, `<metric>_status`).
            kept = [
                c
                for c in cols
                if not any(c.startswith(m) for m in ignore) and c in only.get(name, cols)
            ]
            listed_cols = ", ".join(f'"{c}"' for c in kept)
            rows = con.execute(f"select {listed_cols} from marts.{name}{where}").fetchall()
            out[name] = {tuple(zip(kept, r, strict=True)) for r in rows}
        return out
    finally:
        con.close()


def texts(data: Path) -> dict[str, str]:
    """Newsletter HTML and PDF text, email bodies, by a name stable across runs."""
    out: dict[str, str] = {}
    for html in sorted((data / "out" / "newsletters").rglob("*.html")):
        # Whitespace between tags is not content: compare one tag per line.
        text = " ".join(html.read_text(encoding="utf-8").split())
        out[f"html {html.name}"] = re.sub(r">\s*<", ">\n<", text)
    for pdf in sorted((data / "out" / "newsletters").rglob("*.pdf")):
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True
        ).stdout
        out[f"pdf {pdf.name}"] = text
    for eml in sorted((data / "out" / "outbox").rglob("*.eml")):
        msg: Message = email.message_from_bytes(eml.read_bytes())
        parts = [
            f"Subject: {msg['Subject']}",
            f"To: {msg['To']}",
        ]
        for part in msg.walk():
            if part.get_content_type() in ("text/plain", "text/html"):
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes):
                    parts.append(payload.decode(part.get_content_charset() or "utf-8"))
        out[f"email {eml.name}"] = "\n".join(parts)
    return out


def exports(code: Path, data: Path) -> dict[str, dict]:
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    sellers, as_of = con.execute(
        "select list(distinct seller_id order by seller_id), max(as_of_date) "
        "from marts.seller_scorecard"
    ).fetchall()[0]
    con.close()
    script = (
        "import json, sys\nfrom datetime import date\nfrom pipeline.export import export_report\n"
        "from pipeline.settings import Settings\n"
        f"s = Settings.from_env()\nout = {{}}\nfor seller in {sellers!r}:\n"
        f"    out[seller] = export_report(s, seller, date.fromisoformat({str(as_of)!r}))\n"
        "json.dump(out, sys.stdout, default=str)\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(code),
        "CXN_WAREHOUSE": str(data / "warehouse.duckdb"),
        "CXN_REFERENCE_DIR": str(code / "reference"),
    }
    result = subprocess.run(
        [str(PYTHON), "-c", script], cwd=code, env=env, capture_output=True, text=True
    )
    if result.returncode:
        return {"(export failed)": {"stderr": result.stderr[-2000:]}}
    return json.loads(result.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD", help="git revision to compare against")
    parser.add_argument(
        "--ignore-metric", action="append", default=[], help="a metric new in the working tree"
    )
    parser.add_argument("--keep", type=Path, help="keep both runs' data under this folder")
    parser.add_argument(
        "--compare-only", action="store_true", help="compare the runs kept by an earlier --keep"
    )
    args = parser.parse_args(argv)
    if args.compare_only and not args.keep:
        parser.error("--compare-only needs --keep FOLDER")
    ignore = set(args.ignore_metric)
    work = Path(args.keep or tempfile.mkdtemp(prefix="cxn-golden-"))
    base_code = work / "base-code"
    if args.compare_only:
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(base_code), args.base],
            cwd=ROOT,
            capture_output=True,
        )
        try:
            return compare(base_code, work, ignore, args)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base_code)], cwd=ROOT)
    if base_code.exists():
        subprocess.run(["git", "worktree", "remove", "--force", str(base_code)], cwd=ROOT)
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(base_code), args.base],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    try:
        sides = {"base": (base_code, work / "base"), "tree": (ROOT, work / "tree")}
        for code, data in sides.values():
            shutil.rmtree(data, ignore_errors=True)
            data.mkdir(parents=True)
            run_demo(code, data)
        return compare(base_code, work, ignore, args)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base_code)], cwd=ROOT)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def compare(base_code: Path, work: Path, ignore: set[str], args: argparse.Namespace) -> int:
    sides = {"base": (base_code, work / "base"), "tree": (ROOT, work / "tree")}
    if True:
        differences = 0
        old_cols, new_cols = (columns(d) for _, d in sides.values())
        common = {
            t: [c for c in new_cols[t] if c in old_cols[t]]
            for t in old_cols.keys() & new_cols.keys()
        }
        for table in sorted(new_cols):
            added = [c for c in new_cols[table] if c not in old_cols.get(table, [])]
            if added and table in old_cols:
                print(f"marts.{table}: new column(s) {', '.join(added)} (not compared)")
        old, new = (marts(d, ignore, common) for _, d in sides.values())
        for name in sorted(old.keys() | new.keys()):
            gone, added = (
                old.get(name, set()) - new.get(name, set()),
                new.get(name, set()) - old.get(name, set()),
            )
            if gone or added:
                differences += 1
                print(f"marts.{name}: {len(gone)} rows only in base, {len(added)} only in tree")
                for row in sorted(gone, key=repr)[:3]:
                    print(f"  - {dict(row)}")
                for row in sorted(added, key=repr)[:3]:
                    print(f"  + {dict(row)}")
        old_t, new_t = (texts(d) for _, d in sides.values())
        additions = 0
        for name in sorted(old_t.keys() | new_t.keys()):
            a, b = old_t.get(name, ""), new_t.get(name, "")
            if a != b:
                lines = list(difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=0))
                changed = [x for x in lines[2:] if not x.startswith("@@")]
                if ignore and all(any(m in x for m in _labels(ignore)) for x in changed):
                    additions += 1
                    continue
                if ignore and _only_added(a, b):
                    additions += 1  # the new metric's rows, charts and words, nothing removed
                    continue
                differences += 1
                print(f"{name}: differs")
                for line in changed[:12]:
                    print(f"  {line}")
        old_e, new_e = (exports(c, d) for c, d in sides.values())
        new_fields = _export_fields(ignore)
        for report in (*old_e.values(), *new_e.values()):
            for metrics in report.get("performanceMetrics", []):
                for name in new_fields:
                    metrics.pop(name, None)
        if old_e != new_e:
            for seller in sorted(old_e.keys() | new_e.keys()):
                a, b = old_e.get(seller), new_e.get(seller)
                if a != b:
                    differences += 1
                    da, db = (json.dumps(x, indent=1, sort_keys=True) for x in (a, b))
                    print(f"export {seller}: differs")
                    diff = difflib.unified_diff(da.splitlines(), db.splitlines(), lineterm="", n=0)
                    for line in list(diff)[2:14]:
                        print(f"  {line}")
        if additions:
            print(f"{additions} document(s) only gained lines (the new metric's)")
        print("no differences" if not differences else f"{differences} difference(s)")
        print(f"(runs kept in {work})" if args.keep else "")
        return 1 if differences else 0


def _only_added(a: str, b: str) -> bool:
    """Every line of `a` is still in `b` (as many times), whitespace aside; a PDF's text
    reflowed onto other pages compares equal, its page count and numbers aside."""
    from collections import Counter

    def lines(text: str) -> Counter[str]:
        return Counter(
            " ".join(x.split())
            for x in text.splitlines()
            if x.strip() and not x.strip().startswith("Page ")
        )

    return not (lines(a) - lines(b))


def _export_fields(codes: set[str]) -> list[str]:
    sys.path.insert(0, str(ROOT))
    from pipeline.models.registry import metric

    return [metric(c).export["field"] for c in codes if metric(c).export]


def _labels(codes: set[str]) -> list[str]:
    sys.path.insert(0, str(ROOT))
    from pipeline.models.registry import metric

    return [metric(c).label for c in codes] + list(codes)


if __name__ == "__main__":
    raise SystemExit(main())
