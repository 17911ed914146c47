"""docker-compose.yml as an operator runs it, read with PyYAML (no Docker engine needed).

Only the services' HTTP ports published, data on named volumes, restart policies, password
authentication, every secret from a file, one database role per service. The test override
(infra/docker-compose.test.yml) publishes the broker and the database, on 127.0.0.1 only.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WEB_PORT = 8000
HTTP_PORTS = {"initiatives": 8001, "letters_of_intent": 8002, "meetings": 8003, "evaluations": 8004, "audit": 8005}
DATA_DIRECTORIES = {"postgres": "/var/lib/postgresql/data", "rabbitmq": "/var/lib/rabbitmq"}
# Settings whose value is a credential, or holds one (a broker URI with its password).
SECRET_SETTING = re.compile(r"PASSWORD|PASS\b|PASS_|TOKEN|SECRET|DIGESTS|AMQP_URI|_KEY\b")


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load(REPO_ROOT / "docker-compose.yml")


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {name: str(value) for name, value in env.items()}


def published(port: Any) -> tuple[str, int]:
    """(host address, container port) of a short- or long-syntax port entry."""
    if isinstance(port, dict):
        return str(port.get("host_ip", "")), int(port["target"])
    parts = str(port).split(":")
    return (parts[0] if len(parts) == 3 else ""), int(parts[-1].split("/")[0])


def secret_names(service: dict[str, Any]) -> set[str]:
    return {entry["source"] if isinstance(entry, dict) else entry for entry in service.get("secrets", [])}


def test_only_the_services_http_ports_are_published(services: dict[str, Any]) -> None:
    publishing = {name: [published(port) for port in service.get("ports", [])] for name, service in services.items()}
    ports = {**HTTP_PORTS, "web": WEB_PORT}
    assert publishing == {name: [("", ports[name])] if name in ports else [] for name in services}


def test_the_web_app_reads_the_services_on_the_compose_network_and_holds_no_database_secret(
    services: dict[str, Any]
) -> None:
    import json

    web = services["web"]
    env = environment(web)
    assert "DEVELOPMENT" not in env and env["TIME_ZONE"] == "Europe/Stockholm"
    assert json.loads(env["WEB_SERVICES"]) == {name: f"http://{name}:{port}" for name, port in HTTP_PORTS.items()}
    assert secret_names(web) == {"auth_token_digests"}
    passed_through = {name for name, value in web["environment"].items() if value is None}
    assert passed_through == {"WEB_SECURE_COOKIE", "WEB_PUBLIC_URL", "OIDC_ISSUER", "OIDC_AUDIENCE", "OIDC_CLIENT_ID"}
    config = (REPO_ROOT / "services/web/config.yml").read_text(encoding="utf-8")
    assert "WEB_SECURE_COOKIE: ${WEB_SECURE_COOKIE:true}" in config  # unset, the cookie is Secure
    assert not any("expose" in service for service in services.values()), "nothing else is exposed"


def test_broker_and_database_keep_their_data_on_named_volumes(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, directory in DATA_DIRECTORIES.items():
        mounts = [str(volume).split(":") for volume in compose["services"][name].get("volumes", [])]
        sources = [source for source, target, *_ in mounts if target == directory]
        assert len(sources) == 1, f"{name}: {directory} is on no volume (an anonymous one is lost on down/up)"
        assert sources[0] in declared, f"{name}: {sources[0]} is not a named volume"


def test_rabbitmq_has_a_fixed_hostname_so_a_new_container_finds_its_data(services: dict[str, Any]) -> None:
    assert services["rabbitmq"].get("hostname") == "rabbitmq"


def test_every_service_restarts_unless_stopped_and_has_a_healthcheck(services: dict[str, Any]) -> None:
    assert {name: service.get("restart") for name, service in services.items()} == {
        name: "unless-stopped" for name in services
    }
    assert all(service.get("healthcheck", {}).get("test") for service in services.values())


def test_postgres_asks_every_connection_for_a_scram_password(services: dict[str, Any]) -> None:
    env = environment(services["postgres"])
    assert "trust" not in " ".join(env.values()).lower()
    assert env["POSTGRES_HOST_AUTH_METHOD"] == "scram-sha-256"
    assert set(env["POSTGRES_INITDB_ARGS"].split()) == {"--auth-local=scram-sha-256", "--auth-host=scram-sha-256"}
    assert env["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"


def test_no_secret_value_is_written_in_the_environment(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for setting, value in environment(service).items():
            assert not re.search(r"://[^/@\s]+:[^/@\s]+@", value), f"{name}: {setting} has credentials in a URI"
            if SECRET_SETTING.search(setting):
                assert setting.endswith("_FILE"), f"{name}: {setting} is given in plain text"


def test_every_file_setting_names_a_secret_the_service_mounts(compose: dict[str, Any]) -> None:
    declared = compose["secrets"]
    for name, service in compose["services"].items():
        mounted = secret_names(service)
        assert mounted <= set(declared), f"{name} mounts undeclared secrets"
        for setting, value in environment(service).items():
            if setting.endswith("_FILE"):
                assert value.startswith("/run/secrets/"), f"{name}: {setting}"
                assert value.removeprefix("/run/secrets/") in mounted, f"{name}: {setting} names an unmounted secret"
    assert {secret["file"] for secret in declared.values()} == {f"./secrets/{name}" for name in declared}


def test_each_service_connects_as_its_own_role_to_its_own_database(services: dict[str, Any]) -> None:
    for name in HTTP_PORTS:
        env = environment(services[name])
        assert (env["PERSISTENCE"], env["POSTGRES_USER"], env["POSTGRES_DBNAME"]) == ("postgres", name, name)
        assert env["POSTGRES_PASSWORD_FILE"] == f"/run/secrets/postgres_{name}_password"
        database_secrets = {secret for secret in secret_names(services[name]) if secret.startswith("postgres_")}
        assert database_secrets == {f"postgres_{name}_password"}, f"{name} sees another database password"
        # The init script creates the role with that same password.
        postgres_env = environment(services["postgres"])
        assert postgres_env[f"POSTGRES_{name.upper()}_PASSWORD_FILE"] == f"/run/secrets/postgres_{name}_password"


def test_services_run_in_production_mode_with_swedish_time(services: dict[str, Any]) -> None:
    for name in HTTP_PORTS:
        env = environment(services[name])
        assert "DEVELOPMENT" not in env
        assert env["TIME_ZONE"] == "Europe/Stockholm"
        assert env["AMQP_URI_FILE"] == "/run/secrets/amqp_uri"
        assert env["AUTH_TOKEN_DIGESTS_FILE"] == "/run/secrets/auth_token_digests"
    assert environment(services["audit"])["AUDIT_TOKEN_FILE"] == "/run/secrets/audit_token"


def test_rabbitmq_has_its_own_user_whose_password_is_a_secret(services: dict[str, Any]) -> None:
    env = environment(services["rabbitmq"])
    assert env["RABBITMQ_DEFAULT_USER"] not in {"", "guest"}
    assert env["RABBITMQ_DEFAULT_PASS_FILE"] == "/run/secrets/rabbitmq_password"
    # The image's own entrypoint refuses RABBITMQ_DEFAULT_PASS_FILE: ours reads it first.
    assert services["rabbitmq"]["entrypoint"][:3] == ["bash", "/usr/local/bin/cases-entrypoint", "docker-entrypoint.sh"]


def test_the_entrypoint_and_init_script_mounted_exist(services: dict[str, Any]) -> None:
    for name in ("rabbitmq", "postgres"):
        for volume in services[name]["volumes"]:
            source = str(volume).split(":")[0]
            if source.startswith("./"):
                assert (REPO_ROOT / source).is_file(), f"{name}: {source} is missing"


def test_secret_files_stay_out_of_git_and_of_the_image() -> None:
    assert "secrets/" in (REPO_ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert "secrets" in (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").split()


def test_the_test_override_publishes_broker_and_database_on_localhost_with_test_secrets(
    compose: dict[str, Any],
) -> None:
    override = load(REPO_ROOT / "infra" / "docker-compose.test.yml")
    assert {name: [published(port) for port in service["ports"]] for name, service in override["services"].items()} == {
        "rabbitmq": [("127.0.0.1", 5672)],
        "postgres": [("127.0.0.1", 5432)],
    }
    assert set(override["secrets"]) == set(compose["secrets"])
    for secret in override["secrets"].values():
        assert secret["file"].startswith("./infra/test-secrets/")
        assert (REPO_ROOT / secret["file"]).is_file()


def test_pytest_docker_gets_the_operators_file_then_the_test_override(docker_compose_file: list[str]) -> None:
    assert [Path(path).relative_to(REPO_ROOT).as_posix() for path in docker_compose_file] == [
        "docker-compose.yml",
        "infra/docker-compose.test.yml",
    ]


def test_the_healthchecks_ask_the_services_whether_they_are_ready(services: dict[str, Any]) -> None:
    """/ready answers 503 when the store, the broker or the outbox is not working; /health only reports."""
    for name, service in services.items():
        if "build" in service:
            assert any("/ready" in str(part) for part in service["healthcheck"]["test"]), name
