"""The HTTP API on both stores, in nameko's container, against the real broker and database."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from openapi_spec_validator import validate

from services.initiatives.demo import seed_000
from shared import clock
from tests.support.cases import drive, submit
from tests.support.services import Api, TEST_TOKENS, assert_problem



def log_position(api: Api) -> int:
    return api.get("/health").json()["log_position"]


def test_seed_000_runs_from_submission_to_closure_and_its_history_shows_every_step(api: Api) -> None:
    seed = seed_000()
    initiative = submit(api)
    assert initiative["state"] == "submitted" and initiative["diary_number"] is None

    closed = drive(api, initiative["id"], "closure")

    assert closed["state"] == "closed"
    assert closed["diary_number"].startswith("RUN 2025-")
    assert closed["decision"]["outcome"] == "considered_answered"
    assert closed["decision"]["paragraph"] == seed["decision"]["paragraph"]
    assert closed["finalised_on"] == "2025-11-17"
    assert [r["name"] for r in closed["recipients"]] == ["Veronica Kerr", "Per Boström", "Kerstin Hamre"]
    history = api.get(f"/initiatives/{initiative['id']}/history").json()
    assert [e["type"] for e in history["events"]] == [
        "Initiative.Submitted", "Initiative.Registered", "Initiative.ReferredForPreparation",
        "Initiative.AnswerDrafted", "Initiative.ScheduledForDecision", "Initiative.DecisionRecorded",
        "Initiative.Finalised", "Initiative.Dispatched", "Initiative.Closed",
    ]
    assert [e["aggregate_version"] for e in history["events"]] == list(range(1, 10))
    assert history["events"][1]["actor"] == TEST_TOKENS["registrar"]["actor"]
    assert history["events"][5]["actor"] == TEST_TOKENS["secretary"]["actor"]
    assert history["state"] == closed


def test_history_as_of_a_version_or_a_moment_shows_the_state_then(api: Api) -> None:
    initiative = submit(api)
    drive(api, initiative["id"], "referral")
    path = f"/initiatives/{initiative['id']}/history"
    full = api.get(path).json()

    at_version_2 = api.get(path, params={"as_of": "2"}).json()
    assert at_version_2["state"]["state"] == "registered"
    assert len(at_version_2["events"]) == 2

    registered_at = full["events"][1]["occurred_at"]
    at_moment = api.get(path, params={"as_of": registered_at}).json()
    assert at_moment["state"]["state"] == "registered"

    before = api.get(path, params={"as_of": "2001-01-01"})
    assert assert_problem(before, 400)["errors"][0]["field"] == "as_of"


def test_a_command_that_does_not_fit_the_state_gets_409_and_changes_nothing(api: Api) -> None:
    initiative = submit(api)
    position = log_position(api)

    response = api.post(f"/initiatives/{initiative['id']}/dispatch", "registrar", seed_000()["dispatch"])

    problem = assert_problem(response, 409)
    assert problem["state"] == "submitted"
    assert problem["allowed_commands"] == ["register", "withdraw"]
    assert log_position(api) == position


@pytest.mark.parametrize("body, fields", [
    ({"kind": "petition"}, {"kind"}),
    ({"submitted_on": "2025-02-30"}, {"submitted_on"}),
    ({"submitters": []}, {"submitters"}),
    ({"submitters": [{"name": "Per Boström", "party": 7}]}, {"submitters.0.party"}),
    ({"title": None}, {"title"}),
    ({"colour": "blue"}, {"colour"}),
])
def test_an_invalid_submission_gets_400_naming_each_field_and_writes_nothing(api: Api, body: dict, fields: set) -> None:
    position = log_position(api)
    response = api.post("/initiatives", "case_officer", {**seed_000()["submission"], **body})
    problem = assert_problem(response, 400)
    assert {error["field"] for error in problem["errors"]} == fields
    assert log_position(api) == position


def test_malformed_json_and_missing_fields_get_400(api: Api) -> None:
    response = api.request("POST", "/initiatives", "case_officer", data="{not json",
                           headers={"Content-Type": "application/json"})
    assert assert_problem(response, 400)["errors"][0]["field"] == "body"
    response = api.post("/initiatives", "case_officer", {})
    named = {error["field"] for error in assert_problem(response, 400)["errors"]}
    assert named == {"kind", "title", "text", "submitters", "submitted_on", "addressed_to"}


def test_an_invalid_due_date_is_refused_as_the_field_it_is(api: Api) -> None:
    initiative = submit(api)
    api.command(f"/initiatives/{initiative['id']}/register", "registrar")
    referral = {**seed_000()["referral"], "due_date": "2025-05-01"}
    response = api.post(f"/initiatives/{initiative['id']}/referral", "registrar", referral)
    assert assert_problem(response, 400)["errors"][0]["field"] == "due_date"


def test_writes_need_a_token_and_the_right_role_and_auditors_only_read(api: Api) -> None:
    body = seed_000()["submission"]
    unauthenticated = api.post("/initiatives", None, body)
    assert_problem(unauthenticated, 401)
    assert unauthenticated.headers["WWW-Authenticate"].startswith("Bearer")  # HTTP requires it with a 401
    assert_problem(api.post("/initiatives", None, body, headers={"Authorization": "Bearer nope"}), 401)
    assert_problem(api.post("/initiatives", "auditor", body), 403)
    initiative = submit(api)
    assert_problem(api.post(f"/initiatives/{initiative['id']}/register", "secretary", {}), 403)
    assert api.get(f"/initiatives/{initiative['id']}", "auditor").status_code == 200
    assert_problem(api.get(f"/initiatives/{initiative['id']}", None), 401)


def test_unknown_things_get_problem_documents_not_html(api: Api) -> None:
    assert_problem(api.get("/initiatives/00000000-0000-0000-0000-000000000000"), 404)
    assert_problem(api.get("/initiatives/not-a-uuid"), 404)
    assert_problem(api.get("/no/such/route"), 404)
    assert_problem(api.request("DELETE", "/initiatives", "registrar"), 405)
    assert_problem(api.get("/initiatives", params={"state": "lost"}), 400)
    assert_problem(api.get("/events", params={"limit": "0"}), 400)


def test_a_wrong_method_gets_405_with_the_allow_header_http_requires(api: Api) -> None:
    """Found by the fuzzing (TRACE /health): the problem document dropped the Allow header."""
    for method, path, allowed in (("TRACE", "/health", {"GET", "HEAD"}),
                                  ("DELETE", "/initiatives", {"GET", "HEAD", "POST"})):
        response = api.request(method, path, "registrar")
        assert_problem(response, 405)
        assert set(response.headers["Allow"].split(", ")) == allowed


def test_lists_filter_by_state_diary_and_overdue(api: Api) -> None:
    overdue = submit(api, title="Förfallen")
    drive(api, overdue["id"], "registration")
    api.command(f"/initiatives/{overdue['id']}/referral", "registrar", {
        "preparers": [{"name": "Kerstin Hamre"}], "due_date": (clock.today() - timedelta(days=1)).isoformat(),
        "referred_on": (clock.today() - timedelta(days=30)).isoformat(),
    })
    on_time = submit(api, title="I tid")
    drive(api, on_time["id"], "referral")  # due 2025-10-31, but the seed's dates are in the past too
    fresh = submit(api, title="Ny")
    api.command(f"/initiatives/{fresh['id']}/register", "registrar", {"registered_on": clock.today().isoformat()})
    api.command(f"/initiatives/{fresh['id']}/referral", "registrar", {
        "preparers": [{"name": "Kerstin Hamre"}], "due_date": (clock.today() + timedelta(days=60)).isoformat(),
    })
    withdrawn = submit(api, title="Återkallad")
    api.command(f"/initiatives/{withdrawn['id']}/withdrawal", "registrar", {"reason": "Återkallad"})

    def titles(**params: str) -> set[str]:
        response = api.get("/initiatives", params=params)
        assert response.status_code == 200, response.text
        return {i["title"] for i in response.json()["initiatives"]}

    assert titles() == {"Förfallen", "I tid", "Ny", "Återkallad"}
    assert titles(state="withdrawn") == {"Återkallad"}
    assert titles(state="in_preparation") == {"Förfallen", "I tid", "Ny"}
    assert titles(overdue="true") == {"Förfallen", "I tid"}
    assert titles(diary="RUN") == {"Förfallen", "I tid", "Ny"}
    assert titles(diary="KS") == set()


def test_concurrent_registrations_in_one_service_get_distinct_consecutive_numbers(api: Api) -> None:
    import eventlet

    ids = [submit(api, title=f"Ärende {n}")["id"] for n in range(12)]
    pool = eventlet.GreenPool(12)
    registered = list(pool.imap(
        lambda i: api.command(f"/initiatives/{i}/register", "registrar", {"registered_on": "2025-03-01"}), ids
    ))
    numbers = sorted(r["diary_number"] for r in registered)
    assert numbers == [f"RUN 2025-{n:04d}" for n in range(1, 13)]


def test_the_feed_pages_public_events_after_a_position(api: Api) -> None:
    first = submit(api)
    drive(api, first["id"], "referral")
    second = submit(api)

    everything: list[dict] = []
    after = 0
    while True:
        page = api.get("/events", params={"after": after, "limit": 2}).json()
        if page["last_position"] == after:
            break
        everything += page["events"]
        after = page["last_position"]
    assert [e["type"] for e in everything] == [
        "Initiative.Submitted", "Initiative.Registered", "Initiative.ReferredForPreparation",
        "Initiative.Submitted",
    ]
    positions = [e["position"] for e in everything]
    assert positions == sorted(positions) and len(set(positions)) == 4
    assert everything[0]["diary_number"] is None
    assert everything[1]["diary_number"] == everything[2]["diary_number"] is not None
    assert everything[3]["aggregate_id"] == second["id"]
    assert api.get("/events", params={"after": positions[-1]}).json()["events"] == []


def test_the_openapi_document_is_valid_and_served(api: Api) -> None:
    response = api.get("/openapi.json", None)
    assert response.status_code == 200
    validate(response.json())


def test_the_asyncapi_document_is_served_without_a_token_naming_the_broker_without_credentials(
    api: Api, config: dict[str, Any]
) -> None:
    from services.initiatives.service import InitiativesService, api as api_doc
    from shared.asyncapi import for_service

    response = api.get("/asyncapi.json", None)

    assert response.status_code == 200
    served = response.json()
    assert served == for_service(InitiativesService, api_doc.title, config["AMQP_URI"])
    assert served["asyncapi"] == "3.0.0" and served["channels"]["events"]["address"] == "initiatives.events"
    assert "guest" not in str(served["servers"])


def test_hostile_bodies_and_queries_get_4xx_problems_never_500(api: Api) -> None:
    def post_raw(data: bytes) -> Any:
        return api.request("POST", "/initiatives", "case_officer", data=data,
                           headers={"Content-Type": "application/json"})

    assert assert_problem(post_raw(b"[" * 100_000), 400)["errors"][0]["field"] == "body"
    assert assert_problem(post_raw(b'{"title": "\xff\xfe"}'), 400)["errors"][0]["field"] == "body"
    assert_problem(post_raw(b'{"text": "' + b"x" * (2 * 1024 * 1024) + b'"}'), 413)
    surrogate = b'{"title": "\\ud800"}'
    assert "title" in {e["field"] for e in assert_problem(post_raw(surrogate), 400)["errors"]}
    repeated = api.get("/initiatives", params=[("state", "closed"), ("state", "withdrawn")])
    assert assert_problem(repeated, 400)["errors"] == [{"field": "state", "message": "given more than once"}]
    assert_problem(api.get("/events", params={"after": str(2**64)}), 400)


def test_history_refuses_what_is_not_an_initiative_or_not_yet_there(api: Api) -> None:
    from shared.serials import Serial

    initiative = drive(api, submit(api)["id"], "registration")
    counter_id = Serial.create_id("diary/RUN", 2025)
    assert_problem(api.get(f"/initiatives/{counter_id}/history"), 404)
    assert_problem(api.get(f"/initiatives/{counter_id}"), 404)
    beyond = api.get(f"/initiatives/{initiative['id']}/history", params={"as_of": "3"})
    assert "latest is 2" in assert_problem(beyond, 400)["errors"][0]["message"]
