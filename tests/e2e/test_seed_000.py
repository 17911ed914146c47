"""Seed 000 end to end, with the services run as operators run them (`nameko run`, config.yml)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from services.initiatives.demo import seed_000
from tests.support.cases import drive, submit
from tests.support.infrastructure import Infrastructure
from tests.support.meetings import establish_body, eventually, hold_meeting
from tests.support.services import REPO_ROOT, Api, api_for, assert_problem, free_port, kept_log_path
from tests.support.tampering import StoredRows
from tests.support.subscriber import EventSubscriber

LIFE_OF_THE_CASE = [
    "Initiative.Submitted", "Initiative.Registered", "Initiative.ReferredForPreparation",
    "Initiative.AnswerDrafted", "Initiative.ScheduledForDecision", "Initiative.DecisionRecorded",
    "Initiative.Finalised", "Initiative.Dispatched", "Initiative.Closed",
]


def test_seed_000_decided_in_a_meeting_then_dispatched_and_closed(
    run_services: Any, infrastructure: Infrastructure, tmp_path: Path
) -> None:
    configs = run_services("initiatives", "meetings")
    subscriber = EventSubscriber(infrastructure.amqp_uri, "initiatives").declare()
    try:
        initiatives = api_for(configs["initiatives"])
        meetings = api_for(configs["meetings"])
        case = drive(initiatives, submit(initiatives)["id"], "answer")

        committee = establish_body(meetings)
        meeting = hold_meeting(meetings, committee["id"], case["diary_number"])
        assert meeting["state"] == "adjusted" and len(meeting["signatures"]) == 2
        eventually(lambda: initiatives.get(f"/initiatives/{case['id']}").json(), lambda i: i["state"] == "final")
        drive_rest = seed_000()
        initiatives.command(f"/initiatives/{case['id']}/dispatch", "registrar", drive_rest["dispatch"])
        closed = initiatives.command(f"/initiatives/{case['id']}/closure", "registrar", drive_rest["closure"])

        assert closed["state"] == "closed"
        assert closed["decision"]["outcome"] == "considered_answered"
        assert closed["decision"]["paragraph"] == meeting["paragraphs"][0]["paragraph"] == "§ 1"
        assert closed["decision"]["body"] == "Regionala utvecklingsnämnden"
        assert [(r["name"], r["party"], r["title"]) for r in closed["recipients"]] == [
            ("Veronica Kerr", "KD", None), ("Per Boström", "KD", None), ("Kerstin Hamre", None, "samordnare"),
        ]
        history = initiatives.get(f"/initiatives/{case['id']}/history").json()["events"]
        assert [event["type"] for event in history] == LIFE_OF_THE_CASE
        occurred = [event["occurred_at"] for event in history]
        assert occurred == sorted(occurred)

        received = subscriber.collect([case["id"]], len(LIFE_OF_THE_CASE))
        assert [event["type"] for event in received] == LIFE_OF_THE_CASE
        assert {event["diary_number"] for event in received[1:]} == {closed["diary_number"]}
        feed = initiatives.get("/events", params={"after": 0, "limit": 100}).json()["events"]
        assert [event["event_id"] for event in feed] == [event["event_id"] for event in received]
        meeting_feed = meetings.get("/events", params={"limit": 1000}).json()["events"]
        assert [e["diary_number"] for e in meeting_feed if e["type"] == "Meeting.ItemDecided"] == [
            closed["diary_number"]]
        assert_auditors_tools(closed["diary_number"], configs, run_services("audit")["audit"], tmp_path)
    finally:
        subscriber.delete()


def assert_auditors_tools(
    diary_number: str, configs: dict[str, dict[str, Any]], audit_config: dict[str, Any], tmp_path: Path
) -> None:
    """The case across both services, with `cases` and over the audit service's HTTP API: the timeline
    in time order (and as of the decision), the states then, intact chains, an archive that round-trips;
    then a stored meeting event is changed and both name it."""
    from click.testing import CliRunner

    from shared.archive import read_archive
    from shared.cli import main as cases

    def run(*arguments: str) -> Any:
        services = [f"--service={name}=http://{config['WEB_SERVER_ADDRESS']}" for name, config in configs.items()]
        return CliRunner().invoke(cases, [*arguments, "--token", "test-auditor", *services])

    as_json = run("timeline", diary_number, "--json")
    assert as_json.exit_code == 0, as_json.output
    entries = json.loads(as_json.output)
    assert {e["source"] for e in entries} == {"initiatives", "meetings"}
    types = [e["type"] for e in entries]
    assert types[0] == "Initiative.Submitted"  # before the case had its number
    assert types.index("Meeting.Opened") < types.index("Meeting.ItemDecided")  # the meeting's own steps too
    assert types.index("Meeting.ItemAdded") < types.index("Initiative.ScheduledForDecision")
    assert types.index("Meeting.ItemDecided") < types.index("Initiative.DecisionRecorded")
    assert types.index("Meeting.MinutesAdjusted") < types.index("Initiative.Finalised") < types.index(
        "Initiative.Closed")
    decided_at = next(e["occurred_at"] for e in entries if e["type"] == "Meeting.ItemDecided")
    earlier = json.loads(run("timeline", diary_number, "--json", "--as-of", decided_at).output)
    assert earlier[-1]["type"] == "Meeting.ItemDecided" and "Initiative.Finalised" not in [e["type"] for e in earlier]
    printed = run("timeline", diary_number)
    assert printed.exit_code == 0 and f"{diary_number}: {len(entries)} events from initiatives, meetings" in printed.output
    decision = next(e for e in entries if e["type"] == "Initiative.DecisionRecorded")
    decided_in_meeting = next(e for e in entries if e["type"] == "Meeting.ItemDecided")
    assert decision["causation_id"] == decided_in_meeting["event_id"] == decision["caused_by"]["event_id"]
    assert decision["correlation_id"] == decided_in_meeting["correlation_id"] is not None
    assert (decision["caused_by"]["source"], decision["caused_by"]["type"]) == ("meetings", "Meeting.ItemDecided")
    assert "← caused by meetings Meeting.ItemDecided" in printed.output
    # in effect on the meeting's day, by the business dates the events carry: decided, the minutes not yet adjusted
    in_effect = json.loads(run("timeline", diary_number, "--json", "--in-effect-on", "2025-11-12").output)
    kinds = [e["type"] for e in in_effect]
    assert "Initiative.DecisionRecorded" in kinds and "Initiative.Finalised" not in kinds
    assert {"Meeting.Scheduled", "Meeting.Convened", "Meeting.ItemDecided"} <= set(kinds)  # the meeting held that day
    assert "Meeting.MinutesAdjusted" not in kinds and {e["basis"] for e in in_effect} == {"in_effect"}
    assert [e["effective_on"] for e in in_effect] == sorted(e["effective_on"] for e in in_effect)
    printed_in_effect = run("timeline", diary_number, "--in-effect-on", "2025-11-12")
    assert "as in effect on 2025-11-12" in printed_in_effect.output, printed_in_effect.output
    state_then = json.loads(run("state", diary_number, "--json", "--in-effect-on", "2025-11-12").output)
    initiative_then = next(s for s in state_then if s["type"] == "Initiative")
    assert initiative_then["state"]["state"] == "decided" and initiative_then["basis"] == "in_effect"
    meeting_then = next(s for s in state_then if s["type"] == "Meeting")
    assert meeting_then["state"]["adjusted_on"] is None and meeting_then["state"]["paragraphs"]

    then = {s["type"]: s for s in json.loads(run("state", diary_number, "--json", "--as-of", decided_at).output)}
    assert then["Initiative"]["state"]["state"] == "scheduled" and then["Meeting"]["state"]["state"] == "open"
    verified = run("verify", diary_number)
    assert verified.exit_code == 0 and f"{diary_number}: intact — 2 aggregates" in verified.output, verified.output
    package = tmp_path / "case.zip"
    assert run("export", diary_number, "-o", str(package)).exit_code == 0
    archive = read_archive(package)
    assert archive.problems == [] and archive.timeline == entries
    assert {a["type"] for a in archive.manifest["aggregates"]} == {"Initiative", "Meeting"}

    audit = api_for(audit_config)
    case_path = f"/cases/{diary_number}"
    assert audit.get(f"{case_path}/timeline").json()["events"] == entries
    indexed = audit.get(f"{case_path}/aggregates").json()["aggregates"]
    assert sorted((a["service"], a["type"]) for a in indexed) == [("initiatives", "Initiative"), ("meetings", "Meeting")]
    through_index = run("timeline", diary_number, "--json", "--index", audit.base_url)
    assert json.loads(through_index.output) == entries  # the CLI reads only the aggregates the index names
    states = audit.get(f"{case_path}/states", params={"as_of": decided_at}).json()["aggregates"]
    assert {s["type"]: s["state"] for s in states} == {t: s["state"] for t, s in then.items()}
    verification = audit.get(f"{case_path}/verification").json()
    assert verification["intact"] and len(verification["aggregates"]) == 2
    downloaded = audit.get(f"{case_path}/archive")
    assert downloaded.headers["Content-Type"] == "application/zip"
    (tmp_path / "downloaded.zip").write_bytes(downloaded.content)
    assert read_archive(tmp_path / "downloaded.zip").problems == []
    assert audit.get("/services/meetings/verification").json()["intact"]
    assert_problem(audit.get("/services/archive/verification"), 404)
    assert_problem(audit.get("/cases/RUN 1999-0001/timeline"), 404)
    refused = assert_problem(audit.get(f"{case_path}/timeline", params={"as_of": "yesterday"}), 400)
    assert [error["field"] for error in refused["errors"]] == ["as_of"]
    assert_problem(audit.get(f"{case_path}/timeline", role=None), 401)

    meeting_id = next(e["aggregate_id"] for e in entries if e["type"] == "Meeting.ItemDecided")
    decided = next(e for e in entries if e["type"] == "Meeting.ItemDecided")
    StoredRows(configs["meetings"], "meetings").edit(meeting_id, decided["aggregate_version"], b"considered_answered",
                                                     b"approved")
    tampered = run("verify", diary_number)
    assert tampered.exit_code == 1
    assert f"TAMPERED meetings: aggregate {meeting_id} version {decided['aggregate_version']}" in tampered.output
    verification = audit.get(f"{case_path}/verification").json()
    assert not verification["intact"]
    assert verification["problems"] == [line.removeprefix("TAMPERED ") for line in tampered.output.splitlines()]


def test_make_run_starts_the_services_and_loads_the_demo(infrastructure: Infrastructure, tmp_path: Any) -> None:
    infrastructure.purge_inboxes()
    ports = {"initiatives": free_port(), "meetings": free_port(), "letters": free_port(), "evaluations": free_port(),
             "audit": free_port(), "web": free_port()}
    register = f"test-public-register-{uuid.uuid4().hex[:8]}"  # its queues removed after: none left to fill up
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "AMQP_URI": infrastructure.amqp_uri,
           "REGISTER_NAME": register, **{f"{service.upper()}_PORT": str(port) for service, port in ports.items()}}
    with open(kept_log_path(str(tmp_path / "run_local.log")), "ab") as log:  # the services' log lines
        runner = subprocess.Popen(
            [sys.executable, "-m", "services.run_local"],
            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=log, text=True,
        )
    development_auditor = {"Authorization": "Bearer dev-auditor"}  # the README's token
    try:
        assert runner.stdout is not None
        first_line = runner.stdout.readline()  # the web app's address comes first
        assert first_line.startswith(f"web app on http://localhost:{ports['web']}"), first_line
        demo_line = runner.stdout.readline()
        assert demo_line.startswith("demo loaded: RUN ") and demo_line.rstrip().endswith("(final)"), demo_line
        initiatives = Api(f"http://127.0.0.1:{ports['initiatives']}")
        [demo] = initiatives.get("/initiatives", None, headers=development_auditor).json()["initiatives"]
        assert [p["name"] for p in demo["preparers"]] == [p["name"] for p in seed_000()["referral"]["preparers"]]
        meetings = Api(f"http://127.0.0.1:{ports['meetings']}")
        [held] = meetings.get("/meetings", None, headers=development_auditor).json()["meetings"]
        assert held["state"] == "adjusted"
        assert held["paragraphs"][0]["diary_number"] == demo["diary_number"]
        letters = Api(f"http://127.0.0.1:{ports['letters']}")
        assert len(letters.get("/letters", None, headers=development_auditor).json()["letters"]) == 2
        [agreement] = letters.get("/agreements", None, headers=development_auditor).json()["agreements"]
        assert agreement["in_force_on"] is not None and len(agreement["parties"]) == 15
        evaluations = Api(f"http://127.0.0.1:{ports['evaluations']}")
        found = evaluations.get("/evaluations", None, headers=development_auditor).json()["evaluations"]
        assert sorted(e["state"] for e in found) == ["planned", "published"]
        cited = [d.get("evaluation_id") for d in demo["answer"]["basis_documents"]]
        assert next(e["id"] for e in found if e["state"] == "published") in cited
        audit = Api(f"http://127.0.0.1:{ports['audit']}")  # reads the four services
        verification = audit.get(f"/cases/{demo['diary_number']}/verification", None, headers=development_auditor)
        assert verification.json()["intact"] and len(verification.json()["aggregates"]) == 2
        web = requests.Session()  # the web app: a development role from its sign-in page, then the demo's case
        web_url = f"http://127.0.0.1:{ports['web']}"
        assert 'value="dev-registrar"' in web.get(f"{web_url}/logga-in").text
        signed_in = web.post(f"{web_url}/logga-in", data={"token": "dev-registrar", "next": "/arenden"},
                             headers={"Origin": web_url}, timeout=30)
        assert signed_in.status_code == 200 and signed_in.url == f"{web_url}/arenden"
        assert demo["diary_number"] in signed_in.text and "Registrator (utveckling)" in signed_in.text
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.wait(timeout=60)
        infrastructure.delete_subscriber_queues(register)
    assert runner.returncode == 0
    for port in ports.values():
        with pytest.raises(requests.ConnectionError):  # the services went with it
            Api(f"http://127.0.0.1:{port}").get("/health", timeout=2)
