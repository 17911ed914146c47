"""infra/make-secrets.sh: the secret files docker-compose.yml reads, made once, 0600, never overwritten."""
from __future__ import annotations

import hashlib
import json
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "infra" / "make-secrets.sh"
ROLES = {"registrar", "case_officer", "secretary", "strategist", "auditor"}


def make_secrets(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), str(directory)], capture_output=True, text=True, timeout=60)


@pytest.fixture
def secrets(tmp_path: Path) -> Path:
    directory = tmp_path / "secrets"
    result = make_secrets(directory)
    assert result.returncode == 0, result.stderr
    return directory


def contents(directory: Path) -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in directory.iterdir()}


def people_tokens(directory: Path) -> dict[str, str]:
    """token → role, from tokens-for-people.txt (role, actor, token; tab-separated)."""
    lines = (directory / "tokens-for-people.txt").read_text(encoding="utf-8").splitlines()
    rows = [line.split("\t") for line in lines if line and not line.startswith("#")]
    return {token: role for role, _actor, token in rows}


def test_makes_every_secret_the_compose_file_reads(secrets: Path) -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    wanted = {Path(secret["file"]).name for secret in compose["secrets"].values()}
    assert {path.name for path in secrets.iterdir()} == wanted | {"tokens-for-people.txt"}


def test_files_are_readable_by_their_owner_only(secrets: Path) -> None:
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o700
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in secrets.iterdir()} == {
        path.name: 0o600 for path in secrets.iterdir()
    }


def test_passwords_are_random_and_distinct(secrets: Path) -> None:
    passwords = [path.read_text() for path in secrets.iterdir() if path.name.endswith("_password")]
    assert len(passwords) == 7
    assert len(set(passwords)) == 7
    assert all(len(password) == 64 and int(password, 16) for password in passwords)


def test_the_broker_uri_carries_the_rabbitmq_user_and_password(secrets: Path) -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    user = compose["services"]["rabbitmq"]["environment"]["RABBITMQ_DEFAULT_USER"]
    password = (secrets / "rabbitmq_password").read_text()
    assert (secrets / "amqp_uri").read_text() == f"amqp://{user}:{password}@rabbitmq:5672/"


def test_the_services_keep_only_digests_of_one_token_per_role_and_the_audit_token(secrets: Path) -> None:
    digests = json.loads((secrets / "auth_token_digests").read_text(encoding="utf-8"))
    tokens = people_tokens(secrets)
    audit_token = (secrets / "audit_token").read_text()
    assert set(tokens.values()) == ROLES
    expected = {hashlib.sha256(token.encode()).hexdigest(): [role] for token, role in tokens.items()}
    expected[hashlib.sha256(audit_token.encode()).hexdigest()] = ["auditor"]
    assert {digest: entry["roles"] for digest, entry in digests.items()} == expected
    assert all(entry["actor"] for entry in digests.values())
    plain = set(tokens) | {audit_token}
    assert not plain & set((secrets / "auth_token_digests").read_text().split('"'))


def test_a_second_run_overwrites_nothing_and_fills_in_what_is_missing(secrets: Path) -> None:
    before = contents(secrets)
    (secrets / "postgres_audit_password").unlink()
    (secrets / "tokens-for-people.txt").unlink()  # handed out and deleted, as the file says
    result = make_secrets(secrets)
    assert result.returncode == 0, result.stderr
    after = contents(secrets)
    assert set(after) == set(before) - {"tokens-for-people.txt"}
    assert {name: after[name] for name in after if name != "postgres_audit_password"} == {
        name: before[name] for name in after if name != "postgres_audit_password"
    }
    assert after["postgres_audit_password"] != before["postgres_audit_password"]
    assert "created in" in result.stdout and "postgres_audit_password" in result.stdout
    assert not any(value in result.stdout + result.stderr for value in before.values())


@pytest.mark.parametrize("left", [["auth_token_digests"], ["audit_token"], ["tokens-for-people.txt"]])
def test_refuses_to_make_tokens_beside_a_part_of_the_old_ones(secrets: Path, left: list[str]) -> None:
    for name in {"auth_token_digests", "audit_token", "tokens-for-people.txt"} - set(left):
        (secrets / name).unlink()
    (secrets / "postgres_password").unlink()
    before = contents(secrets)
    result = make_secrets(secrets)
    assert result.returncode != 0
    assert "the tokens are made together" in result.stderr
    assert contents(secrets) == before, "nothing is written when the run is refused"
