"""Schemathesis against every service's OpenAPI document, as each serves it at /openapi.json.

The five services run in this process (nameko's container, SQLite in a temporary
directory, the real RabbitMQ), seeded with a little of everything; the generated
requests use those ids and names now and then, so commands reach the domain and not
only 404. Every request carries a token with every role, so it gets past 403.

Checks: no 5xx; every 4xx is application/problem+json with status (the HTTP status),
title and detail; responses conform to the document (status codes, content types,
headers, schemas); schema-violating requests are refused (400, or 413 for a body over
the limit); a method a path does not have gets 405 with Allow; a missing or wrong token
gets 401. Not positive_data_acceptance: the document cannot say everything the services
refuse (dates outside 1900–2999, lone surrogates, a period that ends before it starts,
a party that is not one of the agreement's ...), so a schema-valid request may rightly
get 400.

FUZZ_EXAMPLES: Hypothesis' max_examples per operation for the service with the most
operations; services with fewer get proportionally more, so each gets about as many
requests. 5 when unset (`make test`: about two minutes); `make fuzz` sets 150, several
thousand requests per service. FUZZ_SEED fixes the generation.
"""
from __future__ import annotations

import importlib
import os
import time
from collections import Counter
from typing import Any, Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings, strategies as st
from nameko.containers import get_container_cls
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from services.audit.service import AuditService
from services.evaluations.service import EvaluationsService
from services.initiatives.service import InitiativesService
from services.letters_of_intent.demo import load_agreement, load_letters
from services.letters_of_intent.service import LettersOfIntentService
from services.meetings.demo import run_meeting_seed
from services.meetings.service import MeetingsService
from shared.auth import ROLES
from shared.http import PROBLEM_JSON
from tests.fuzz.conftest import SUMMARY
from tests.support.cases import drive, submit
from tests.support.infrastructure import Infrastructure
from tests.support.meetings import establish_body, meeting_steps
from tests.support.services import AUTH_TOKENS, Api, api_for, service_config, token_digests

if not hasattr(pytest.Function, "_nodeid"):
    # schemathesis 4.32's from_fixture names each operation's subtest through `_nodeid`, which
    # pytest 9.2 replaced with `_id`: the same, through the public node id.
    from _pytest.nodeid import coerce_node_id

    pytest.Function._nodeid = property(  # type: ignore[attr-defined]
        lambda node: node.nodeid, lambda node, value: setattr(node, "_id", coerce_node_id(value)))

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
FUZZ_SEED = os.environ.get("FUZZ_SEED")
FUZZ_TOKEN = "test-fuzz"
FUZZ_AUTH_TOKENS = {**AUTH_TOKENS, FUZZ_TOKEN: {"actor": "Fuzz (every role)", "roles": list(ROLES)}}

BODY_REFERENCES = ("body_id", "diary_number", "party", "adjuster")
SERVICES = {
    "initiatives": InitiativesService,
    "letters_of_intent": LettersOfIntentService,
    "meetings": MeetingsService,
    "evaluations": EvaluationsService,
}
# The audit service first: before the fuzzing of the others has written much for it to read.
FUZZED = ["audit", *SERVICES]


@schemathesis.check
def problem_details(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx is application/problem+json with status (the HTTP status), title and detail."""
    if not 400 <= response.status_code < 500:
        return None
    content_type = response.headers.get("content-type", [""])[0].split(";")[0].strip()
    if content_type != PROBLEM_JSON:
        raise AssertionError(f"{response.status_code} answered as {content_type!r}, not {PROBLEM_JSON}")
    try:
        problem = response.json()
    except ValueError:
        raise AssertionError(f"{response.status_code}: the problem document is not JSON") from None
    if not isinstance(problem, dict):
        raise AssertionError(f"{response.status_code}: the problem document is not an object")
    if problem.get("status") != response.status_code:
        raise AssertionError(f"problem status {problem.get('status')!r} for HTTP {response.status_code}")
    for member in ("title", "detail"):
        if not isinstance(problem.get(member), str) or not problem[member]:
            raise AssertionError(f"{response.status_code}: the problem document has no {member}")
    return True


CHECKS = [
    not_a_server_error,
    problem_details,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    unsupported_method,
    ignored_auth,
]


def start(service_class: type, config: dict[str, Any]) -> Any:
    container = get_container_cls(config)(service_class, config)
    container.start()
    return container


def seed(apis: dict[str, Api]) -> dict[str, list[str]]:
    """A little of everything: ids and names the generated requests may use, by the path parameter
    or body field that takes them."""
    ids: dict[str, list[str]] = {}

    def add(name: str, *values: str) -> None:
        ids.setdefault(name, []).extend(values)

    initiatives = apis["initiatives"]
    submitted = submit(initiatives)
    registered = drive(initiatives, submit(initiatives)["id"], "registration")
    referred = drive(initiatives, submit(initiatives)["id"], "referral")
    answered = drive(initiatives, submit(initiatives)["id"], "answer")
    add("initiative_id", *(case["id"] for case in (submitted, registered, referred, answered)))
    add("diary_number", registered["diary_number"], referred["diary_number"], answered["diary_number"])

    letters = apis["letters_of_intent"]
    post_letters = lambda path, body: letters.command(path, "strategist", body)  # noqa: E731
    add("letter_id", *(letter["id"] for letter in load_letters(post_letters)))
    agreement = load_agreement(post_letters, signing=3)
    add("agreement_id", agreement["id"])
    add("consultation_id", *(c["consultation_id"] for c in agreement["consultations"]))
    add("diary_number", *(c["diary_number"] for c in agreement["consultations"]))
    add("party", *(party["party"] for party in agreement["parties"]))

    meetings = apis["meetings"]
    body = establish_body(meetings)
    add("body_id", body["id"])
    add("adjuster", *run_meeting_seed()["adjusters"]["adjusters"])
    add("membership_id", *(member["membership_id"] for member in body["memberships"]))
    decided = drive(initiatives, submit(initiatives)["id"], "answer")  # its minutes adjusted: they and extracts are PDFs
    for through, case in (("scheduled", registered), ("agenda", referred), ("opening", answered),
                          ("public_notice", decided)):
        steps = meeting_steps(meetings, body["id"], case["diary_number"])
        meeting = next(m for step, m in steps if step == through)
        add("meeting_id", meeting["id"])
        add("item_id", *(item["item_id"] for item in meeting.get("agenda", [])))
        add("number", *(int(p["paragraph"].removeprefix("§ ")) for p in meeting.get("paragraphs", [])))

    evaluations = apis["evaluations"]
    plan = {"title": "Halvtidsutvärdering", "kind": "mid_term",
            "subject": {"kind": "agreement", "reference": agreement["id"], "title": "Samverkansavtal"},
            "period_from": "2023-01-01", "period_to": "2024-12-31",
            "responsible": [{"name": "Kerstin Hamre", "title": "samordnare"}]}
    planned = evaluations.command("/evaluations", "strategist", plan)
    started = evaluations.command("/evaluations", "strategist", plan)
    evaluations.command(f"/evaluations/{started['id']}/start", "strategist", {"started_on": "2025-01-15"})
    add("evaluation_id", planned["id"], started["id"])
    add("service_name", *SERVICES)
    aggregates = [value for name, values in ids.items() if name.endswith("_id") for value in values]
    add("aggregate_id", *aggregates)
    return ids


@pytest.fixture(scope="module")
def stack(infrastructure: Infrastructure, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The five services, running and seeded; their configs by name and the seeded ids."""
    infrastructure.purge_inboxes()
    data = tmp_path_factory.mktemp("fuzz")
    configs: dict[str, dict[str, Any]] = {}
    containers = []
    try:
        for name, service_class in SERVICES.items():
            store = {"PERSISTENCE": "sqlite", "DATA_DIR": str(data / name)}
            configs[name] = service_config(infrastructure.amqp_uri, store, AUTH_TOKEN_DIGESTS=token_digests(FUZZ_AUTH_TOKENS),
                                           REMINDERS_ENABLED="true")  # the seeds' reminders fall due: listed
            containers.append(start(service_class, configs[name]))
        configs["audit"] = service_config(
            infrastructure.amqp_uri, {"PERSISTENCE": "sqlite", "DATA_DIR": str(data / "audit")},
            AUTH_TOKEN_DIGESTS=token_digests(FUZZ_AUTH_TOKENS), AUDIT_TOKEN="test-auditor",
            AUDIT_SOURCES={name: f"http://{configs[name]['WEB_SERVER_ADDRESS']}" for name in SERVICES},
        )
        containers.append(start(AuditService, configs["audit"]))
        ids = seed({name: api_for(config) for name, config in configs.items()})
        yield {"configs": configs, "ids": ids}
    finally:
        for container in reversed(containers):
            container.stop()


def examples_per_operation(service: str) -> int:
    """FUZZ_EXAMPLES for the service with the most operations, proportionally more for the others."""
    operations = {name: len(importlib.import_module(f"services.{name}.service").api.routes) for name in FUZZED}
    return -(-FUZZ_EXAMPLES * max(operations.values()) // operations[service])


RESPONSES: dict[str, Counter[str]] = {}  # by base URL: how many responses of each status class


@pytest.fixture(scope="module", params=FUZZED)
def service_schema(request: pytest.FixtureRequest, stack: dict[str, Any]) -> Iterator[Any]:
    """One service's schema, loaded from the document it serves, aimed at it with the all-roles token."""
    name = request.param
    base_url = f"http://{stack['configs'][name]['WEB_SERVER_ADDRESS']}"
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", config=SchemathesisConfig())
    schema.config.update(base_url=base_url, headers={"Authorization": f"Bearer {FUZZ_TOKEN}"})
    examples = examples_per_operation(name)
    schema.config.generation.update(max_examples=examples, database="none")
    rejection = schema.config.checks.negative_data_rejection  # a body over 1 MiB is refused with 413
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    if FUZZ_SEED is not None:
        schema.config.seed = int(FUZZ_SEED)
    known = stack["ids"]

    @schema.hook
    def flatmap_case(context: Any, case: Any) -> Any:
        """A valid request now and then names what exists (ids in the path; a body, case, party or
        adjuster in the body), so it reaches the domain instead of 'not found'. Invalid requests
        are left as generated: the check that they are refused must see what made them invalid."""
        if case.meta is None or case.meta.generation.mode is not GenerationMode.POSITIVE:
            return st.just(case)
        body = case.body if isinstance(case.body, dict) else {}
        path = {key: st.sampled_from([value, *known[key]])
                for key, value in (case.path_parameters or {}).items() if known.get(key)}
        fields = {key: st.sampled_from([value, *known[key]])
                  for key, value in body.items() if key in BODY_REFERENCES and known.get(key)}
        if not path and not fields:
            return st.just(case)

        def naming(chosen: tuple[dict[str, Any], dict[str, Any]]) -> Any:
            if chosen[0]:
                case.path_parameters = {**case.path_parameters, **chosen[0]}
            if chosen[1]:
                case.body = {**body, **chosen[1]}
            return case

        return st.tuples(st.fixed_dictionaries(path), st.fixed_dictionaries(fields)).map(naming)

    responses = RESPONSES[base_url] = Counter()
    started = time.monotonic()
    yield schema
    elapsed = time.monotonic() - started
    statuses = ", ".join(f"{status}: {count}" for status, count in sorted(responses.items()))
    request.config.stash.setdefault(SUMMARY, []).append(
        f"{name}: {sum(responses.values())} requests in {elapsed:.0f}s ({statuses}); "
        f"up to {examples} generated examples per operation")


schema = schemathesis.pytest.from_fixture("service_schema")


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_every_4xx_a_problem_every_response_documented(case: Any, service_schema: Any) -> None:
    response = case.call(timeout=60)
    RESPONSES[service_schema.config.base_url][f"{response.status_code // 100}xx"] += 1
    case.validate_response(response, checks=CHECKS)
