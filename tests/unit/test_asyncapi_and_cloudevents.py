"""The event contract for other systems: every published message a CloudEvent, every service's AsyncAPI
document valid (the AsyncAPI parser), committed as the code generates it, and true of the events."""
from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from cloudevents.core.exceptions import BaseCloudEventException

from services.asyncapi_docs import DOCS, REPO_ROOT, SERVICES, generated, rendered
from shared import clock, cloudevents
from shared.asyncapi import event_classes
from shared.envelope import payload_fields, to_envelope
from tests.support.cloudevents import check_cloudevent, header_errors, schema_errors

CHECKER = REPO_ROOT / "tests" / "asyncapi"
ERROR = 0  # the parser's DiagnosticSeverity.Error


@pytest.mark.parametrize("service", list(SERVICES))
def test_the_committed_document_is_what_the_code_generates(service: str) -> None:
    committed = (DOCS / f"{service}.json").read_text(encoding="utf-8")
    assert committed == rendered(generated(service)), f"run `make asyncapi-docs` (docs/asyncapi/{service}.json)"


def test_the_asyncapi_parser_accepts_every_document_and_refuses_a_broken_one(tmp_path: Path) -> None:
    assert shutil.which("node"), "Node.js is needed for the AsyncAPI parser"
    assert (CHECKER / "node_modules" / "@asyncapi" / "parser").is_dir(), "run `make node-modules`"
    files = {}
    for service in SERVICES:
        files[service] = tmp_path / f"{service}.json"
        files[service].write_text(json.dumps(generated(service)))
    broken = generated("initiatives")
    broken["operations"]["publishInitiativeRegistered"]["channel"] = {"$ref": "#/channels/nowhere"}
    files["broken"] = tmp_path / "broken.json"
    files["broken"].write_text(json.dumps(broken))

    run = subprocess.run(["node", str(CHECKER / "check.js"), *map(str, files.values())], capture_output=True,
                         text=True, timeout=120, cwd=CHECKER)

    diagnostics = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    errors = {name: [d for d in diagnostics if d["file"] == str(path) and d["severity"] == ERROR]
              for name, path in files.items()}
    assert all(not errors[service] for service in SERVICES), {s: errors[s] for s in SERVICES if errors[s]}
    assert any(d["code"] == "invalid-ref" for d in errors["broken"]), run.stdout + run.stderr
    assert run.returncode == 1


def test_every_published_event_has_a_payload_schema_of_its_fields_and_version() -> None:
    from services.initiatives.application import InitiativesApplication

    document = generated("initiatives")
    schemas = document["components"]["schemas"]
    for event_class in event_classes(InitiativesApplication.published):
        name = event_class.__qualname__
        assert set(schemas[f"{name}.payload"]["properties"]) == set(payload_fields(event_class)), name
        fixed = schemas[name]["allOf"][1]["properties"]
        assert fixed["schema_version"] == {"const": getattr(event_class, "class_version", 1)}, name
        assert f"publish{name.replace('.', '')}" in document["operations"]
    assert schemas["Initiative.ReferredForPreparation"]["allOf"][1]["properties"]["schema_version"] == {"const": 2}
    # what the meetings service consumes of the initiatives, and the audit service all of it
    assert set(generated("meetings")["channels"]["initiativesInbox"]["messages"]) == {
        "Initiative.ReferredForPreparation", "Initiative.ProposalRecorded", "Initiative.DecisionRecorded"}
    assert generated("audit")["channels"]["initiativesInbox"]["address"] == "initiatives.events--audit.inbox"


def _envelope(diary_number: str | None = "RUN 2025-0001") -> dict[str, Any]:
    from services.initiatives.domain import Initiative

    initiative = Initiative(kind="motion", title="Samverkan", text="x", proposal_clauses=["att"],
                            submitters=[{"name": "A"}], submitted_on=clock.today(),
                            addressed_to="Regionfullmäktige", actor="a")
    event = initiative.collect_events()[0]
    return json.loads(json.dumps(to_envelope("initiatives", 7, event, diary_number), default=str))


def test_an_envelope_is_valid_by_its_type_and_a_wrong_one_is_not() -> None:
    document = generated("initiatives")
    envelope = _envelope()
    assert schema_errors(document, envelope) == []
    assert schema_errors(document, {**envelope, "schema_version": 2})
    assert schema_errors(document, {**envelope, "payload": {**envelope["payload"], "submitted_on": "today"}})
    assert schema_errors(document, {**envelope, "payload": {**envelope["payload"], "extra": 1}})
    assert schema_errors(document, {key: value for key, value in envelope.items() if key != "chain"})
    assert schema_errors(document, {**envelope, "type": "Initiative.Invented"})


def test_the_headers_make_a_cloudevent_the_sdk_reads_with_the_envelopes_attributes() -> None:
    envelope = _envelope()
    headers = {"position": 7, "source": "initiatives", **cloudevents.headers(envelope)}
    body = json.dumps(envelope).encode()

    assert check_cloudevent(headers, "application/json", body) == envelope
    assert headers["ce-subject"] == headers["cloudEvents:subject"] == "RUN 2025-0001"
    assert headers["ce-sequence"] == "00000000000000000007"
    assert headers["ce-type"] == "se.region.cases.Initiative.Submitted"
    assert header_errors(generated("initiatives"), headers) == []
    assert "ce-subject" not in cloudevents.headers(_envelope(diary_number=None))
    # lexicographic order of the sequence is the order of the positions
    assert sorted(cloudevents.sequence_of(p) for p in (10, 9, 100)) == [cloudevents.sequence_of(p) for p in (9, 10, 100)]


def test_a_message_without_an_id_or_with_other_attributes_than_its_envelope_is_refused() -> None:
    envelope = _envelope()
    headers = {"position": 7, "source": "initiatives", **cloudevents.headers(envelope)}
    body = json.dumps(envelope).encode()
    without_id = {name: value for name, value in headers.items() if not name.endswith(":id") and name != "ce-id"}
    with pytest.raises(AssertionError):
        check_cloudevent(without_id, "application/json", body)
    with pytest.raises(BaseCloudEventException):  # the SDK's own validation
        check_cloudevent({**headers, "ce-source": "", "cloudEvents:source": ""}, "application/json", body)
    with pytest.raises(AssertionError):
        check_cloudevent({**headers, "ce-id": str(uuid4()), "cloudEvents:id": str(uuid4())}, "application/json", body)
    assert header_errors(generated("initiatives"), {**headers, "ce-sequence": "7"})
    assert date.fromisoformat(envelope["payload"]["submitted_on"]) == clock.today()


def test_the_document_names_the_broker_and_its_vhost_but_never_its_credentials() -> None:
    """A cluster's AMQP_URI lists its brokers `;`-separated, each with the credentials: the public
    document names the first broker and the vhost (decoded), and no password, wherever it stood."""
    from services.initiatives.service import InitiativesService, api as api_doc
    from shared.asyncapi import for_service

    document = for_service(InitiativesService, api_doc.title,
                           "amqp://cases:s3cret-one@rabbit-1:5672/cases%2Fprod;amqp://cases:s3cret-two@rabbit-2/cases")
    text = json.dumps(document)
    assert "s3cret" not in text and "rabbit-2" not in text
    assert document["servers"] == {"rabbitmq": {**document["servers"]["rabbitmq"], "host": "rabbit-1:5672",
                                                "pathname": "/cases/prod"}}
    assert document["channels"]["events"]["bindings"]["amqp"]["exchange"]["vhost"] == "cases/prod"
