"""docs/data_dictionary.md documents every mart and every column, and its example
queries run."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from tests.sql.test_metrics import warehouse  # noqa: F401  (the shared fixture)

DICTIONARY = Path(__file__).resolve().parents[2] / "docs" / "data_dictionary.md"


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## (marts\.\w+)\s*$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_every_mart_column_is_documented(warehouse):  # noqa: F811
    sections = _sections(DICTIONARY.read_text())
    con = duckdb.connect(str(warehouse.warehouse), read_only=True)
    columns = con.execute(
        "select table_name, column_name from duckdb_columns() where schema_name = 'marts'"
    ).fetchall()
    con.close()
    # A latest_as_of mart's rows table is documented in its mart's section.
    stored = {t: t.removesuffix("__rows") for t, _ in columns if t.endswith("__rows")}
    tables = {t for t, _ in columns} - stored.keys()
    assert tables == {name.removeprefix("marts.") for name in sections}
    for rows, mart in stored.items():
        assert f"`marts.{rows}`" in sections[f"marts.{mart}"]
    missing = [
        f"{t}.{c}" for t, c in columns if f"`{c}`" not in sections[f"marts.{stored.get(t, t)}"]
    ]
    assert not missing, f"undocumented columns: {missing}"


def test_example_queries_run_on_the_snapshot(warehouse):  # noqa: F811
    """Every example runs where analysts run it: the published snapshot."""
    from pipeline.models.snapshot import publish_snapshot

    queries = re.findall(r"```sql\n(.*?)```", DICTIONARY.read_text(), flags=re.S)
    assert len(queries) >= 7
    docs = DICTIONARY.parent
    for guide in sorted(docs.glob("*.md")):
        if guide != DICTIONARY:
            queries += re.findall(r"```sql\n(.*?)```", guide.read_text(), flags=re.S)
    readme = (docs.parent / "README.md").read_text()
    queries += re.findall(r"\.sql\(\s*'([^']*)'", readme)
    assert any("seller_changes" in q for q in queries) and any(
        "failing_metrics" in q for q in queries
    )
    snapshot = publish_snapshot(warehouse).path
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        for sql in queries:
            con.execute(sql).fetchall()
    finally:
        con.close()
