"""The evaluations service, and how reviews and citations connect it to the other services."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from kombu import Connection, Exchange

from services.evaluations.demo import carry_out, seed_003_findings
from services.initiatives.demo import seed_000
from services.letters_of_intent.demo import load_agreement
from shared.envelope import dumps
from tests.support.cases import drive, submit
from tests.support.meetings import eventually
from tests.support.services import Api, assert_problem

PLAN = {"title": "Halvtidsutvärdering", "kind": "mid_term",
        "subject": {"kind": "body", "reference": "5c2a2f0e-9b7d-4c1e-8a63-1f0d3b6e2a10",
                    "title": "Regionala samverkansrådet"},
        "period_from": "2023-01-01", "period_to": "2024-12-31",
        "responsible": [{"name": "Kerstin Hamre", "title": "samordnare"}]}


def strategist(api: Api) -> Any:
    return lambda path, body: api.command(path, "strategist", body)


def test_findings_can_be_revised_until_completion_and_every_revision_stays(evaluations_api: Api) -> None:
    evaluation = evaluations_api.command("/evaluations", "strategist", PLAN)
    path = f"/evaluations/{evaluation['id']}"
    evaluations_api.command(f"{path}/start", "strategist", {"started_on": "2025-01-15"})
    draft = {**seed_003_findings(), "conclusion": None}
    evaluations_api.command(f"{path}/findings", "strategist", draft)
    assert_problem(evaluations_api.post(f"{path}/completion", "strategist", {}), 409)  # no conclusion yet
    revised = evaluations_api.command(f"{path}/findings", "strategist", seed_003_findings())
    assert revised["revision"] == 2
    completed = evaluations_api.command(f"{path}/completion", "strategist", {"completed_on": "2025-03-01"})
    assert completed["state"] == "completed"
    assert_problem(evaluations_api.post(f"{path}/findings", "strategist", draft), 409)
    assert evaluations_api.command(f"{path}/publication", "strategist", {})["state"] == "published"

    history = evaluations_api.get(f"{path}/history").json()["events"]
    revisions = [e["payload"] for e in history if e["type"] == "Evaluation.FindingsRevised"]
    assert [(r["revision"], r["findings"]["conclusion"]) for r in revisions] == [
        (1, None), (2, seed_003_findings()["conclusion"])]
    as_of_first = evaluations_api.get(f"{path}/history", params={"as_of": "3"}).json()["state"]
    assert as_of_first["findings"]["conclusion"] is None and as_of_first["revision"] == 1
    assert [a["name"] for a in completed["findings"]["areas"]] == ["Samverkan", "Uppföljning och lärande"]


def test_a_review_falling_due_plans_one_evaluation_even_when_delivered_twice(
    evaluations_api: Api, letters_api: Api, letters_config: dict[str, Any]
) -> None:
    agreement = load_agreement(strategist(letters_api), signing=0)
    review_ids = {review["review_id"] for review in agreement["reviews"]}
    planned = eventually(lambda: evaluations_api.get("/evaluations").json()["evaluations"],
                         lambda found: {e["review_id"] for e in found} == review_ids)
    assert {e["subject"]["reference"] for e in planned} == {agreement["id"]}
    assert {e["kind"] for e in planned} == {"relevance"}
    assert {e["diary_number"] for e in planned} == {"KS 2022-0092-106"}

    feed = letters_api.get("/events", params={"limit": 1000}).json()["events"]
    fell_due = [e for e in feed if e["type"] == "CollaborationAgreement.ReviewFellDue"]
    by_review = {e["payload"]["review_id"]: e for e in fell_due}
    for evaluation in planned:  # each plan names the announcement that caused it, and continues its chain
        cause = by_review[evaluation["review_id"]]
        first = evaluations_api.get(f"/evaluations/{evaluation['id']}/history").json()["events"][0]
        assert (first["type"], first["causation_id"]) == ("Evaluation.Planned", cause["event_id"])
        assert first["correlation_id"] == cause["correlation_id"] and UUID(cause["correlation_id"])
    with Connection(letters_config["AMQP_URI"]) as connection:
        for envelope in fell_due:
            connection.Producer().publish(dumps(envelope), exchange=Exchange("letters_of_intent.events", type="topic",
                                                                             durable=True),
                                          routing_key=envelope["type"], content_type="application/json")
    # a third review falls due after the duplicates, through the same queue: when its evaluation is
    # there, the duplicates ahead of it have been consumed
    letters_api.command(f"/agreements/{agreement['id']}/reviews", "strategist",
                        {"kind": "mid_term", "title": "Halvtidsutvärdering 2025", "due_on": "2025-01-31"})
    evaluations = eventually(
        lambda: evaluations_api.get("/evaluations", params={"subject_kind": "agreement"}).json()["evaluations"],
        lambda found: any(e["kind"] == "mid_term" for e in found))
    assert sorted(e["kind"] for e in evaluations) == ["mid_term", "relevance", "relevance"]
    assert evaluations_api.get("/incidents").json()["incidents"] == []


def test_an_answer_may_cite_only_a_completed_evaluation(api: Api, evaluations_api: Api) -> None:
    case = drive(api, submit(api)["id"], "referral")
    planned = evaluations_api.command("/evaluations", "strategist", PLAN)
    answer = seed_000()["answer"]

    def cite(evaluation_id: str) -> Any:
        return api.post(f"/initiatives/{case['id']}/answer", "case_officer", {
            **answer, "basis_documents": [{"title": "Utvärdering", "evaluation_id": evaluation_id}]})

    unknown = assert_problem(cite("00000000-0000-0000-0000-000000000000"), 400)
    assert unknown["errors"][0]["field"] == "basis_documents.0.evaluation_id"
    assert assert_problem(cite(planned["id"]), 400)["errors"][0]["field"] == "basis_documents.0.evaluation_id"

    carry_out(strategist(evaluations_api), planned["id"], through="completion")
    cited = eventually(lambda: cite(planned["id"]), lambda response: response.status_code == 200).json()
    assert cited["answer"]["basis_documents"][0]["evaluation_id"] == planned["id"]


def test_an_impossible_plan_is_refused_naming_the_field(evaluations_api: Api) -> None:
    wrong_subject = {**PLAN, "subject": {"kind": "agreement", "reference": "not an id"}}
    assert assert_problem(evaluations_api.post("/evaluations", "strategist", wrong_subject), 400)[
        "errors"][0]["field"] == "subject.reference"
    reversed_period = {**PLAN, "period_from": "2025-01-01", "period_to": "2024-01-01"}
    assert assert_problem(evaluations_api.post("/evaluations", "strategist", reversed_period), 400)[
        "errors"][0]["field"] == "period_to"
