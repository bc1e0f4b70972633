"""Static checks of docker-compose.yml, .env.example and the Dockerfile (no Docker engine needed).

The compose file runs on other machines; these tests catch, before that, the mistakes that would
only show there: a service left out or started with the wrong command, a component that cannot
reach the DAGs, the execution API, the broker or the metadata DB, a worker that cannot be scaled,
a service without a health check, data that is not on the shared volumes, a `CXN_*` setting
missing from one service, a secret with a public default or pasted into the file, an example env
file that lacks a variable, an image whose Airflow is not the locked one.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
LOCK_FILE = REPO / "requirements.lock"
ENV_EXAMPLE = REPO / ".env.example"

REPO_MOUNT = "/opt/cxn"
DATA_MOUNT = f"{REPO_MOUNT}/data"
MAIL_CATCHER = "mailpit"
BROKER = "redis"
APISERVER = "airflow-apiserver"
WORKER = "airflow-worker"
INIT = "airflow-init"

# service -> the airflow sub-command it runs
AIRFLOW_COMMANDS = {
    APISERVER: "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    WORKER: "celery worker",
}
AIRFLOW_SERVICES = [INIT, *AIRFLOW_COMMANDS]
LONG_RUNNING_SERVICES = ["postgres", BROKER, MAIL_CATCHER, *AIRFLOW_COMMANDS]

# The variables that hold secrets: required, never defaulted, never written into the file.
SECRET_VARS = (
    "AIRFLOW_FERNET_KEY",
    "AIRFLOW_JWT_SECRET",
    "AIRFLOW_API_SECRET_KEY",
    "AIRFLOW_POSTGRES_PASSWORD",
    "_AIRFLOW_WWW_USER_PASSWORD",
)
# Airflow setting -> the variable it is read from, in every Airflow service.
SECRET_SETTINGS = {
    "AIRFLOW__CORE__FERNET_KEY": "AIRFLOW_FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET": "AIRFLOW_JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY": "AIRFLOW_API_SECRET_KEY",
}
# What .env.example's secret values contain, and airflow-init refuses.
PLACEHOLDER_MARK = "REPLACE_ME"
FERNET_COMMAND = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}
INTERPOLATION = re.compile(
    r"^\$\{(?P<var>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}$"
)
# What Compose substitutes in a value, left to right: `$$` (a literal `$`), `${...}`, `$VAR`.
DOLLAR_TOKEN = re.compile(r"\$\$|\$\{(?P<braced>[^}]*)\}|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)")


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
    test = (service.get("healthcheck") or {}).get("test", "")
    return test if isinstance(test, str) else " ".join(test)


def _interpolation(value: str) -> tuple[str, str | None, str | None]:
    """(variable, operator, default or message) of a value that is exactly one ${...}."""
    match = INTERPOLATION.match(value)
    assert match, f"{value!r} is not taken from the environment (expected ${{VAR:-default}})"
    return match["var"], match["op"], match["arg"]


def _init_script(services: dict[str, dict[str, Any]]) -> str:
    command = services[INIT]["command"]
    return command if isinstance(command, str) else "\n".join(str(part) for part in command)


def _strings(node: Any) -> Iterator[str]:
    """Every string value in the loaded file (Compose interpolates values, not keys)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _references(compose: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    """(variable, operator, argument) of every ${...} Compose substitutes in the file."""
    found = []
    for text in _strings(compose):
        for token in DOLLAR_TOKEN.finditer(text):
            if token["braced"] is not None:
                found.append(_interpolation(token.group(0)))
    return found


def _resolve(value: str, variables: Mapping[str, str]) -> str:
    """The value as Compose would pass it to the container, given these variables."""

    def substitute(token: re.Match[str]) -> str:
        if token.group(0) == "$$":
            return "$"
        if token["bare"] is not None:
            return variables.get(token["bare"], "")
        var, op, arg = _interpolation(token.group(0))
        current = variables.get(var)
        missing = current is None or (current == "" and op is not None and op.startswith(":"))
        if missing and op in (":?", "?"):
            raise AssertionError(f"{var} is required: {arg}")
        if missing and op in (":-", "-"):
            return arg or ""
        return current or ""

    return DOLLAR_TOKEN.sub(substitute, value)


def _env_example() -> tuple[dict[str, str], set[str], list[str]]:
    """(variables assigned, variables only mentioned in a `# NAME=...` comment, all lines)."""
    lines = ENV_EXAMPLE.read_text().splitlines()
    assigned: dict[str, str] = {}
    commented: set[str] = set()
    for line in lines:
        if match := re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line):
            assigned[match[1]] = match[2]
        elif match := re.match(r"^#\s*([A-Za-z_][A-Za-z0-9_]*)=", line):
            commented.add(match[1])
    return assigned, commented, lines


def _dockerfile_instructions() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    instructions: list[str] = []
    current = ""
    for line in DOCKERFILE.read_text().splitlines():
        if not current and line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            instructions.append(current.strip())
        current = ""
    return instructions


# --- services and commands ----------------------------------------------------------------------


def test_required_services_exist(services: dict[str, dict[str, Any]]) -> None:
    required = {"postgres", BROKER, MAIL_CATCHER, *AIRFLOW_SERVICES}
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
    assert words == subcommand.split()


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
def test_airflow_service_reads_the_dags_from_the_image(
    compose: dict[str, Any], services: dict[str, dict[str, Any]], name: str
) -> None:
    # The code is in the image, not mounted: every worker on every host runs the same code.
    service = services[name]
    declared = set(compose.get("volumes") or {})
    bind_mounts = [mount for mount in _volumes(service) if mount[0] not in declared]
    assert not bind_mounts, f"{name} mounts host paths {bind_mounts}"
    assert _env(service).get("AIRFLOW__CORE__DAGS_FOLDER") == f"{REPO_MOUNT}/dags"
    copies = [line.split() for line in _dockerfile_instructions() if line.startswith("COPY ")]
    assert any(
        words[-2:] in (["dags/", "/opt/cxn/dags/"], ["dags", "/opt/cxn/dags"]) for words in copies
    ), "the Dockerfile does not copy dags/ to the DAGs folder"
    assert (REPO / "dags").is_dir()


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_service_runs_the_celery_executor(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    env = _env(services[name])
    assert env.get("AIRFLOW__CORE__EXECUTOR") == "CeleryExecutor"
    assert env.get("AIRFLOW__CELERY__BROKER_URL")
    assert env.get("AIRFLOW__CELERY__RESULT_BACKEND")
    assert env.get("AIRFLOW__CORE__LOAD_EXAMPLES", "").lower() == "false"


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_service_shares_the_common_environment(
    compose: dict[str, Any], services: dict[str, dict[str, Any]], name: str
) -> None:
    # One JWT secret, one Fernet key, one DB, one broker for all components.
    common = _env(compose["x-airflow-common"])
    env = _env(services[name])
    differing = {key for key in common if env.get(key) != common[key]}
    assert not differing, f"{name} overrides or lacks {sorted(differing)}"


DB_URL = re.compile(
    r"^(?P<scheme>[\w+]+)://(?P<user>[^:@]+):(?P<password>\$\{[^}]*\})@(?P<host>[^:/]+)"
    r"(?::(?P<port>\d+))?/(?P<database>\w+)$"
)


def test_metadata_db_is_the_postgres_service(services: dict[str, dict[str, Any]]) -> None:
    conn = DB_URL.match(_env(services[APISERVER])["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert conn, "the metadata DB URL is not postgresql://user:${PASSWORD...}@host/db"
    assert conn["scheme"] in ("postgresql", "postgresql+psycopg2")
    postgres_env = _env(services["postgres"])
    assert conn["host"] == "postgres"
    assert conn["user"] == postgres_env["POSTGRES_USER"]
    assert conn["database"] == postgres_env["POSTGRES_DB"]


def test_celery_result_backend_is_the_metadata_db(services: dict[str, dict[str, Any]]) -> None:
    env = _env(services[WORKER])
    backend = DB_URL.match(env["AIRFLOW__CELERY__RESULT_BACKEND"])
    conn = DB_URL.match(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert backend and conn
    # Celery's SQLAlchemy result backend takes the `db+` prefix.
    assert backend["scheme"] in ("db+postgresql", "db+postgresql+psycopg2")
    for part in ("user", "password", "host", "port", "database"):
        assert backend[part] == conn[part], part


def test_celery_broker_is_the_redis_service(services: dict[str, dict[str, Any]]) -> None:
    url = urlsplit(_env(services[WORKER])["AIRFLOW__CELERY__BROKER_URL"])
    assert url.scheme == "redis"
    assert url.hostname == BROKER
    assert (url.port or 6379) in _container_ports(services[BROKER])
    assert str(services[BROKER]["image"]).startswith("redis:")
    # Only the stack talks to the broker: no port on the host.
    assert not services[BROKER].get("ports")


def test_execution_api_url_points_at_the_api_server(services: dict[str, dict[str, Any]]) -> None:
    url = urlsplit(_env(services[WORKER])["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert url.scheme == "http"
    assert url.hostname == APISERVER
    assert url.port in _container_ports(services[APISERVER])
    assert url.path.rstrip("/") == "/execution"


# --- the Celery worker --------------------------------------------------------------------------


def test_worker_can_be_scaled(services: dict[str, dict[str, Any]]) -> None:
    # `docker compose up --scale airflow-worker=3` needs distinct names and no host port clash.
    worker = services[WORKER]
    assert "container_name" not in worker
    assert "hostname" not in worker, "every worker would be the same Celery node"
    assert not worker.get("ports")
    assert "deploy" not in worker or "replicas" not in (worker["deploy"] or {})


def test_worker_health_check_pings_its_own_celery_node(
    services: dict[str, dict[str, Any]],
) -> None:
    test = services[WORKER]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    command = " ".join(test[1:])
    assert (
        "celery --app airflow.providers.celery.executors.celery_executor.app inspect ping"
        in command
    )
    # `$$` is Compose's escape: the container's shell expands ${HOSTNAME}.
    assert '-d "celery@$${HOSTNAME}"' in command


def test_worker_shuts_down_warm(services: dict[str, dict[str, Any]]) -> None:
    # Celery, not dumb-init's process group, must get SIGTERM to finish its running tasks.
    assert _env(services[WORKER]).get("DUMB_INIT_SETSID") == "0"


def test_worker_waits_for_init_api_server_broker_and_mail(
    services: dict[str, dict[str, Any]],
) -> None:
    depends = _depends_on(services[WORKER])
    assert depends.get(INIT) == "service_completed_successfully"
    # Tasks call the execution API from their first line and send mail through the catcher.
    assert depends.get(APISERVER) == "service_healthy"
    assert depends.get(BROKER) == "service_healthy"
    assert depends.get("postgres") == "service_healthy"
    assert depends.get(MAIL_CATCHER) == "service_healthy"


# --- the pipeline's data ------------------------------------------------------------------------


def _data_mounts(compose: dict[str, Any]) -> list[tuple[str, str]]:
    common = compose["x-airflow-common"]
    return [
        (source, target)
        for source, target in _volumes(common)
        if PurePosixPath(target).is_relative_to(DATA_MOUNT)
    ]


def test_data_volumes_are_declared_named_volumes(compose: dict[str, Any]) -> None:
    mounts = _data_mounts(compose)
    assert mounts, f"no volume is mounted under {DATA_MOUNT}"
    declared = compose.get("volumes") or {}
    for source, target in mounts:
        assert source in declared, f"{target} is on {source!r}, not a declared named volume"


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_service_mounts_every_data_volume(
    compose: dict[str, Any], services: dict[str, dict[str, Any]], name: str
) -> None:
    # Any worker may run any task: each must see the same landing zone, warehouse and output.
    missing = set(_data_mounts(compose)) - set(_volumes(services[name]))
    assert not missing, f"{name} lacks {sorted(missing)}"


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
@pytest.mark.parametrize(
    "setting", ["CXN_LANDING_DIR", "CXN_WAREHOUSE", "CXN_ANALYTICS_DB", "CXN_OUT_DIR"]
)
def test_cxn_path_is_on_a_data_volume(
    compose: dict[str, Any], services: dict[str, dict[str, Any]], name: str, setting: str
) -> None:
    value = _env(services[name]).get(setting, "")
    # Fixed, not taken from the host: a host's own CXN_* path would point off the volumes.
    assert value.startswith("/") and "$" not in value, f"{setting}={value!r}"
    path = PurePosixPath(value)
    # A database file's folder is the volume: DuckDB's .wal goes beside the file. The snapshot is
    # what render batches read on every worker, so it must be on a volume they all mount.
    folder = path.parent if setting in ("CXN_WAREHOUSE", "CXN_ANALYTICS_DB") else path
    targets = [PurePosixPath(target) for _, target in _data_mounts(compose)]
    assert any(folder.is_relative_to(target) for target in targets), f"{setting}={value!r}"


def test_worker_renders_from_the_snapshot_and_writes_to_the_output_volume(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    # A render batch on any worker reads the published snapshot and writes newsletters to cxn-out.
    env = _env(services[WORKER])
    mounts = {PurePosixPath(target): source for source, target in _volumes(services[WORKER])}
    snapshot = PurePosixPath(env["CXN_ANALYTICS_DB"])
    out = PurePosixPath(env["CXN_OUT_DIR"])
    assert mounts.get(snapshot.parent) == "cxn-warehouse", mounts
    assert mounts.get(out) == "cxn-out", mounts
    assert {"cxn-warehouse", "cxn-out"} <= set(compose["volumes"])


def test_worker_runs_one_task_per_core_by_default(services: dict[str, dict[str, Any]]) -> None:
    # Render batches take no pool slot: the worker's concurrency is what bounds them per host.
    env = _env(services[WORKER])
    var, op, default = _interpolation(env["AIRFLOW__CELERY__WORKER_CONCURRENCY"])
    assert (var, op) == ("CXN_WORKER_CONCURRENCY", ":-")
    assert default is not None and int(default) >= 2


def test_dockerfile_makes_every_volume_folder_writable_for_group_0(
    services: dict[str, dict[str, Any]],
) -> None:
    # A new named volume takes the ownership of the image's folder it is mounted on; the
    # containers run as an arbitrary UID with GID 0.
    targets = {target for name in AIRFLOW_SERVICES for _, target in _volumes(services[name])}
    run = [line for line in _dockerfile_instructions() if "mkdir -p" in line]
    assert len(run) == 1, run
    steps = {}
    for step in run[0].removeprefix("RUN ").split("&&"):
        words = shlex.split(step)
        steps[words[0]] = words[1:]
    assert steps["mkdir"][0] == "-p"
    assert steps["chown"][0] == "airflow:0"
    assert steps["chmod"][0] in ("2775", "775", "g+rwx", "2770", "770")
    for step in ("mkdir", "chown", "chmod"):
        missing = targets - set(steps[step][1:])
        assert not missing, f"the Dockerfile's {step} misses {sorted(missing)}"


# --- the pipeline's other settings --------------------------------------------------------------

CXN_PASSED_THROUGH = ("CXN_SMTP_URL", "CXN_MAIL_FROM", "CXN_MAX_REJECT_RATE")


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
@pytest.mark.parametrize("setting", CXN_PASSED_THROUGH)
def test_cxn_setting_passed_through_with_default(
    services: dict[str, dict[str, Any]], name: str, setting: str
) -> None:
    env = _env(services[name])
    assert setting in env, f"{name} does not get {setting}"
    var, op, default = _interpolation(env[setting])
    assert var == setting, "the host's variable of the same name should pass through"
    assert op == ":-" and default, f"{setting} needs a default that works in the container"


def test_cxn_defaults_agree_with_the_pipeline(services: dict[str, dict[str, Any]]) -> None:
    from pipeline.settings import Settings

    env = _env(services[WORKER])
    assert float(_interpolation(env["CXN_MAX_REJECT_RATE"])[2] or "") == Settings.max_reject_rate
    assert _interpolation(env["CXN_MAIL_FROM"])[2] == Settings.mail_from


def test_smtp_url_points_at_the_mail_catcher(services: dict[str, dict[str, Any]]) -> None:
    catcher = services[MAIL_CATCHER]
    assert str(catcher["image"]).startswith("axllent/mailpit")
    url = urlsplit(_interpolation(_env(services[WORKER])["CXN_SMTP_URL"])[2] or "")
    assert url.scheme == "smtp"
    assert url.hostname == MAIL_CATCHER
    assert url.port == 1025
    assert {1025, 8025} <= _container_ports(catcher)
    # The UI has no login: loopback only.
    for port in catcher.get("ports", []):
        assert str(port).startswith("127.0.0.1:"), port


# --- health checks and start order --------------------------------------------------------------


def test_every_long_running_service_has_a_health_check(
    services: dict[str, dict[str, Any]],
) -> None:
    long_running = {
        name for name, service in services.items() if service.get("restart", "no") != "no"
    }
    assert set(LONG_RUNNING_SERVICES) <= long_running
    unchecked = []
    for name in sorted(long_running):
        healthcheck = services[name].get("healthcheck") or {}
        test = healthcheck.get("test")
        if healthcheck.get("disable") or not test or test in ("NONE", ["NONE"]):
            unchecked.append(name)
    assert not unchecked, f"no health check: {unchecked}"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("postgres", "pg_isready"),
        (BROKER, "redis-cli ping"),
        (MAIL_CATCHER, "/mailpit readyz"),
        (APISERVER, "http://localhost:8080/api/v2/monitor/health"),
        ("airflow-scheduler", "localhost:8974/health"),
        (
            "airflow-dag-processor",
            'airflow jobs check --job-type DagProcessorJob --hostname "$${HOSTNAME}"',
        ),
        (
            "airflow-triggerer",
            'airflow jobs check --job-type TriggererJob --hostname "$${HOSTNAME}"',
        ),
    ],
)
def test_health_check_command(
    services: dict[str, dict[str, Any]], name: str, expected: str
) -> None:
    assert expected in _healthcheck_test(services[name])


def test_api_server_serves_its_health_check_port(services: dict[str, dict[str, Any]]) -> None:
    assert 8080 in _container_ports(services[APISERVER])


def test_scheduler_health_check_server_is_enabled(services: dict[str, dict[str, Any]]) -> None:
    scheduler = services["airflow-scheduler"]
    assert _env(scheduler).get("AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK", "").lower() == "true"


def test_healthy_dependencies_have_health_checks(services: dict[str, dict[str, Any]]) -> None:
    # Compose refuses `service_healthy` on a service without a health check.
    for name, service in services.items():
        for dependency, condition in _depends_on(service).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if condition == "service_healthy":
                assert _healthcheck_test(services[dependency]), f"{name} -> {dependency}"


def test_init_waits_for_a_healthy_postgres_and_broker(
    services: dict[str, dict[str, Any]],
) -> None:
    depends = _depends_on(services[INIT])
    assert depends.get("postgres") == "service_healthy"
    assert depends.get(BROKER) == "service_healthy"
    assert INIT not in depends


@pytest.mark.parametrize("name", sorted(AIRFLOW_COMMANDS))
def test_airflow_service_waits_for_init(services: dict[str, dict[str, Any]], name: str) -> None:
    depends = _depends_on(services[name])
    assert depends.get(INIT) == "service_completed_successfully"
    assert depends.get("postgres") == "service_healthy"
    assert depends.get(BROKER) == "service_healthy"
    assert services[INIT].get("restart", "no") == "no", "a one-shot job must not be restarted"


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


def _placeholder_guard(services: dict[str, dict[str, Any]]) -> str:
    match = re.search(r"^for name in .*?^done$", _init_script(services), re.S | re.M)
    assert match, "airflow-init no longer refuses .env.example's placeholders"
    return match.group(0).replace("$$", "$")  # as Compose passes it to the container


def _run_guard(guard: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    return subprocess.run(
        [bash, "-c", "set -euo pipefail\n" + guard],
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def test_init_refuses_the_example_placeholders(services: dict[str, dict[str, Any]]) -> None:
    guard = _placeholder_guard(services)
    init_env = _env(services[INIT])
    assigned, _, _ = _env_example()
    real = {var: secrets.token_hex(16) for var in SECRET_VARS}
    # Every setting of the init's environment that carries a secret is checked.
    carriers = {
        key: {var for var, _, _ in _references({"v": value}) if var in SECRET_VARS}
        for key, value in init_env.items()
    }
    carriers = {key: found for key, found in carriers.items() if found}
    assert set().union(*carriers.values()) == set(SECRET_VARS)
    checked = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", guard.split("; do", 1)[0]))
    assert set(carriers) <= checked, f"not checked: {sorted(set(carriers) - checked)}"

    def container_env(variables: Mapping[str, str]) -> dict[str, str]:
        return {key: _resolve(init_env[key], variables) for key in carriers}

    assert _run_guard(guard, container_env(real)).returncode == 0
    copied = _run_guard(guard, container_env(assigned))  # .env.example copied unedited
    assert copied.returncode != 0
    assert PLACEHOLDER_MARK in copied.stderr
    for var in SECRET_VARS:  # and a single secret left as in the example
        result = _run_guard(guard, container_env({**real, var: assigned[var]}))
        assert result.returncode != 0, f"{var}'s placeholder is accepted"


# --- secrets ------------------------------------------------------------------------------------


def _assert_required(value: str, var: str) -> None:
    """The value is exactly `${var:?message}`: no default, a message saying what to do."""
    found, op, message = _interpolation(value)
    assert found == var, f"{value!r} is not read from {var}"
    assert op == ":?", f"${{{var}}} must be required (`:?`): a missing secret must fail loudly"
    assert message and ".env" in message, f"${{{var}:?...}} should say to set it in .env"


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
@pytest.mark.parametrize("setting", sorted(SECRET_SETTINGS))
def test_secret_setting_is_a_required_variable(
    services: dict[str, dict[str, Any]], name: str, setting: str
) -> None:
    env = _env(services[name])
    assert setting in env, f"{name} lacks {setting}"
    _assert_required(env[setting], SECRET_SETTINGS[setting])


def test_postgres_password_is_required_and_the_same_everywhere(
    services: dict[str, dict[str, Any]],
) -> None:
    _assert_required(_env(services["postgres"])["POSTGRES_PASSWORD"], "AIRFLOW_POSTGRES_PASSWORD")
    env = _env(services[WORKER])
    for setting in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND"):
        url = DB_URL.match(env[setting])
        assert url, f"{setting}'s password is not taken from the environment"
        # Same variable: otherwise Airflow cannot log in to its own database.
        _assert_required(url["password"], "AIRFLOW_POSTGRES_PASSWORD")


def test_admin_password_is_required(services: dict[str, dict[str, Any]]) -> None:
    value = _env(services[INIT])["_AIRFLOW_WWW_USER_PASSWORD"]
    _assert_required(value, "_AIRFLOW_WWW_USER_PASSWORD")


def test_every_use_of_a_secret_is_required(compose: dict[str, Any]) -> None:
    references = _references(compose)
    used = {var for var, _, _ in references}
    assert set(SECRET_VARS) <= used, sorted(set(SECRET_VARS) - used)
    defaulted = sorted({var for var, op, _ in references if var in SECRET_VARS and op != ":?"})
    assert not defaulted, f"secrets with a default or not required: {defaulted}"


def test_no_unescaped_dollar_variable(compose: dict[str, Any]) -> None:
    # Compose substitutes `$NAME` too, silently with "" when unset: a shell variable meant for
    # the container must be written `$$NAME` / `$${NAME}`.
    bare = [
        token["bare"]
        for text in _strings(compose)
        for token in DOLLAR_TOKEN.finditer(text)
        if token["bare"] is not None
    ]
    assert not bare, bare


def test_no_insecure_default_or_pasted_secret() -> None:
    text = COMPOSE_FILE.read_text()
    assert "dev-only-insecure" not in text
    # A generated Fernet key is 43 urlsafe-base64 characters and "="; none may be pasted in.
    for path in (COMPOSE_FILE, ENV_EXAMPLE):
        keys = re.findall(r"[A-Za-z0-9_-]{43}=", path.read_text())
        assert not keys, f"{path.name}: {keys}"


# --- .env and .env.example ----------------------------------------------------------------------


def test_env_example_lists_every_variable(compose: dict[str, Any]) -> None:
    assert ENV_EXAMPLE.is_file(), ".env.example is missing at the top of the repository"
    assigned, commented, _ = _env_example()
    used = {var for var, _, _ in _references(compose)}
    required = {var for var, op, _ in _references(compose) if op in (":?", "?")}
    assert not used - (set(assigned) | commented), sorted(used - (set(assigned) | commented))
    # Required ones are set (to placeholders), so `--env-file .env.example` resolves.
    assert required <= set(assigned), sorted(required - set(assigned))
    assert set(SECRET_VARS) <= set(assigned)
    # Nothing the compose file would not read (a typo would go unnoticed).
    assert set(assigned) <= used, sorted(set(assigned) - used)


@pytest.mark.parametrize("var", SECRET_VARS)
def test_env_example_secret_is_a_placeholder_with_how_to_generate_it(var: str) -> None:
    assigned, _, lines = _env_example()
    assert PLACEHOLDER_MARK in assigned[var], f"{var}={assigned[var]!r} is not a placeholder"
    index = next(i for i, line in enumerate(lines) if line.startswith(f"{var}="))
    comment = []
    for line in reversed(lines[:index]):
        if not line.startswith("#"):
            break
        comment.append(line)
    text = "\n".join(reversed(comment))
    assert re.search(r"Generate with:\n#\s+\S", text), f"{var}: no comment on how to generate it"
    if var == "AIRFLOW_FERNET_KEY":
        assert FERNET_COMMAND in text


def test_dotenv_is_git_ignored_and_the_example_is_not() -> None:
    patterns = {line.strip() for line in (REPO / ".gitignore").read_text().splitlines()}
    assert patterns & {".env", "/.env"}, ".env is not in .gitignore"
    git = shutil.which("git")
    if git is None or not (REPO / ".git").exists():
        return
    ignored = subprocess.run(
        [git, "-C", str(REPO), "check-ignore", "-q", "--no-index", ".env"], check=False
    )
    assert ignored.returncode == 0, "git does not ignore .env"
    example = subprocess.run(
        [git, "-C", str(REPO), "check-ignore", "-q", "--no-index", ".env.example"], check=False
    )
    assert example.returncode == 1, "git ignores .env.example: it could not be committed"


def test_dotenv_stays_out_of_the_image() -> None:
    patterns = {line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()}
    assert patterns & {".env", "/.env", "**/.env"}


def _env_files(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "env_file":
                for entry in value if isinstance(value, list) else [value]:
                    yield str(entry.get("path", "")) if isinstance(entry, dict) else str(entry)
            else:
                yield from _env_files(value)
    elif isinstance(node, list):
        for value in node:
            yield from _env_files(value)


def test_compose_never_reads_the_example_as_an_env_file(compose: dict[str, Any]) -> None:
    # Its placeholders are public: the stack reads .env (or the shell), never the example.
    offending = [path for path in _env_files(compose) if Path(path).name == ".env.example"]
    assert not offending, offending


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


def test_dockerfile_keeps_and_checks_the_celery_executor_packages() -> None:
    # The lock has no Celery provider: it comes with the base image's default extras, and the
    # lock is installed on top (`pip install`), never synced, so it stays.
    instructions = _dockerfile_instructions()
    assert not any(re.search(r"\b(pip-sync|pip sync)\b", line) for line in instructions)
    assert not re.search(r"^apache-airflow-providers-celery==", LOCK_FILE.read_text(), re.M)
    checks = [line for line in instructions if line.startswith("RUN ") and "python -c" in line]
    assert any(
        "apache-airflow-providers-celery" in line and "import celery, redis" in line
        for line in checks
    ), "the build does not check the Celery provider, Celery and the Redis client"


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


def _docker_compose(compose: dict[str, Any], env_file: str) -> subprocess.CompletedProcess[str]:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client")
    version = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, check=False
    )
    if version.returncode != 0:
        pytest.skip("the docker client has no compose plugin")
    # Host settings must not decide the outcome: only the env file's values and the defaults.
    used = {var for var, _, _ in _references(compose)}
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CXN_") and key not in used
    }
    return subprocess.run(
        [docker, "compose", "--env-file", env_file, "-f", str(COMPOSE_FILE), "config", "--quiet"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_docker_compose_config_accepts_the_file(compose: dict[str, Any]) -> None:
    result = _docker_compose(compose, str(ENV_EXAMPLE))
    assert result.returncode == 0, result.stderr


def test_docker_compose_config_requires_the_secrets(compose: dict[str, Any]) -> None:
    result = _docker_compose(compose, os.devnull)
    assert result.returncode != 0
    assert any(var in result.stderr for var in SECRET_VARS), result.stderr
