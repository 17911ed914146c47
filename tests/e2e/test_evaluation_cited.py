"""Seed 001's review of relevance falls due, is evaluated with seed 003's findings, and is cited in a decided case.

All four services run as operators run them (`nameko run`), on PostgreSQL and the real RabbitMQ.
"""
from __future__ import annotations

from typing import Any

from services.evaluations.demo import carry_out
from services.initiatives.demo import seed_000
from services.letters_of_intent.demo import load_agreement
from tests.support.cases import drive, submit
from tests.support.meetings import establish_body, eventually, hold_meeting
from tests.support.services import Api, api_for


def as_strategist(api: Api) -> Any:
    return lambda path, body: api.command(path, "strategist", body)


def test_a_review_falls_due_is_evaluated_and_cited_in_an_answer_that_is_then_decided(run_services: Any) -> None:
    configs = run_services("letters_of_intent", "evaluations", "initiatives", "meetings")
    letters, evaluations, initiatives, meetings = (
        api_for(configs[name]) for name in ("letters_of_intent", "evaluations", "initiatives", "meetings"))

    agreement = load_agreement(as_strategist(letters))
    relevance_2024 = next(r for r in agreement["reviews"] if r["due_on"] == "2024-09-30")
    planned = eventually(
        lambda: evaluations.get("/evaluations").json()["evaluations"],
        lambda found: any(e["review_id"] == relevance_2024["review_id"] for e in found))
    evaluation = next(e for e in planned if e["review_id"] == relevance_2024["review_id"])
    assert evaluation["state"] == "planned" and evaluation["subject"]["reference"] == agreement["id"]

    evaluation = carry_out(as_strategist(evaluations), evaluation["id"])
    assert evaluation["state"] == "published"
    assert [a["name"] for a in evaluation["findings"]["areas"]] == ["Samverkan", "Uppföljning och lärande"]
    assert "Samverkan har stärkts under 2019-2022" in [s["text"] for s in evaluation["findings"]["statements"]]

    case = drive(initiatives, submit(initiatives)["id"], "referral")
    answer = {**seed_000()["answer"], "basis_documents": [
        {"title": evaluation["title"], "evaluation_id": evaluation["id"]}]}
    answered = eventually(
        lambda: initiatives.post(f"/initiatives/{case['id']}/answer", "case_officer", answer),
        lambda response: response.status_code == 200).json()
    assert answered["answer"]["basis_documents"][0]["evaluation_id"] == evaluation["id"]

    hold_meeting(meetings, establish_body(meetings)["id"], case["diary_number"])
    final = eventually(lambda: initiatives.get(f"/initiatives/{case['id']}").json(), lambda i: i["state"] == "final")
    assert final["decision"]["outcome"] == "considered_answered"
    assert initiatives.get("/incidents").json()["incidents"] == []
    assert evaluations.get("/incidents").json()["incidents"] == []
