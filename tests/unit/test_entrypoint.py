"""infra/entrypoint.sh: every secret's NAME_FILE becomes NAME before the command (nameko run) starts."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = REPO_ROOT / "infra" / "entrypoint.sh"
EX_CONFIG = 78


def run(env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"]}
    return subprocess.run(
        ["bash", str(ENTRYPOINT), *command], env={**base, **env}, capture_output=True, text=True, timeout=30
    )


def environment_of(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert result.returncode == 0, result.stderr
    return dict(entry.split("=", 1) for entry in result.stdout.split("\0") if entry)


def secret(tmp_path: Path, name: str, content: str) -> str:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    path.chmod(0o600)
    return str(path)


def test_each_file_variable_becomes_the_variable_and_is_removed(tmp_path: Path) -> None:
    digests = '{"ab12": {"actor": "Revisor", "roles": ["auditor"]}}'
    env = environment_of(
        run(
            {
                "POSTGRES_PASSWORD_FILE": secret(tmp_path, "pw", "s3cret with spaces\n"),
                "AUTH_TOKEN_DIGESTS_FILE": secret(tmp_path, "digests", digests + "\n\n"),
                "TIME_ZONE": "Europe/Stockholm",
            },
            "env", "-0",
        )
    )
    assert env["POSTGRES_PASSWORD"] == "s3cret with spaces"
    assert env["AUTH_TOKEN_DIGESTS"] == digests
    assert env["TIME_ZONE"] == "Europe/Stockholm"
    assert not [name for name in env if name.endswith("_FILE")]


def test_a_file_variable_that_names_no_secret_is_left_a_path(tmp_path: Path) -> None:
    """SSL_CERT_FILE is a path OpenSSL reads: turned into SSL_CERT=<PEM> it would break TLS."""
    ca = secret(tmp_path, "ca.pem", "-----BEGIN CERTIFICATE-----\n")
    env = environment_of(run({"SSL_CERT_FILE": ca, "AUDIT_TOKEN_FILE": secret(tmp_path, "t", "tok")}, "env", "-0"))
    assert env["SSL_CERT_FILE"] == ca and "SSL_CERT" not in env
    assert env["AUDIT_TOKEN"] == "tok" and "AUDIT_TOKEN_FILE" not in env


def test_the_command_gets_its_arguments_unchanged() -> None:
    result = run({}, "printf", "%s|", "two words", "$HOME", "")
    assert (result.returncode, result.stdout) == (0, "two words|$HOME||")


def test_nameko_config_sees_the_value_from_the_file(tmp_path: Path) -> None:
    """The reason for the script: nameko expands ${AMQP_URI:default} in config.yml from the environment."""
    read_config = (
        "import yaml; from nameko.cli.main import setup_yaml_parser; setup_yaml_parser(); "
        "print(yaml.safe_load(open('services/initiatives/config.yml'))['AMQP_URI'])"
    )
    uri = "amqp://cases:0123abcd@rabbitmq:5672/"
    result = subprocess.run(
        ["bash", str(ENTRYPOINT), sys.executable, "-c", read_config],
        env={"PATH": os.environ["PATH"], "AMQP_URI_FILE": secret(tmp_path, "amqp_uri", uri + "\n")},
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )
    assert (result.returncode, result.stdout.strip()) == (0, uri), result.stderr


@pytest.mark.parametrize("value", ["already-set", "x"])
def test_refuses_a_variable_given_both_ways(tmp_path: Path, value: str) -> None:
    result = run({"AMQP_URI": value, "AMQP_URI_FILE": secret(tmp_path, "uri", "amqp://other")}, "echo", "ran")
    assert result.returncode == EX_CONFIG
    assert "both AMQP_URI and AMQP_URI_FILE are set" in result.stderr
    assert "ran" not in result.stdout


@pytest.mark.parametrize("path", ["missing-file", "."])
def test_refuses_a_file_it_cannot_read(tmp_path: Path, path: str) -> None:
    result = run({"AUDIT_TOKEN_FILE": str(tmp_path / path)}, "echo", "ran")
    assert result.returncode == EX_CONFIG
    assert f"AUDIT_TOKEN_FILE={tmp_path / path} is not a readable file" in result.stderr
    assert "ran" not in result.stdout


def test_refuses_an_empty_file(tmp_path: Path) -> None:
    result = run({"AUDIT_TOKEN_FILE": secret(tmp_path, "empty", "\n")}, "echo", "ran")
    assert result.returncode == EX_CONFIG
    assert "is empty" in result.stderr
    assert "ran" not in result.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping to another user needs root")
def test_as_root_reads_the_0600_secret_then_runs_the_command_as_run_as(tmp_path: Path) -> None:
    result = run(
        {"RUN_AS": "nobody", "AUDIT_TOKEN_FILE": secret(tmp_path, "token", "t0ken")},
        "sh", "-c", 'echo "$(id -un) $AUDIT_TOKEN"; cat "$0" 2>/dev/null || echo unreadable', str(tmp_path / "token"),
    )
    assert (result.returncode, result.stdout.split("\n")[:2]) == (0, ["nobody t0ken", "unreadable"]), result.stderr
