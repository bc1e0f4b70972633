"""Settings from `CXN_*` environment variables, with defaults that work out of the box.

Secrets (the SMTP password inside `CXN_SMTP_URL`) are read here and never logged:
`Settings.__repr__` masks them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = PROJECT_ROOT / "sql"
TEMPLATES_DIR = PROJECT_ROOT / "reports" / "templates"
REFERENCE_DIR = PROJECT_ROOT / "reference"


def _env_path(name: str, default: str) -> Path:
    return Path(os.environ.get(name) or default)


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        from pipeline.errors import CxnError

        raise CxnError(f"{name}={raw!r} is not a number") from None


def _paper_size(value: str) -> str:
    sizes = {"a4": "A4", "letter": "Letter"}
    if value.lower() not in sizes:
        from pipeline.errors import CxnError

        raise CxnError(f"CXN_PAPER_SIZE={value!r}: use A4 or Letter")
    return sizes[value.lower()]


def mask_url(url: str | None) -> str | None:
    """The URL with any password replaced by ***, for logs and error messages."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class Settings:
    landing_dir: Path = field(default_factory=lambda: Path("data/landing"))
    warehouse: Path = field(default_factory=lambda: Path("data/warehouse.duckdb"))
    out_dir: Path = field(default_factory=lambda: Path("data/out"))
    max_reject_rate: float = 0.05
    smtp_url: str | None = None
    mail_from: str = "Seller Performance <seller-performance@marketplace.example>"
    # Where the weekly marketplace overview goes (None: rendered, not emailed).
    operator_email: str | None = None
    reference_dir: Path = REFERENCE_DIR
    paper_size: str = "A4"  # or "Letter"
    # The analysts' read-only copy of the marts; None: `analytics.duckdb` beside the warehouse.
    analytics_db: Path | None = None

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from the environment; keyword overrides (CLI options) win when not None."""
        settings = cls(
            landing_dir=_env_path("CXN_LANDING_DIR", "data/landing"),
            warehouse=_env_path("CXN_WAREHOUSE", "data/warehouse.duckdb"),
            out_dir=_env_path("CXN_OUT_DIR", "data/out"),
            max_reject_rate=_env_float("CXN_MAX_REJECT_RATE", 0.05),
            smtp_url=os.environ.get("CXN_SMTP_URL") or None,
            mail_from=os.environ.get("CXN_MAIL_FROM") or cls.mail_from,
            operator_email=os.environ.get("CXN_OPERATOR_EMAIL") or None,
            reference_dir=_env_path("CXN_REFERENCE_DIR", str(REFERENCE_DIR)),
            paper_size=_paper_size(os.environ.get("CXN_PAPER_SIZE") or "A4"),
            analytics_db=Path(os.environ["CXN_ANALYTICS_DB"])
            if os.environ.get("CXN_ANALYTICS_DB")
            else None,
        )
        given = {k: v for k, v in overrides.items() if v is not None}
        if given:
            settings = replace(settings, **given)  # type: ignore[arg-type]
        return settings

    @property
    def analytics_path(self) -> Path:
        """Where analysts read the marts: a snapshot replaced atomically after each build."""
        return self.analytics_db or self.warehouse.with_name("analytics.duckdb")

    @property
    def outbox_dir(self) -> Path:
        return self.out_dir / "outbox"

    def newsletter_dir(self, week: str) -> Path:
        return self.out_dir / "newsletters" / week

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "smtp_url":
                value = mask_url(value)
            shown.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(shown)})"


# cx_daily's first day when neither CXN_START_DATE nor the landing zone says otherwise.
DEFAULT_START_DATE = date(2026, 1, 1)


def first_landing_day(landing: Path) -> date | None:
    """The earliest `dt=YYYY-MM-DD` folder of the landing zone (None: none, or no zone)."""
    try:
        names = [p.name for p in landing.iterdir() if p.is_dir() and p.name.startswith("dt=")]
    except OSError:
        return None
    days = []
    for name in names:
        try:
            days.append(date.fromisoformat(name[3:]))
        except ValueError:
            continue  # not a day folder; the loader names such folders when it meets them
    return min(days, default=None)


def daily_start_date(start_date: str | None, landing: Path) -> date:
    """cx_daily's first day: `CXN_START_DATE` when set, else the landing zone's first day
    (so `make airflow` after `make demo` runs the demo's days), else 2026-01-01."""
    if start_date:
        try:
            return date.fromisoformat(start_date)
        except ValueError:
            raise ValueError(
                f"CXN_START_DATE={start_date!r} is not a date like 2026-01-01"
            ) from None
    return first_landing_day(landing) or DEFAULT_START_DATE
