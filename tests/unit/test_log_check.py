"""The end-of-run check of the test logs (tests.support.logs) finds what must never be logged."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from shared.context import working_on
from shared.logs import JsonFormatter, TextFormatter, WorkContextFilter
from tests.support.logs import IN_PROCESS_LOG, check_logs, log_check_failures
from tests.support.services import TEST_TOKENS

CLEAN = [
    '{"time": "2026-12-01T20:00:00+00:00", "level": "INFO", "logger": "nameko.web.server", '
    '"message": "127.0.0.1 - - \\"GET /initiatives HTTP/1.1\\" 200 1234 0.01", "actor": "Rut Registrator"}',
    '{"level": "WARNING", "message": "401: Send \'Authorization: Bearer <token>\'"}',
    '{"level": "INFO", "message": "WWW-Authenticate: Bearer realm=\\"regional-cases\\""}',
    '{"level": "WARNING", "message": "error handling worker: The bearer token is not known"}',
]


def write(directory: Path, *lines: str, name: str = IN_PROCESS_LOG) -> Path:
    path = directory / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_clean_logs_pass(tmp_path: Path) -> None:
    write(tmp_path, *CLEAN)
    check = check_logs(tmp_path)
    assert check.lines == len(CLEAN) and check.findings == []
    assert log_check_failures(check, tmp_path, in_process_started=True, process_logs=[]) == []


@pytest.mark.parametrize("planted, what", [
    (f"calling with {TEST_TOKENS['auditor']['token']}", "test token test-auditor"),
    ("token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJydXQifQ.c2lnbmF0dXJl", "JWT"),
    ("headers {'Authorization': 'Basic dXNlcjpwYXNz'}", "Authorization header"),
    ("Authorization: Bearer abc.def", "Authorization header"),
    ("sent Bearer s3cr3t-token", "bearer token"),
])
def test_a_planted_secret_fails_the_run_and_is_named_by_file_and_line(tmp_path: Path, planted: str, what: str) -> None:
    write(tmp_path, *CLEAN, name="test_x0-service.log")
    write(tmp_path, CLEAN[0], json.dumps({"level": "ERROR", "message": planted}))
    check = check_logs(tmp_path)
    assert f"{IN_PROCESS_LOG}:2: {what}" in check.findings
    failures = log_check_failures(check, tmp_path, in_process_started=True, process_logs=[])
    assert failures and all(planted not in failure for failure in failures)  # named, not repeated


def test_the_check_fails_when_a_service_ran_but_its_log_is_missing_or_empty(tmp_path: Path) -> None:
    empty = write(tmp_path, name="test_x0-service.log")
    check = check_logs(tmp_path)
    failures = log_check_failures(check, tmp_path, in_process_started=True, process_logs=[str(empty)])
    assert len(failures) == 2  # the in-process log is missing, the process's is empty
    assert log_check_failures(check_logs(tmp_path), tmp_path, in_process_started=False, process_logs=[]) == []


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("shared.inbox", logging.INFO, __file__, 1, message, (), None)


def test_a_json_line_carries_time_level_service_logger_message_and_the_work_context() -> None:
    handler_filter, formatter = WorkContextFilter(service="initiatives"), JsonFormatter()
    with working_on(request_id="req-1", actor="Rut Registrator", diary_number="RUN 2025-0001"):
        entry = record("applied")
        assert handler_filter.filter(entry)
    parsed = json.loads(formatter.format(entry))
    assert list(parsed)[:5] == ["time", "level", "service", "logger", "message"]
    assert parsed["time"].endswith("+00:00")
    assert parsed == {**parsed, "level": "INFO", "service": "initiatives", "logger": "shared.inbox",
                      "message": "applied", "request_id": "req-1", "actor": "Rut Registrator",
                      "diary_number": "RUN 2025-0001"}
    assert "correlation_id" not in parsed  # unknown fields are left out


def test_a_line_outside_any_work_has_no_context_fields_and_text_names_them_when_known() -> None:
    with working_on():  # no request, no case: a relay's or a timer's line
        entry = record("relay started")
        WorkContextFilter(service="meetings").filter(entry)
    parsed = json.loads(JsonFormatter().format(entry))
    assert not {"request_id", "actor", "diary_number"} & set(parsed)
    with working_on(request_id="req-2"):
        known = record("hello")
        WorkContextFilter(service="meetings").filter(known)
    assert TextFormatter().format(known).endswith("meetings shared.inbox: hello [request_id=req-2]")


@pytest.mark.parametrize("service", ["initiatives", "letters_of_intent", "meetings", "evaluations", "audit"])
def test_every_service_logs_json_lines_with_its_name(service: str) -> None:
    import yaml
    from nameko.cli.main import setup_yaml_parser

    setup_yaml_parser()
    with open(f"services/{service}/config.yml", encoding="utf-8") as file:
        logging_config = yaml.safe_load(file)["LOGGING"]
    handler = logging_config["handlers"]["console"]
    assert logging_config["formatters"][handler["formatter"]]["()"] == "shared.logs.JsonFormatter"
    assert [logging_config["filters"][name] for name in handler["filters"]] == [
        {"()": "shared.logs.WorkContextFilter", "service": service}]
