"""The DAGs as the Airflow 3 API server sees them: a real `airflow api-server` on a free
loopback port over the session's temporary AIRFLOW_HOME, the DAGs serialised into its
database the way the dag-processor does it, a JWT from the SimpleAuthManager's
`POST /auth/token`, then the public REST API: both DAGs listed, no import errors."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.smtp import free_port

pytestmark = pytest.mark.e2e

DAG_IDS = {"cx_daily", "cx_weekly_newsletter"}
USER, PASSWORD = "cxn-test", "cxn-test-password"
STARTUP_TIMEOUT = 180  # seconds; the API server imports all of Airflow and FastAPI


@dataclass
class ApiServer:
    url: str
    log: Path

    def request(
        self, method: str, path: str, token: str | None = None, body: dict | None = None
    ) -> tuple[int, dict]:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")


def _airflow(*args: str, env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"airflow {' '.join(args)}:\n{result.stderr[-3000:]}"


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the server's whole process group (uvicorn and its worker), then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):  # whatever is left of the group
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def api_server(airflow_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    tmp = tmp_path_factory.mktemp("api-server")
    passwords = tmp / "passwords.json"
    passwords.write_text(json.dumps({USER: PASSWORD}))
    env = {
        **os.environ,
        "AIRFLOW__CORE__AUTH_MANAGER": (
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": "cxn-test-jwt-secret-" + "x" * 32,
    }
    _airflow("db", "migrate", env=env)

    port = free_port()
    log = tmp / "api-server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "airflow", "api-server", "--host", "127.0.0.1"),
                *("--port", str(port), "--workers", "1", "--apps", "core"),
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so that _stop ends all of it
        )
    server = ApiServer(url=f"http://127.0.0.1:{port}", log=log)
    try:
        # The API server does not parse DAG files (the dag-processor does): serialise them
        # into the database meanwhile, import errors included, as one parsing pass would.
        _airflow("dags", "reserialize", env=env)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"api-server exited with {process.returncode}:\n{log.read_text()}")
            try:
                if server.request("GET", "/api/v2/monitor/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"api-server not healthy in {STARTUP_TIMEOUT}s:\n{log.read_text()}")
            time.sleep(0.5)
        yield server
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def token(api_server: ApiServer) -> str:
    status, body = api_server.request(
        "POST", "/auth/token", body={"username": USER, "password": PASSWORD}
    )
    assert status == 201, body
    return str(body["access_token"])


def test_rest_api_needs_a_token(api_server):
    assert api_server.request("GET", "/api/v2/dags")[0] == 401
    status, _ = api_server.request(
        "POST", "/auth/token", body={"username": USER, "password": "wrong"}
    )
    assert status == 401


def test_both_dags_listed_without_import_errors(api_server, token):
    status, body = api_server.request("GET", "/api/v2/importErrors", token)
    assert status == 200, body
    assert body["total_entries"] == 0, [e["stack_trace"] for e in body["import_errors"]]

    status, body = api_server.request("GET", "/api/v2/dags?limit=100", token)
    assert status == 200, body
    dags = {dag["dag_id"]: dag for dag in body["dags"]}
    assert set(dags) >= DAG_IDS, sorted(dags)
    for dag_id in DAG_IDS:
        assert not dags[dag_id]["is_stale"], dag_id
        assert dags[dag_id]["bundle_name"] == "dags-folder"
