"""The eleven cases an attacker and a careless operator found (issue 9), one test each.

Each test drives the command line, as they did, and failed on the code before the fix.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import zlib
from decimal import Decimal

import pytest

from tests.adversarial.conftest import (
    SUNDAY,
    WEEK,
    query,
    run_cli,
    settings_in,
    small_marketplace,
    tree_digest,
)
from tests.extracts import feedback, order, seller, write_extract
from tests.smtp import smtp_server

DAY = str(SUNDAY)


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def more_sellers() -> list[dict]:
    """A marketplace's other sellers: one bad row among them stays under the 5 % limit."""
    return [seller(f"M{n:02d}") for n in range(30)]


def test_01_a_seller_id_cannot_write_outside_the_output_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CXN_MAX_REJECT_RATE", "1")  # the one bad seller is half of the file
    settings = settings_in(tmp_path / "run")
    small_marketplace(settings.landing_dir, ("S1",))
    evil = "../../../../x"  # four levels above out/newsletters/2026-W47/ is tmp_path
    rows = [seller("S1"), seller(evil, email="x@example.com")]
    write_extract(settings.landing_dir, SUNDAY, "sellers", rows)
    write_extract(
        settings.landing_dir,
        SUNDAY,
        "orders",
        [order("O-S1", "2026-11-20"), order("O-X", "2026-11-20", seller_id=evil)],
    )

    assert run_cli(capsys, settings, "load", "--date", DAY).code == 0
    assert run_cli(capsys, settings, "build", "--as-of", DAY).code == 0
    rendered = run_cli(capsys, settings, "render", "--week", str(WEEK))
    sent = run_cli(capsys, settings, "send", "--week", str(WEEK))

    assert not list(tmp_path.glob("x.*")), "a newsletter was written outside out/"
    reasons = [r[0] for r in query(settings.warehouse, "select reason from ops.rejected_rows")]
    assert "column seller_id: '../../../../x' is not a seller id" in reasons[0]
    assert (rendered.code, sent.code) == (0, 0), rendered.err + sent.err
    assert (settings.outbox_dir / "2026-W47_S1.eml").is_file()


def test_02_generate_does_not_delete_extracts_it_did_not_write(tmp_path, capsys):
    settings = settings_in(tmp_path)
    small_marketplace(settings.landing_dir)  # extracts generate did not write
    before = tree_digest(settings.landing_dir)

    # `cxn --out elsewhere generate …`: the global --out (the output folder, not the
    # landing zone), as the operator typed it; the landing zone is the demo's.
    run = run_cli(
        capsys,
        settings,
        "--out",
        str(tmp_path / "elsewhere"),
        "generate",
        "--sellers",
        "2",
        "--days",
        "2",
        "--end-date",
        DAY,
    )

    assert run.code == 1
    assert "already holds extracts" in one_line(run.err)
    assert tree_digest(settings.landing_dir) == before


def test_03_a_mistyped_warehouse_path_is_an_error_not_a_fresh_start(rendered_week, capsys):
    typo = rendered_week.warehouse.parent / "nonexistent" / "dir" / "w.duckdb"
    run = run_cli(capsys, rendered_week, "--warehouse", str(typo), "send", "--week", str(WEEK))
    assert run.code == 1
    line = one_line(run.err)
    assert str(typo) in line and "no warehouse there" in line
    assert not typo.parent.exists()
    assert not rendered_week.outbox_dir.exists() or not any(rendered_week.outbox_dir.iterdir())


def test_04_a_missing_pdf_fails_that_seller_only(rendered_week, capsys):
    (rendered_week.newsletter_dir(str(WEEK)) / "S2.pdf").unlink()
    run = run_cli(capsys, rendered_week, "send", "--week", str(WEEK))
    assert run.code == 1
    sent = sorted(p.name for p in rendered_week.outbox_dir.glob("*.eml"))
    assert sent == ["2026-W47_S1.eml", "2026-W47_S3.eml"]
    outbox = dict(
        query(rendered_week.warehouse, "select seller_id, status from ops.newsletter_outbox")
    )
    assert outbox == {"S1": "sent", "S2": "failed", "S3": "sent"}
    (error,) = query(
        rendered_week.warehouse,
        "select error from ops.newsletter_outbox where seller_id = 'S2'",
    )[0]
    assert error.endswith(
        "S2.pdf: rendered newsletter missing; run `cxn render --week 2026-W47 --seller S2` again"
    )


def test_05_an_invalid_address_is_rejected_at_load(tmp_path, capsys):
    settings = settings_in(tmp_path)
    write_extract(
        settings.landing_dir,
        SUNDAY,
        "sellers",
        [seller("S1"), seller("S2", email="bob@@bad..example"), *more_sellers()],
    )
    run = run_cli(capsys, settings, "load", "--date", DAY)
    assert run.code == 0, run.err
    assert (
        query(settings.warehouse, "select seller_id from raw.sellers where seller_id = 'S2'") == []
    )
    assert query(settings.warehouse, "select line, reason from ops.rejected_rows") == [
        (
            2,
            "column email: 'bob@@bad..example' is not an email address (local@domain, no "
            "spaces, a domain of two or more labels)",
        )
    ]


@pytest.mark.parametrize("value", ["-infinity", "epoch", "infinity", "now"])
def test_06_words_are_not_timestamps(tmp_path, capsys, value):
    settings = settings_in(tmp_path)
    write_extract(settings.landing_dir, SUNDAY, "sellers", [seller("S1")])
    orders = [order(f"O{n}", "2026-11-20") for n in range(30)]
    orders.append(order("BAD", "2026-11-20", purchased_at=value))
    write_extract(settings.landing_dir, SUNDAY, "orders", orders)
    assert run_cli(capsys, settings, "load", "--date", DAY).code == 0
    assert query(settings.warehouse, "select count(*) from raw.orders where order_id = 'BAD'") == [
        (0,)
    ]
    ((reason,),) = query(settings.warehouse, "select reason from ops.rejected_rows")
    assert reason == (
        f"column purchased_at: '{value}' is not an ISO 8601 timestamp with Z or a UTC offset"
    )


def test_07_a_one_megabyte_comment_loads(tmp_path, capsys):
    settings = settings_in(tmp_path)
    write_extract(settings.landing_dir, SUNDAY, "sellers", [seller("S1")])
    write_extract(settings.landing_dir, SUNDAY, "orders", [order("O1", "2026-11-20")])
    comment = "Très déçu, " + "x" * 1_000_000 + ' "quoted", end'
    write_extract(
        settings.landing_dir,
        SUNDAY,
        "feedback",
        [feedback("O1", "2026-11-21", 1, comment=comment)],
    )
    run = run_cli(capsys, settings, "load", "--date", DAY)
    assert run.code == 0, run.err
    assert query(settings.warehouse, "select comment from raw.feedback") == [(comment,)]


def test_08_a_corrupt_gzip_names_the_file(tmp_path, capsys):
    settings = settings_in(tmp_path)
    write_extract(settings.landing_dir, SUNDAY, "sellers", [seller("S1")])
    text = "order_id,seller_id\n" + "x" * 5000
    damaged = bytearray(gzip.compress(bytes(range(256)) * 40 + text.encode()))
    for i in range(20, 60):
        damaged[i] ^= 0x5A
    with pytest.raises(zlib.error):  # the damage is of the kind that was reported
        gzip.decompress(bytes(damaged))
    folder = settings.landing_dir / f"dt={DAY}"
    (folder / "orders.csv.gz").write_bytes(bytes(damaged))

    run = run_cli(capsys, settings, "load", "--date", DAY)
    assert run.code == 1
    assert one_line(run.err).startswith(
        f"cxn: error: dt={DAY}/orders.csv.gz: not a readable gzip file ("
    )
    assert query(settings.warehouse, "select count(*) from raw.sellers") == [(0,)]


def test_09_an_amount_keeps_every_decimal(tmp_path, capsys):
    settings = settings_in(tmp_path)
    write_extract(settings.landing_dir, SUNDAY, "sellers", [seller("S1")])
    write_extract(
        settings.landing_dir, SUNDAY, "orders", [order("O1", "2026-11-20", item_price="12.345")]
    )
    assert run_cli(capsys, settings, "load", "--date", DAY).code == 0
    ((price,),) = query(settings.warehouse, "select item_price from raw.orders")
    assert price == Decimal("12.345")
    assert query(settings.warehouse, "select count(*) from ops.rejected_rows") == [(0,)]


def test_10_credentials_against_a_server_without_auth_say_so(rendered_week, capsys, monkeypatch):
    with smtp_server() as inbox:
        monkeypatch.setenv("CXN_SMTP_URL", f"smtp://user:secret@{inbox.host}:{inbox.port}")
        run = run_cli(capsys, rendered_week, "send", "--week", str(WEEK))
    assert run.code == 1
    assert "does not offer AUTH" in run.err and "unreachable" not in run.err
    assert "secret" not in run.err + run.out
    errors = query(rendered_week.warehouse, "select error from ops.newsletter_outbox")
    assert errors and all("does not offer AUTH" in e for (e,) in errors)
    assert all("unreachable" not in e for (e,) in errors)
    assert inbox.messages == []


def test_11_a_locked_warehouse_names_the_holder_and_the_snapshot(rendered_week, capsys):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('open', flush=True); "
            "sys.stdin.read()",
            str(rendered_week.warehouse),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        run = run_cli(capsys, rendered_week, "load", "--date", DAY)
    finally:
        holder.communicate("", timeout=30)
    assert run.code == 1
    line = one_line(run.err)
    assert f"in use by another process (PID {holder.pid}," in line
    assert "analytics.duckdb" in line and "unexpected" not in line
    assert os.path.basename(str(rendered_week.warehouse)) in line


def test_the_reported_cases_are_all_here():
    names = [n for n in globals() if n.startswith("test_") and n[5:7].isdigit()]
    assert sorted(int(n[5:7]) for n in names) == list(range(1, 12))
