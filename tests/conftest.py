"""Test set-up shared by every tier.

The services run on eventlet, so the test process is monkey-patched first, as
`nameko run` does; `shared` is imported next so psycopg picks its green wait.
Integration and end-to-end tests use a real RabbitMQ and PostgreSQL: pytest-docker
starts them from docker-compose.yml with infra/docker-compose.test.yml (published
ports, test credentials) where a Docker engine answers (or when CASES_TEST_DOCKER=1),
otherwise the ones on localhost (AMQP_URI, POSTGRES_* env).
"""
import warnings

warnings.filterwarnings("ignore", message="\\s*Eventlet is deprecated")  # bugfix-only; nameko 2 runs on it

import eventlet  # noqa: E402

eventlet.monkey_patch()  # noqa: E402 - must precede every other import

import shared  # noqa: E402,F401 - sets psycopg's wait function before psycopg loads

import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Iterator  # noqa: E402

import pytest  # noqa: E402

from tests.support.infrastructure import Infrastructure, local_infrastructure  # noqa: E402

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
