"""The logs of a test run, kept in one directory, and the check that none holds a secret.

Every test session keeps what its services logged: the in-process containers' records (a JSON
file handler on the root logger) and the output of every `nameko run` a test starts
(tests.support.services.ServiceProcess), in one directory per run, `run-<UTC time>-<pid>` in
`$CASES_TEST_LOG_DIR`, or in `.test-logs/` of the repository when unset (the last 20 runs kept). At the end of the session
(tests/conftest.py) every line is searched for the test tokens, a JWT, an Authorization header
or a bearer token; one found fails the run.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from tests.support.services import RUN_LOG_DIR_VARIABLE, TEST_TOKENS, kept_log_path, run_log_dir  # noqa: F401

LOG_DIR_VARIABLE = "CASES_TEST_LOG_DIR"  # where runs keep their logs (a directory per run inside)
IN_PROCESS_LOG = "in-process.log"

FUZZ_TOKEN = "test-fuzz"  # tests/fuzz: a token with every role
SECRETS: dict[str, re.Pattern[str]] = {
    **{f"test token {entry['token']}": re.compile(re.escape(entry["token"])) for entry in TEST_TOKENS.values()},
    f"test token {FUZZ_TOKEN}": re.compile(re.escape(FUZZ_TOKEN)),
    "JWT": re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+"),
    # a header with a value; the 401 hint "Authorization: Bearer <token>" names no token
    "Authorization header": re.compile(r"authorization['\"]?\s*[:=]\s*['\"]?(?!bearer\s+<token>)[^\s'\"]", re.I),
    # the header's value; not prose ("The bearer token is not known") nor the 401 challenge (realm=)
    "bearer token": re.compile(r"\bBearer\s+(?!<token>|realm=)[A-Za-z0-9\-._~+/]{8,}=*"),
}


@dataclass
class LogCheck:
    lines_per_file: dict[Path, int] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)  # "<file>:<line>: <what>", the secret not repeated

    @property
    def lines(self) -> int:
        return sum(self.lines_per_file.values())


def check_logs(directory: Path) -> LogCheck:
    """Every line of every file under the directory, searched for secrets."""
    result = LogCheck()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        result.lines_per_file[path] = 0
        with open(path, encoding="utf-8", errors="replace") as log:
            for number, line in enumerate(log, start=1):
                result.lines_per_file[path] = number
                result.findings += [f"{path.name}:{number}: {what}" for what in secrets_in(line)]
    return result


def secrets_in(line: str) -> Iterable[str]:
    return [what for what, pattern in SECRETS.items() if pattern.search(line)]


def log_check_failures(check: LogCheck, directory: Path, in_process_started: bool, process_logs: Iterable[str]) -> list[str]:
    """Why the run's logs fail: a secret found, or a log that must exist but is missing or empty (a
    service ran), so that the check can never pass by having searched nothing."""
    failures = [f"a secret in the logs: {finding}" for finding in check.findings]
    expected = ([directory / IN_PROCESS_LOG] if in_process_started else []) + [Path(p) for p in process_logs]
    for path in expected:
        if not check.lines_per_file.get(path):
            failures.append(f"no log lines in {path}, though a service ran: the logs were not kept")
    return failures
