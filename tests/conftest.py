"""Shared fixtures. Airflow reads AIRFLOW_HOME when first imported, so the session's
temporary Airflow home is set here, before any test module imports Airflow."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

_airflow_home = Path(tempfile.mkdtemp(prefix="cxn-test-airflow-"))
atexit.register(shutil.rmtree, _airflow_home, ignore_errors=True)
os.environ["AIRFLOW_HOME"] = str(_airflow_home)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "false"
os.environ["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] = "false"
os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"


@pytest.fixture(autouse=True)
def _no_user_cxn_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own CXN_* variables must not leak into tests."""
    for name in list(os.environ):
        if name.startswith("CXN_"):
            monkeypatch.delenv(name)


# The default paths (Settings with nothing set), relative to where pytest runs.
_DEFAULT_DATA = (Path("data/warehouse.duckdb"), Path("data/landing"), Path("data/out"))


@pytest.fixture(autouse=True)
def _nothing_written_to_the_default_paths():
    """A test must point the pipeline at its own folder: a warehouse it left at the
    default path would make the next `make demo` refuse to run ("a warehouse the demo did
    not create")."""
    before = {p for p in _DEFAULT_DATA if p.exists()}
    yield
    created = [str(p) for p in _DEFAULT_DATA if p.exists() and p not in before]
    assert not created, f"the test wrote to the default path(s) {created}; pass its own"


@pytest.fixture
def settings(tmp_path: Path):
    from pipeline.settings import Settings

    return Settings(
        landing_dir=tmp_path / "landing",
        warehouse=tmp_path / "warehouse.duckdb",
        out_dir=tmp_path / "out",
    )


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    return _airflow_home
