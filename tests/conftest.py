"""Test set-up shared by every tier.

The services run on eventlet, so the test process is monkey-patched first, as
`nameko run` does; `shared` is imported next so psycopg picks its green wait. The
browser tests (tests/browser) are the exception: they run in a process of their own,
unpatched (CASES_TESTS_IN_BROWSER=1), against services started as processes.
Integration and end-to-end tests use a real RabbitMQ and PostgreSQL: pytest-docker
starts them from docker-compose.yml with infra/docker-compose.test.yml (published
ports, test credentials) where a Docker engine answers (or when CASES_TEST_DOCKER=1),
otherwise the ones on localhost (AMQP_URI, POSTGRES_* env).
"""
import os
import warnings

warnings.filterwarnings("ignore", message="\\s*Eventlet is deprecated")  # bugfix-only; nameko 2 runs on it

import eventlet  # noqa: E402

# The browser tests run in a process of their own, not patched: Playwright's asyncio loop hangs on
# eventlet's green select and subprocess pipes (`make browser-tests`; `make test` runs both).
IN_BROWSER = os.environ.get("CASES_TESTS_IN_BROWSER") == "1"
if not IN_BROWSER:
    eventlet.monkey_patch()  # must precede every other import
collect_ignore = ["unit", "integration", "e2e", "faults", "fuzz"] if IN_BROWSER else ["browser"]

import shared  # noqa: E402,F401 - sets psycopg's wait function before psycopg loads

import logging  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Iterator  # noqa: E402

import pytest  # noqa: E402
from nameko.containers import ServiceContainer  # noqa: E402

from shared.logs import JsonFormatter, WorkContextFilter  # noqa: E402
from tests.support import services as service_processes  # noqa: E402
from tests.support.infrastructure import Infrastructure, local_infrastructure  # noqa: E402
from tests.support.logs import (  # noqa: E402
    IN_PROCESS_LOG, LOG_DIR_VARIABLE, RUN_LOG_DIR_VARIABLE, LogCheck, check_logs, log_check_failures,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


def _docker_engine_answers() -> bool:
    if os.environ.get("CASES_TEST_DOCKER") == "0" or shutil.which("docker") is None:
        return False
    if os.environ.get("CASES_TEST_DOCKER") == "1":
        return True
    probe = subprocess.run(["docker", "info"], capture_output=True, timeout=20)
    return probe.returncode == 0


TEST_SECRETS = REPO_ROOT / "infra" / "test-secrets"


def _test_secret(name: str) -> str:
    return (TEST_SECRETS / name).read_text(encoding="utf-8").strip()


@pytest.fixture(scope="session")
def docker_compose_file() -> list[str]:
    """The operator's file publishes neither broker nor database; the test override does."""
    return [str(REPO_ROOT / "docker-compose.yml"), str(REPO_ROOT / "infra" / "docker-compose.test.yml")]


@pytest.fixture(scope="session")
def docker_setup() -> list[str]:
    return ["up -d --wait rabbitmq postgres"]


@pytest.fixture(scope="session")
def infrastructure(request: pytest.FixtureRequest) -> Infrastructure:
    if _docker_engine_answers():
        services = request.getfixturevalue("docker_services")
        infra = Infrastructure(
            amqp_uri=(
                f"amqp://cases:{_test_secret('rabbitmq_password')}"
                f"@127.0.0.1:{services.port_for('rabbitmq', 5672)}/"
            ),
            postgres_host="127.0.0.1",
            postgres_port=services.port_for("postgres", 5432),
            postgres_user="postgres",
            postgres_password=_test_secret("postgres_password"),
            broker_stop=lambda: services._docker_compose.execute("stop rabbitmq"),
            broker_start=lambda: services._docker_compose.execute("start rabbitmq"),
            postgres_stop=lambda: services._docker_compose.execute("stop postgres"),
            postgres_start=lambda: services._docker_compose.execute("start postgres"),
            broker_alarm=lambda on: services._docker_compose.execute(
                f"exec -T rabbitmq rabbitmqctl set_disk_free_limit {10**15 if on else 50_000_000}"),
        )
    else:
        infra = local_infrastructure()
    infra.wait_until_ready()
    return infra


@pytest.fixture(params=["sqlite", "postgres"])
def store_config(request: pytest.FixtureRequest, infrastructure: Infrastructure, tmp_path: Any) -> Iterator[dict[str, Any]]:
    """The store settings of one test: a fresh SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield {"PERSISTENCE": "sqlite", "DATA_DIR": str(tmp_path / "data")}
    else:
        with infrastructure.fresh_schema() as schema:
            yield infrastructure.postgres_config(schema)


# --- the run's logs: kept in one directory, searched for secrets at the end (tests.support.logs):
# a token, a JWT or an Authorization header in any line fails the run.

LOG_DIR = pytest.StashKey[Path]()
IN_PROCESS_CONTAINERS = pytest.StashKey[list[str]]()
LOG_CHECK = pytest.StashKey[LogCheck]()
LOG_CHECK_FAILURES = pytest.StashKey[list[str]]()
KEPT_RUNS = 20


@pytest.fixture(scope="session", autouse=True)
def kept_logs(pytestconfig: pytest.Config) -> Iterator[Path]:
    """This run's log directory: in-process services log into it as JSON, `nameko run` processes
    write their output into it (tests.support.services.ServiceProcess)."""
    parent = Path(os.environ.get(LOG_DIR_VARIABLE) or REPO_ROOT / ".test-logs")
    directory = parent / f"run-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.getpid()}"
    directory.mkdir(parents=True, exist_ok=True)
    if LOG_DIR_VARIABLE not in os.environ:  # the default place keeps the last KEPT_RUNS runs
        for old in sorted(parent.glob("run-*"))[:-KEPT_RUNS]:
            shutil.rmtree(old, ignore_errors=True)
    pytestconfig.stash[LOG_DIR] = directory
    os.environ[RUN_LOG_DIR_VARIABLE] = str(directory)
    handler = logging.FileHandler(directory / IN_PROCESS_LOG, encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    handler.addFilter(WorkContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(min(level, logging.INFO))  # as the services' LOGGING: INFO and above
    started = pytestconfig.stash[IN_PROCESS_CONTAINERS] = []
    real_start = ServiceContainer.start

    def start(container: ServiceContainer) -> None:  # noted, so the check knows their log must not be empty
        started.append(container.service_name)
        real_start(container)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ServiceContainer, "start", start)
        yield directory
    root.removeHandler(handler)
    root.setLevel(level)
    handler.close()
    os.environ.pop(RUN_LOG_DIR_VARIABLE, None)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    directory = session.config.stash.get(LOG_DIR, None)
    if directory is None:
        return
    check = check_logs(directory)
    failures = log_check_failures(check, directory, bool(session.config.stash.get(IN_PROCESS_CONTAINERS, [])),
                                  service_processes.STARTED_PROCESS_LOGS)
    session.config.stash[LOG_CHECK] = check
    session.config.stash[LOG_CHECK_FAILURES] = failures
    if failures:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    check = config.stash.get(LOG_CHECK, None)
    if check is None:
        return
    failures = config.stash.get(LOG_CHECK_FAILURES, [])
    terminalreporter.section("logs of this run")
    terminalreporter.write_line(f"{config.stash[LOG_DIR]}: {len(check.lines_per_file)} files, {check.lines} lines searched "
                                "for tokens, JWTs and Authorization headers")
    for failure in failures[:50]:
        terminalreporter.write_line(f"FAILED {failure}", red=True)
    if not failures:
        terminalreporter.write_line("no secret found")
