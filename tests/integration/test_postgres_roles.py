"""infra/postgres-init.sh, the script the postgres container runs on its first start, run here
against the test server with scratch names: each service's role owns its database, cannot enter
another service's, and is no superuser.

The local server trusts every connection from 127.0.0.1, so here a wrong password would get in
too: what these tests show is the CONNECT privilege (refused whatever the password), the role's
attributes, and that the password stored (as SCRAM) is the one from the secret. In the compose
stack PostgreSQL asks for the password (scram-sha-256, tests/unit/test_compose_file.py).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Iterator

import psycopg
import pytest

from tests.support.infrastructure import Infrastructure

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(shutil.which("psql") is None, reason="psql (the script's client) is not installed"),
]

SCRIPT = Path(__file__).resolve().parents[2] / "infra" / "postgres-init.sh"


class Scratch:
    """Two services' roles and databases under a prefix of their own, dropped afterwards."""

    def __init__(self, infrastructure: Infrastructure) -> None:
        self.infrastructure = infrastructure
        self.prefix = f"compose_test_{uuid.uuid4().hex[:8]}_"
        self.passwords = {"alpha": "alpha-" + uuid.uuid4().hex, "beta": "beta-'quoted\" " + uuid.uuid4().hex}

    def name(self, service: str) -> str:
        return self.prefix + service

    def run_script(self, **passwords: str) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": os.environ["PATH"],
            "PGHOST": self.infrastructure.postgres_host,
            "PGPORT": str(self.infrastructure.postgres_port),
            "PGPASSWORD": self.infrastructure.postgres_password,
            "POSTGRES_USER": self.infrastructure.postgres_user,
            "SERVICE_DATABASES": "alpha beta",
            "SERVICE_DATABASE_PREFIX": self.prefix,
            **{f"POSTGRES_{service.upper()}_PASSWORD": password for service, password in passwords.items()},
        }
        return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)

    def connect_as(self, service: str, database: str) -> psycopg.Connection:
        infra = self.infrastructure
        return psycopg.connect(
            host=infra.postgres_host, port=infra.postgres_port, user=self.name(service),
            password=self.passwords[service], dbname=self.name(database), autocommit=True,
        )

    def superuser(self) -> psycopg.Connection:
        return self.infrastructure.connect("postgres", autocommit=True)

    def drop(self) -> None:
        with self.superuser() as connection:
            for service in self.passwords:
                connection.execute(f'DROP DATABASE IF EXISTS "{self.name(service)}" WITH (FORCE)')
            for service in self.passwords:
                connection.execute(f'DROP ROLE IF EXISTS "{self.name(service)}"')


@pytest.fixture
def scratch(infrastructure: Infrastructure) -> Iterator[Scratch]:
    scratch = Scratch(infrastructure)
    try:
        yield scratch
    finally:
        scratch.drop()


@pytest.fixture
def created(scratch: Scratch) -> Scratch:
    result = scratch.run_script(**scratch.passwords)
    assert result.returncode == 0, result.stderr
    return scratch


def scram_matches(stored: str, password: str) -> bool:
    """Whether PostgreSQL's SCRAM-SHA-256 verifier (RFC 5803 form) was made from this password."""
    method, iterations_and_salt, keys = stored.split("$")
    iterations, salt = iterations_and_salt.split(":")
    _stored_key, server_key = keys.split(":")
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    expected = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return method == "SCRAM-SHA-256" and hmac.compare_digest(base64.b64encode(expected).decode(), server_key)


def test_a_role_creates_tables_in_its_own_database(created: Scratch) -> None:
    with created.connect_as("alpha", "alpha") as connection:
        connection.execute("CREATE TABLE stored_events (id bigint PRIMARY KEY, body bytea)")
        connection.execute("INSERT INTO stored_events VALUES (1, 'x')")
        assert connection.execute("SELECT count(*) FROM stored_events").fetchone() == (1,)
        owner = connection.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")
        assert owner.fetchone() == (created.name("alpha"),)


@pytest.mark.parametrize(("service", "other"), [("alpha", "beta"), ("beta", "alpha")])
def test_a_role_cannot_connect_to_another_services_database(created: Scratch, service: str, other: str) -> None:
    with pytest.raises(psycopg.OperationalError, match=f'permission denied for database "{created.name(other)}"'):
        created.connect_as(service, other)


def test_the_roles_are_no_superusers_and_cannot_create_roles_or_databases(created: Scratch) -> None:
    with created.superuser() as connection:
        attributes = connection.execute(
            "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin"
            " FROM pg_roles WHERE rolname LIKE %s ORDER BY rolname",
            (created.prefix.replace("_", r"\_") + "%",),
        ).fetchall()
    assert attributes == [(created.name(s), False, False, False, False, False, True) for s in ("alpha", "beta")]
    with created.connect_as("alpha", "alpha") as connection:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            connection.execute(f'CREATE ROLE "{created.prefix}intruder"')
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            connection.execute(f'CREATE DATABASE "{created.prefix}intruder"')


def test_each_role_has_the_password_from_its_secret_stored_as_scram(created: Scratch) -> None:
    with created.superuser() as connection:
        stored = dict(
            connection.execute(
                "SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY(%s)",
                ([created.name(s) for s in created.passwords],),
            ).fetchall()
        )
    for service, password in created.passwords.items():
        assert scram_matches(stored[created.name(service)], password)
        assert not scram_matches(stored[created.name(service)], password + "x")


def test_a_missing_password_creates_nothing(scratch: Scratch) -> None:
    result = scratch.run_script(alpha=scratch.passwords["alpha"])
    assert result.returncode != 0
    assert "POSTGRES_BETA_PASSWORD (or POSTGRES_BETA_PASSWORD_FILE) is not set" in result.stderr
    with scratch.superuser() as connection:
        found = connection.execute(
            "SELECT count(*) FROM pg_roles WHERE rolname LIKE %s", (scratch.prefix.replace("_", r"\_") + "%",)
        ).fetchone()
    assert found == (0,)
