"""Running the service under test: in this process (nameko's container) or as its own process."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from shared.auth import token_digest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TEST_TOKENS = {
    "registrar": {"token": "test-registrar", "actor": "Rut Registrator", "roles": ["registrar"]},
    "case_officer": {"token": "test-case-officer", "actor": "Hans Handläggare", "roles": ["case_officer"]},
    "secretary": {"token": "test-secretary", "actor": "Sara Sekreterare", "roles": ["secretary"]},
    "strategist": {"token": "test-strategist", "actor": "Stina Strateg", "roles": ["strategist"]},
    "auditor": {"token": "test-auditor", "actor": "Rolf Revisor", "roles": ["auditor"]},
}


def token_digests(tokens: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A token table as services are configured with it: by SHA-256 digest, never in plain text."""
    return {token_digest(token): entry for token, entry in tokens.items()}


AUTH_TOKENS = {entry["token"]: {"actor": entry["actor"], "roles": entry["roles"]} for entry in TEST_TOKENS.values()}
AUTH_TOKEN_DIGESTS = token_digests(AUTH_TOKENS)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def service_config(amqp_uri: str, store_config: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A service's settings in a test. Reminders are off unless a test turns them on
    (REMINDERS_ENABLED="true"): the seeds' dates are long past, so their timers would add events
    to the cases of every other test at moments of their own."""
    return {
        "AMQP_URI": amqp_uri,
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}",
        "AUTH_TOKEN_DIGESTS": AUTH_TOKEN_DIGESTS,
        "OUTBOX_POLL_INTERVAL": 0.2,
        "REMINDERS_ENABLED": "false",
        **store_config,
        **overrides,
    }


@dataclass
class Api:
    """HTTP calls to a running service, as one of the test roles."""

    base_url: str
    session: requests.Session = field(default_factory=requests.Session)

    def request(self, method: str, path: str, role: str | None = None, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if role is not None:
            headers["Authorization"] = f"Bearer {TEST_TOKENS[role]['token']}"
        kwargs.setdefault("timeout", 60)
        return self.session.request(method, self.base_url + path, headers=headers, **kwargs)

    def post(self, path: str, role: str | None, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, role, json=body, **kwargs)

    def get(self, path: str, role: str | None = "auditor", **kwargs: Any) -> requests.Response:
        return self.request("GET", path, role, **kwargs)

    def every(self, path: str, key: str, role: str | None = "auditor", **params: Any) -> list[dict[str, Any]]:
        """Every item of a paged list, following `next` from page to page."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            response = self.get(path, role, params={**params, "limit": 500, **({"cursor": cursor} if cursor else {})})
            assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
            page = response.json()
            items += page[key]
            cursor = page["next"]
            if cursor is None:
                return items

    def command(self, path: str, role: str, body: Any = None) -> dict[str, Any]:
        """A command that must succeed; returns the initiative it produced."""
        response = self.post(path, role, body if body is not None else {})
        assert response.status_code in (200, 201), f"{path}: {response.status_code} {response.text}"
        return response.json()


def assert_problem(response: requests.Response, status: int) -> dict[str, Any]:
    """The response is an application/problem+json document with this status; returns it."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    return problem


def api_for(config: dict[str, Any]) -> Api:
    return Api(f"http://{config['WEB_SERVER_ADDRESS']}")


# The run's log directory (tests.support.logs), set by tests/conftest.py for every process tests start.
RUN_LOG_DIR_VARIABLE = "CASES_TEST_RUN_LOG_DIR"
# The log file of every `nameko run` started in this run: the end-of-run check wants each non-empty.
STARTED_PROCESS_LOGS: list[str] = []


def run_log_dir() -> Path | None:
    value = os.environ.get(RUN_LOG_DIR_VARIABLE)
    return Path(value) if value else None


def kept_log_path(log_path: str) -> str:
    """Where a process's output goes: the run's log directory, named after the test's temporary
    directory and the file name asked for (`test_x0-service.log`); the path as asked outside a test run."""
    directory = run_log_dir()
    if directory is None:
        return log_path
    asked = Path(log_path)
    return str(directory / f"{asked.parent.name}-{asked.name}")


class ServiceProcess:
    """The service as operators run it: `nameko run` with its config.yml, set by environment.

    Its output (JSON log lines) is kept in the run's log directory (tests.support.logs)."""

    health_path = "/health"  # answers 200 once the process serves

    def __init__(self, config: dict[str, Any], log_path: str, service: str = "initiatives"):
        self.service = service
        self.config = config
        self.log_path = kept_log_path(log_path)
        self.process: subprocess.Popen[bytes] | None = None

    def environment(self) -> dict[str, str]:
        import json

        env = dict(os.environ)
        for key, value in self.config.items():
            env[key] = json.dumps(value) if isinstance(value, dict) else str(value)
        return env

    def command(self) -> list[str]:
        nameko = os.path.join(os.path.dirname(sys.executable), "nameko")
        return [nameko, "run", "--config", f"services/{self.service}/config.yml", f"services.{self.service}.service"]

    def start(self) -> "ServiceProcess":
        STARTED_PROCESS_LOGS.append(self.log_path)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command(), cwd=REPO_ROOT, env=self.environment(), stdout=log, stderr=subprocess.STDOUT,
            )
        self.wait_until_healthy()
        return self

    def wait_until_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://{self.config['WEB_SERVER_ADDRESS']}{self.health_path}"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"service exited with {self.process.returncode}; see {self.log_path}")
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"service not healthy after {timeout}s; see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
