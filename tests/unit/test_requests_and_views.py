"""Request validation, problem documents, envelopes and the entrypoints' wiring (mocked store)."""
from __future__ import annotations

import re

import json
from datetime import date
from unittest.mock import MagicMock
from uuid import uuid4

import pytest
from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.initiatives import schemas
from shared.dependencies import Cleared
from shared.secrecy import cleared_roles
from shared import schemas as shared_schemas
from services.initiatives.domain import Initiative
from services.initiatives.service import InitiativesService, api
from shared.auth import Authenticator, ConfigurationError, PlainTokens
from shared.envelope import to_envelope
from shared.errors import CommandNotAllowed, Forbidden, InvalidRequest, Unauthenticated
from shared.http import load, problem_for

VALID_SUBMISSION = {
    "kind": "initiative",
    "title": "Samverkan med civilsamhället",
    "text": "…",
    "proposal_clauses": ["att …"],
    "submitters": [{"name": "Veronica Kerr", "party": "KD"}],
    "submitted_on": "2025-05-17",
    "addressed_to": "Regionala utvecklingsnämnden",
}


@pytest.mark.parametrize("change, field", [
    ({"kind": "petition"}, "kind"),
    ({"title": ""}, "title"),
    ({"submitted_on": "2025-02-30"}, "submitted_on"),
    ({"submitted_on": 20250517}, "submitted_on"),
    ({"submitters": []}, "submitters"),
    ({"submitters": [{"party": "KD"}]}, "submitters.0.name"),
    ({"proposal_clauses": "att …"}, "proposal_clauses"),
    ({"unexpected": True}, "unexpected"),
    ({"submitted_on": "9999-06-01"}, "submitted_on"),
    ({"title": "\ud800"}, "title"),
    ({"submitters": None}, "submitters"),
])
def test_an_invalid_submission_names_the_field(change: dict, field: str) -> None:
    with pytest.raises(InvalidRequest) as invalid:
        load(schemas.SubmitInitiative(), {**VALID_SUBMISSION, **change})
    assert field in [error["field"] for error in invalid.value.errors]
    assert invalid.value.problem()["status"] == 400


def test_a_missing_required_field_is_named() -> None:
    body = dict(VALID_SUBMISSION)
    del body["submitters"]
    with pytest.raises(InvalidRequest) as invalid:
        load(schemas.SubmitInitiative(), body)
    assert invalid.value.errors == [{"field": "submitters", "message": "Missing data for required field."}]


def test_a_body_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidRequest) as invalid:
        load(schemas.SubmitInitiative(), ["not", "an", "object"])
    assert invalid.value.errors[0]["field"] == "body"


@pytest.mark.parametrize("as_of", ["\u00b2", "9" * 5000, "yesterday", "2025-13-01"])
def test_an_impossible_as_of_is_refused(as_of: str) -> None:
    with pytest.raises(InvalidRequest) as invalid:
        load(shared_schemas.HistoryQuery(), {"as_of": as_of})
    assert invalid.value.errors[0]["field"] == "as_of"


@pytest.mark.parametrize("as_of, expected", [
    ("3", {"version": "3"}),
    ("20250601", {"at": "2025-06-01 23:59:59.999999+02:00"}),
    ("2025-06-01T12:00:00+00:00", {"at": "2025-06-01 12:00:00+00:00"}),
    ("2025-06-01", {"at": "2025-06-01 23:59:59.999999+02:00"}),
])
def test_as_of_is_a_version_or_a_moment(as_of: str, expected: dict) -> None:
    loaded = load(shared_schemas.HistoryQuery(), {"as_of": as_of})["as_of"]
    assert {key: str(value) for key, value in loaded.items()} == expected


def test_problems_carry_their_status_and_details() -> None:
    conflict = problem_for(CommandNotAllowed("dispatch", "scheduled", ["record_decision", "withdraw"]))
    assert conflict["status"] == 409
    assert conflict["state"] == "scheduled"
    assert conflict["allowed_commands"] == ["record_decision", "withdraw"]
    assert problem_for(RuntimeError("secret detail"))["status"] == 500
    assert "secret detail" not in json.dumps(problem_for(RuntimeError("secret detail")))


def _request(token: str | None) -> Request:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Request(EnvironBuilder(headers=headers).get_environ())


def test_tokens_map_to_actor_and_roles() -> None:
    table = Authenticator([PlainTokens({"t1": {"actor": "Rut", "roles": ["registrar"]}})])
    assert table.authorize(_request("t1"), ["registrar"]).name == "Rut"
    with pytest.raises(Unauthenticated):
        table.authenticate(_request(None))
    with pytest.raises(Unauthenticated):
        table.authenticate(_request("unknown"))
    with pytest.raises(Forbidden):
        table.authorize(_request("t1"), ["secretary"])
    with pytest.raises(ConfigurationError):
        PlainTokens({"t2": {"actor": "X", "roles": ["superuser"]}})


def test_an_envelope_carries_the_documented_fields() -> None:
    initiative = Initiative(actor="Rut", **load(schemas.SubmitInitiative(), VALID_SUBMISSION))
    submitted_event = initiative.collect_events()[0]
    envelope = to_envelope("initiatives", 7, submitted_event, None)
    assert set(envelope) == {
        "envelope_version", "event_id", "type", "schema_version", "source", "position",
        "diary_number", "aggregate_id", "aggregate_version", "occurred_at", "actor", "correlation_id",
        "causation_id", "effective_on", "imported", "payload", "chain",
    }
    assert envelope["type"] == "Initiative.Submitted"
    assert envelope["actor"] == "Rut"
    assert envelope["payload"]["submitted_on"] == "2025-05-17"
    assert envelope["event_id"] == to_envelope("initiatives", 9, submitted_event, None)["event_id"]


def test_an_entrypoint_passes_the_authenticated_actor_and_the_loaded_command() -> None:
    initiative = Initiative(actor="Rut", **load(schemas.SubmitInitiative(), VALID_SUBMISSION))
    store = MagicMock()
    store.register_initiative.return_value = initiative
    tokens = Authenticator([PlainTokens({"t1": {"actor": "Rut Registrator", "roles": ["registrar"]}})])
    service = worker_factory(InitiativesService, initiatives=store, auth=tokens, clearance=Cleared(cleared_roles(None)))
    request = Request(EnvironBuilder(
        method="POST", json={"registered_on": "2025-05-19"}, headers={"Authorization": "Bearer t1"}
    ).get_environ())
    initiative_id = uuid4()

    shown = service.register_initiative(request, initiative_id=initiative_id)

    store.register_initiative.assert_called_once_with(
        initiative_id, actor="Rut Registrator", registered_on=date(2025, 5, 19)
    )
    assert shown["title"] == VALID_SUBMISSION["title"]


def test_the_openapi_document_lists_every_route_with_its_schemas() -> None:
    document = api.spec()
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
    declared = {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route.path), route.method.lower()) for route in api.routes}
    # 21 + search + aggregate events + live, ready, metrics + reminders (list, done), the undecided motions'
    # report (JSON, PDF) + POST /imports + the upload (POST /files) and the auditors' read of a stored file, a
    # case's documents (register, read a file) + secrecy (mark, lift) + the AsyncAPI document
    assert documented == declared and len(declared) == 38
    assert document["openapi"].startswith("3.")
    submit = document["paths"]["/initiatives"]["post"]
    assert submit["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SubmitInitiative"
    }
    assert {"400", "401", "403", "201"} <= set(submit["responses"])
    assert "SubmitInitiative" in document["components"]["schemas"]
    history = document["paths"]["/initiatives/{initiative_id}/history"]["get"]
    assert [p["name"] for p in history["parameters"]] == ["initiative_id", "as_of", "in_effect_on"]


def test_the_audit_services_openapi_document_lists_its_routes_and_the_oparl_ones_are_public() -> None:
    from services.audit.service import api as audit_api

    document = audit_api.spec()
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
    declared = {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route.path), route.method.lower()) for route in audit_api.routes}
    # health, openapi, live, ready, metrics, a case's timeline, states, verification, archive, aggregates,
    # search, a service's verification + OParl: system, bodies, a body's list, one object
    assert documented == declared and len(declared) == 17
    oparl = {path: operations["get"] for path, operations in document["paths"].items() if path.startswith("/oparl/")}
    assert len(oparl) == 4 and all(operation["security"] == [] for operation in oparl.values())
    listed = oparl["/oparl/v1/body/{body_id}/{list_name}"]
    assert {"modified_since", "page", "limit"} <= {p["name"] for p in listed["parameters"]} and "400" in listed["responses"]
