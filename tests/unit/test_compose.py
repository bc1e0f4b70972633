"""Static checks of docker-compose.yml and the Dockerfile (no Docker engine needed).

The compose file runs on another machine; these tests catch, before that, the mistakes that would
only show there: a service left out or started with the wrong command, a component that cannot
reach the DAGs, the execution API or the metadata DB, a `CXN_*` setting missing from one service,
a real secret pasted into the file, an image whose Airflow is not the locked one.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
LOCK_FILE = REPO / "requirements.lock"

REPO_MOUNT = "/opt/cxn"
MAIL_CATCHER = "mailpit"
APISERVER = "airflow-apiserver"
INIT = "airflow-init"

# service -> the airflow sub-command it runs
AIRFLOW_COMMANDS = {
    APISERVER: "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
}
AIRFLOW_SERVICES = [INIT, *AIRFLOW_COMMANDS]

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}
INTERPOLATION = re.compile(
    r"^\$\{(?P<var>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}$"
)
DEV_DEFAULT_MARK = "dev-only-insecure"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    # PyYAML's safe loader resolves the `<<: *anchor` merges, as Compose does.
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _env(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {key: "" if value is None else str(value) for key, value in raw.items()}


def _command(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return command if isinstance(command, str) else " ".join(str(part) for part in command)


def _volumes(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of each mount, from the short or the long syntax."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            mounts.append((str(volume.get("source", "")), str(volume["target"])))
        else:
            source, target = volume.split(":")[:2]
            mounts.append((source, target))
    return mounts


def _container_ports(service: dict[str, Any]) -> set[int]:
    ports = set()
    for port in [*service.get("ports", []), *service.get("expose", [])]:
        if isinstance(port, dict):
            ports.add(int(port["target"]))
        else:
            ports.add(int(str(port).split(":")[-1].split("/")[0]))
    return ports


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("depends_on", {})
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in raw.items()}


def _healthcheck_test(service: dict[str, Any]) -> str:
    test = service.get("healthcheck", {}).get("test", "")
    return test if isinstance(test, str) else " ".join(test)


def _interpolation(value: str) -> tuple[str, str | None, str | None]:
    """(variable, operator, default or message) of a value that is exactly one ${...}."""
    match = INTERPOLATION.match(value)
    assert match, f"{value!r} is not taken from the environment (expected ${{VAR:-default}})"
    return match["var"], match["op"], match["arg"]


def _init_script(services: dict[str, dict[str, Any]]) -> str:
    command = services[INIT]["command"]
    return command if isinstance(command, str) else "\n".join(str(part) for part in command)


# --- services and commands ----------------------------------------------------------------------


def test_required_services_exist(services: dict[str, dict[str, Any]]) -> None:
    required = {"postgres", MAIL_CATCHER, *AIRFLOW_SERVICES}
    assert required <= set(services), f"missing services: {sorted(required - set(services))}"


def test_no_airflow2_webserver(services: dict[str, dict[str, Any]]) -> None:
    # Airflow 3 removed `airflow webserver`; the api-server serves the UI and the APIs.
    assert not any("webserver" in _command(service).split() for service in services.values())


@pytest.mark.parametrize(("name", "subcommand"), sorted(AIRFLOW_COMMANDS.items()))
def test_airflow_service_runs_its_command(
    services: dict[str, dict[str, Any]], name: str, subcommand: str
) -> None:
    words = _command(services[name]).split()
    # The image's entrypoint accepts both `scheduler` and `airflow scheduler`.
    if words[:1] == ["airflow"]:
        words = words[1:]
    assert words == [subcommand]


# --- what every Airflow service shares ----------------------------------------------------------


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_service_uses_the_project_image(
    compose: dict[str, Any], services: dict[str, dict[str, Any]], name: str
) -> None:
    common = compose["x-airflow-common"]
    service = services[name]
    build = service.get("build")
    assert build == common["build"], f"{name} does not build the common image"
    context = build if isinstance(build, str) else build.get("context", ".")
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    assert (REPO / context / dockerfile).resolve() == DOCKERFILE
    assert service.get("image") == common.get("image")


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_service_mounts_the_repo_and_reads_its_dags(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    service = services[name]
    mounts = _volumes(service)
    repo_sources = [source for source, target in mounts if target == REPO_MOUNT]
    assert repo_sources, f"{name} does not mount the checkout at {REPO_MOUNT}"
    assert (REPO / repo_sources[0]).resolve() == REPO
    dags_folder = _env(service).get("AIRFLOW__CORE__DAGS_FOLDER")
    assert dags_folder == f"{REPO_MOUNT}/dags"
    assert (REPO / "dags").is_dir()


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_service_runs_the_local_executor(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    env = _env(services[name])
    assert env.get("AIRFLOW__CORE__EXECUTOR") == "LocalExecutor"
    assert env.get("AIRFLOW__CORE__LOAD_EXAMPLES", "").lower() == "false"


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_service_shares_the_common_environment(
    compose: dict[str, Any], services: dict[str, dict[str, Any]], name: str
) -> None:
    # One JWT secret, one Fernet key, one DB for all components: anything else fails at run time.
    common = _env(compose["x-airflow-common"])
    env = _env(services[name])
    differing = {key for key in common if env.get(key) != common[key]}
    assert not differing, f"{name} overrides or lacks {sorted(differing)}"


def test_metadata_db_is_the_postgres_service(services: dict[str, dict[str, Any]]) -> None:
    conn = _env(services[APISERVER])["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    match = re.match(
        r"^postgresql(\+psycopg2)?://([^:@]+):(\$\{[^}]*\})@([^:/]+)(:\d+)?/(\w+)$", conn
    )
    assert match, conn
    _, user, _, host, _, database = match.groups()
    postgres_env = _env(services["postgres"])
    assert host == "postgres"
    assert user == postgres_env["POSTGRES_USER"]
    assert database == postgres_env["POSTGRES_DB"]


def test_execution_api_url_points_at_the_api_server(services: dict[str, dict[str, Any]]) -> None:
    url = urlsplit(_env(services["airflow-scheduler"])["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert url.scheme == "http"
    assert url.hostname == APISERVER
    assert url.port in _container_ports(services[APISERVER])
    assert url.path.rstrip("/") == "/execution"


# --- the pipeline's settings --------------------------------------------------------------------


def _expected_cxn_defaults() -> dict[str, str | None]:
    """CXN_* setting -> its default in the compose file (None: any default, checked elsewhere)."""
    return {
        "CXN_LANDING_DIR": f"{REPO_MOUNT}/data/landing",
        "CXN_WAREHOUSE": f"{REPO_MOUNT}/data/warehouse.duckdb",
        "CXN_OUT_DIR": f"{REPO_MOUNT}/data/out",
        "CXN_SMTP_URL": None,
        "CXN_MAIL_FROM": None,
        "CXN_MAX_REJECT_RATE": None,
    }


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
@pytest.mark.parametrize("setting", sorted(_expected_cxn_defaults()))
def test_cxn_setting_passed_through_with_default(
    services: dict[str, dict[str, Any]], name: str, setting: str
) -> None:
    env = _env(services[name])
    assert setting in env, f"{name} does not get {setting}"
    var, op, default = _interpolation(env[setting])
    assert var == setting, "the host's variable of the same name should pass through"
    assert op == ":-" and default, f"{setting} needs a default that works in the container"
    expected = _expected_cxn_defaults()[setting]
    if expected is not None:
        assert default == expected


def test_cxn_defaults_agree_with_the_pipeline(services: dict[str, dict[str, Any]]) -> None:
    from pipeline.settings import Settings

    env = _env(services["airflow-scheduler"])
    assert float(_interpolation(env["CXN_MAX_REJECT_RATE"])[2] or "") == Settings.max_reject_rate
    assert _interpolation(env["CXN_MAIL_FROM"])[2] == Settings.mail_from


def test_smtp_url_points_at_the_mail_catcher(services: dict[str, dict[str, Any]]) -> None:
    catcher = services[MAIL_CATCHER]
    assert str(catcher["image"]).startswith("axllent/mailpit")
    url = urlsplit(_interpolation(_env(services["airflow-scheduler"])["CXN_SMTP_URL"])[2] or "")
    assert url.scheme == "smtp"
    assert url.hostname == MAIL_CATCHER
    assert url.port == 1025
    assert {1025, 8025} <= _container_ports(catcher)
    # With the LocalExecutor the scheduler runs the tasks that send the newsletters.
    assert MAIL_CATCHER in _depends_on(services["airflow-scheduler"])


# --- health checks and start order --------------------------------------------------------------


def test_postgres_has_a_health_check(services: dict[str, dict[str, Any]]) -> None:
    assert "pg_isready" in _healthcheck_test(services["postgres"])


def test_api_server_has_a_health_check(services: dict[str, dict[str, Any]]) -> None:
    test = _healthcheck_test(services[APISERVER])
    assert "http://localhost:8080/api/v2/monitor/health" in test
    assert 8080 in _container_ports(services[APISERVER])


def test_scheduler_health_check_server_is_enabled(services: dict[str, dict[str, Any]]) -> None:
    scheduler = services["airflow-scheduler"]
    assert _env(scheduler).get("AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK", "").lower() == "true"
    assert "localhost:8974/health" in _healthcheck_test(scheduler)


def test_init_waits_for_a_healthy_postgres(services: dict[str, dict[str, Any]]) -> None:
    depends = _depends_on(services[INIT])
    assert depends.get("postgres") == "service_healthy"
    assert INIT not in depends


@pytest.mark.parametrize("name", sorted(AIRFLOW_COMMANDS))
def test_airflow_service_waits_for_init(services: dict[str, dict[str, Any]], name: str) -> None:
    depends = _depends_on(services[name])
    assert depends.get(INIT) == "service_completed_successfully"
    assert depends.get("postgres") == "service_healthy"
    assert services[INIT].get("restart", "no") == "no", "a one-shot job must not be restarted"


def test_scheduler_waits_for_a_healthy_api_server(services: dict[str, dict[str, Any]]) -> None:
    # LocalExecutor: the scheduler's tasks call the execution API from their first line.
    assert _depends_on(services["airflow-scheduler"]).get(APISERVER) == "service_healthy"


# --- airflow-init -------------------------------------------------------------------------------


def test_init_migrates_the_db_and_stops_on_error(services: dict[str, dict[str, Any]]) -> None:
    script = _init_script(services)
    lines = [line.strip() for line in script.splitlines()]
    assert "airflow db migrate" in lines
    # Without `set -e` a failed migration would still let the other services start.
    assert any(re.match(r"^set -\w*e", line) for line in lines[: lines.index("airflow db migrate")])


def test_init_creates_the_duckdb_writer_pool_with_one_slot(
    services: dict[str, dict[str, Any]],
) -> None:
    pool_commands = [
        shlex.split(line)
        for line in _init_script(services).splitlines()
        if line.strip().startswith("airflow pools set")
    ]
    assert len(pool_commands) == 1, pool_commands
    _, _, _, pool, slots, *description = pool_commands[0]
    assert pool == "duckdb_writer"
    assert int(slots) == 1
    assert description == ["DuckDB has a single writer"]


def _seed_admin_snippet(services: dict[str, dict[str, Any]]) -> str:
    match = re.search(r"python - <<'PY'\n(.*?)\nPY\n", _init_script(services), re.S)
    assert match, "airflow-init no longer seeds the admin password with a python heredoc"
    return match.group(1)


def test_init_seeds_the_admin_password_once(
    services: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    snippet = _seed_admin_snippet(services)
    env = _env(services[INIT])
    passwords_file = tmp_path / "passwords.json"
    base = {
        "PATH": os.environ.get("PATH", ""),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
    }
    for password in ("first", "second"):  # a rerun of airflow-init keeps the first password
        subprocess.run(
            [sys.executable, "-"],
            input=snippet,
            text=True,
            check=True,
            capture_output=True,
            env={**base, "_AIRFLOW_WWW_USER_PASSWORD": password},
        )
    assert json.loads(passwords_file.read_text()) == {"admin": "first"}
    # The users, the password and the file location all come from the init's environment, and
    # the api-server reads the same file from the same volume.
    assert "_AIRFLOW_WWW_USER_PASSWORD" in env
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].endswith(":admin")
    folder = str(Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]).parent)
    init_mounts = dict((target, source) for source, target in _volumes(services[INIT]))
    api_mounts = dict((target, source) for source, target in _volumes(services[APISERVER]))
    assert folder in init_mounts, "the password file would be lost with the init container"
    assert api_mounts.get(folder) == init_mounts[folder]


# --- secrets ------------------------------------------------------------------------------------

SECRET_SETTINGS = (
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY",
)


def _assert_from_env(value: str) -> tuple[str, str | None, str | None]:
    var, op, arg = _interpolation(value)
    if op in (":-", "-"):
        assert arg and arg.startswith(DEV_DEFAULT_MARK), (
            f"${{{var}}} defaults to {arg!r}: a secret's default must read {DEV_DEFAULT_MARK}-..."
        )
    return var, op, arg


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
@pytest.mark.parametrize("setting", SECRET_SETTINGS)
def test_secret_comes_from_the_environment(
    services: dict[str, dict[str, Any]], name: str, setting: str
) -> None:
    env = _env(services[name])
    assert setting in env, f"{name} lacks {setting}"
    _assert_from_env(env[setting])


def test_postgres_password_comes_from_the_environment(
    services: dict[str, dict[str, Any]],
) -> None:
    server = _assert_from_env(_env(services["postgres"])["POSTGRES_PASSWORD"])
    conn = _env(services[APISERVER])["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    match = re.search(r"://[^:@]+:(\$\{[^}]*\})@", conn)
    assert match, "the DB URL's password is not taken from the environment"
    # Same variable, same default: otherwise Airflow cannot log in to its own database.
    assert _assert_from_env(match.group(1)) == server


def test_dev_fernet_key_is_a_valid_key(services: dict[str, dict[str, Any]]) -> None:
    from cryptography.fernet import Fernet

    _, op, default = _interpolation(_env(services[APISERVER])["AIRFLOW__CORE__FERNET_KEY"])
    if op in (":-", "-"):
        Fernet(default or "")  # raises on a key Airflow would reject at start-up


def test_no_fernet_like_literal_outside_marked_defaults() -> None:
    # A generated Fernet key is 43 urlsafe-base64 characters and "="; none may be pasted in.
    keys = re.findall(r"[A-Za-z0-9_-]{43}=", COMPOSE_FILE.read_text())
    assert all(key.startswith(DEV_DEFAULT_MARK) for key in keys), keys


# --- the Dockerfile -----------------------------------------------------------------------------


def _dockerfile_from() -> tuple[str, str]:
    """(airflow version, python version) of the Dockerfile's apache/airflow base image."""
    match = re.search(
        r"^FROM\s+apache/airflow:(?P<airflow>[\d.]+)-python(?P<python>[\d.]+)\s*$",
        DOCKERFILE.read_text(),
        re.M,
    )
    assert match, "the Dockerfile does not start FROM apache/airflow:<version>-python<version>"
    return match["airflow"], match["python"]


def test_dockerfile_airflow_version_matches_the_lock() -> None:
    pins = re.findall(r"^apache-airflow==(\S+)", LOCK_FILE.read_text(), re.M)
    assert len(pins) == 1, pins
    assert _dockerfile_from()[0] == pins[0]


def test_dockerfile_python_matches_the_lock() -> None:
    # The lock holds hashes of wheels for the Python it was compiled for (scripts/lock).
    match = re.search(r"--python-version\s+(\S+)", (REPO / "scripts" / "lock").read_text())
    assert match
    assert _dockerfile_from()[1] == match.group(1)


def test_dockerfile_installs_weasyprint_libraries_and_the_lock() -> None:
    text = DOCKERFILE.read_text()
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0"):
        assert re.search(rf"\b{re.escape(package)}\b", text), package
    assert re.search(r"pip install [^\n]*--require-hashes[^\n]*-r \S*requirements\.lock", text)


def test_dockerfile_copies_only_what_exists() -> None:
    # `docker build` stops at a COPY whose source is missing from the checkout.
    sources = []
    for line in DOCKERFILE.read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"]:
            sources += [word for word in words[1:-1] if not word.startswith("--")]
    assert sources
    missing = [source for source in sources if not (REPO / source).exists()]
    assert not missing, missing


# --- the real parser, where the Docker client has the compose plugin ----------------------------


def test_docker_compose_config_accepts_the_file() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client")
    version = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, check=False
    )
    if version.returncode != 0:
        pytest.skip("the docker client has no compose plugin")
    # Host settings must not decide the outcome: check the file with its own defaults.
    env = {key: value for key, value in os.environ.items() if not key.startswith("CXN_")}
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "config", "--quiet"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
