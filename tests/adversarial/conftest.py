"""Shared pieces of the adversarial suite: a small rendered week to attack, and the CLI."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipeline.settings import Settings
from pipeline.weeks import IsoWeek
from tests.extracts import order, seller, write_extract

WEEK = IsoWeek.parse("2026-W47")  # Monday 2026-11-16 .. Sunday 2026-11-22
SUNDAY = date(2026, 11, 22)
SELLERS = ("S1", "S2", "S3")


def settings_in(root: Path) -> Settings:
    return Settings(
        landing_dir=root / "landing", warehouse=root / "warehouse.duckdb", out_dir=root / "out"
    )


def small_marketplace(landing: Path, sellers: tuple[str, ...] = SELLERS) -> None:
    """Three sellers with three orders each, all in the Sunday's folder."""
    write_extract(landing, SUNDAY, "sellers", [seller(s) for s in sellers])
    write_extract(
        landing,
        SUNDAY,
        "orders",
        [order(f"O-{s}-{i}", "2026-11-20", seller_id=s) for s in sellers for i in range(3)],
    )


@pytest.fixture(scope="session")
def rendered_week_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Loaded, built and rendered once; tests attack copies of it."""
    from pipeline.ingest.load import load_day
    from pipeline.models.build import build
    from pipeline.models.snapshot import publish_snapshot
    from pipeline.newsletter.render import render_week

    root = tmp_path_factory.mktemp("rendered-week")
    settings = settings_in(root)
    small_marketplace(settings.landing_dir)
    load_day(settings, SUNDAY)
    build(settings, SUNDAY)
    publish_snapshot(settings)
    render_week(settings, WEEK)
    return root


@pytest.fixture
def rendered_week(rendered_week_template: Path, tmp_path: Path) -> Settings:
    """A private copy of the rendered week: warehouse, landing zone and output."""
    shutil.copytree(rendered_week_template, tmp_path / "week")
    return settings_in(tmp_path / "week")


@dataclass(frozen=True)
class CliRun:
    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], settings: Settings, *args: str) -> CliRun:
    """`cxn --landing … --warehouse … --out … ARGS` in this process."""
    from pipeline.cli import main

    capsys.readouterr()
    code = main(
        [
            "--landing",
            str(settings.landing_dir),
            "--warehouse",
            str(settings.warehouse),
            "--out",
            str(settings.out_dir),
            *args,
        ]
    )
    captured = capsys.readouterr()
    return CliRun(code, captured.out, captured.err)


def query(path: Path, sql: str, params: object = None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params).fetchall() if params else con.execute(sql).fetchall()
    finally:
        con.close()


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under `root` with its SHA-256, to show that nothing changed."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
