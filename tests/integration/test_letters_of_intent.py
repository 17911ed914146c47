"""The letters of intent service on both stores, against the real broker and database."""
from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from services.letters_of_intent.demo import load_agreement, load_letters, seed
from services.letters_of_intent.service import LettersOfIntentService
from tests.support.services import Api, assert_problem
from tests.support.subscriber import EventSubscriber


def poster(api: Api) -> Any:
    return lambda path, body: api.command(path, "strategist", body)


def test_seed_000s_letters_with_their_follow_ups_and_interim_reports(letters_api: Api) -> None:
    samforma, youth_up_north = load_letters(poster(letters_api))

    assert [c["name"] for c in samforma["counterparts"]] == ["Samforma"]
    assert [f["kind"] for f in samforma["follow_ups"]] == [
        "application", "meeting", "joint_project", "invitation", "strategy_input", "joint_project"]
    [report] = samforma["reports"]
    assert [f["on"] for f in report["follow_ups"]] == ["2025-02-15", "2025-04-01", "2025-06-04", "2025-06-30",
                                                       "2025-09-01"]  # the 2024 application is outside the period
    assert len(youth_up_north["reports"][0]["follow_ups"]) == 2
    listed = letters_api.get("/letters").json()["letters"]
    assert {letter["title"] for letter in listed} == {samforma["title"], youth_up_north["title"]}


def test_a_letter_pauses_resumes_renews_and_terminates_each_with_a_reason(letters_api: Api) -> None:
    [letter, _] = load_letters(poster(letters_api))
    path = f"/letters/{letter['id']}"
    paused = letters_api.command(f"{path}/pause", "strategist",
                                 {"reason": "Negativt beslut från en större medfinansiär", "on": "2025-01-20"})
    assert paused["state"] == "paused"
    assert assert_problem(letters_api.post(f"{path}/renewal", "strategist",
                                    {"reason": "x", "on": "2025-02-01", "review_on": "2027-01-01"}), 409)["state"] == "paused"
    letters_api.command(f"{path}/resumption", "strategist", {"reason": "Ny finansiering", "on": "2025-03-01"})
    renewed = letters_api.command(f"{path}/renewal", "strategist",
                                  {"reason": "Förlängd", "on": "2026-03-01", "review_on": "2028-03-01"})
    assert renewed["review_on"] == "2028-03-01" and renewed["state"] == "active"
    ended = letters_api.command(f"{path}/termination", "strategist", {"reason": "Avslutad", "on": "2026-06-01"})
    assert [c["change"] for c in ended["status_changes"]] == ["paused", "resumed", "renewed", "terminated"]
    assert letters_api.get("/letters", params={"state": "terminated"}).json()["letters"][0]["id"] == letter["id"]
    assert_problem(letters_api.post(f"{path}/follow-ups", "strategist",
                             {"kind": "meeting", "on": "2026-07-01", "text": "efter slutet"}), 409)


def test_the_agreement_enters_into_force_when_the_last_party_signs(letters_api: Api) -> None:
    agreement = load_agreement(poster(letters_api), signing=14)
    assert agreement["in_force_on"] is None
    unsigned = [p["party"] for p in agreement["parties"] if not p["signed"]]
    assert unsigned == ["Åsele kommun"]
    path = f"/agreements/{agreement['id']}"
    assert_problem(letters_api.post(f"{path}/signatures", "strategist", {
        "party": "Umeå kommun", "signed_by": "x", "signed_on": "2023-01-01"}), 409)
    assert assert_problem(letters_api.post(f"{path}/signatures", "strategist", {
        "party": "Kiruna kommun", "signed_by": "x", "signed_on": "2023-01-01"}), 400)["errors"][0]["field"] == "party"
    signed = letters_api.command(f"{path}/signatures", "strategist", {
        "party": "Åsele kommun", "signed_by": "Kommunstyrelsens ordförande", "signed_on": "2023-02-01",
        "decided_by": "Kommunfullmäktige"})
    assert signed["in_force_on"] == "2023-02-01"
    assert all(p["signed"] for p in signed["parties"]) and len(signed["parties"]) == 15


def test_consultation_replies_carry_the_diary_number_and_overdue_recipients_are_listed(letters_api: Api) -> None:
    agreement = load_agreement(poster(letters_api), signing=0)
    consultation = agreement["consultations"][0]
    path = f"/agreements/{agreement['id']}/consultations/{consultation['consultation_id']}"
    assert consultation["replies"]["Dorotea kommun"]["late"] is True
    assert consultation["replies"]["Umeå kommun"]["late"] is False
    overdue = letters_api.get(f"{path}/overdue", params={"on": "2022-07-01"}).json()["overdue"]
    assert len(overdue) == 15 - 6 and "Åsele kommun" in overdue and "Umeå kommun" not in overdue
    assert letters_api.get(f"{path}/overdue", params={"on": "2022-06-30"}).json()["overdue"] == []
    wrong = assert_problem(letters_api.post(f"{path}/replies", "strategist", {
        "party": "Åsele kommun", "received_on": "2022-06-01", "diary_number": "RUN 1-2021"}), 400)
    assert wrong["errors"][0]["field"] == "diary_number"


def test_a_review_falls_due_once_with_two_instances_racing_and_across_a_restart(
    letters_api: Api, letters_config: dict[str, Any], container_factory: Any, infrastructure: Any
) -> None:
    subscriber = EventSubscriber(
        infrastructure.amqp_uri, "letters_of_intent", "CollaborationAgreement.ReviewFellDue").declare()
    # two instances: both timers look for due reviews (one relay, as the README advises, so that
    # what arrives twice could only come from a review announced twice)
    second = container_factory(LettersOfIntentService, {
        **letters_config, "WEB_SERVER_ADDRESS": "127.0.0.1:0", "OUTBOX_RELAY_ENABLED": "false"})
    second.start()
    try:
        agreement = load_agreement(poster(letters_api), signing=0)
        received = subscriber.collect([agreement["id"]], 2, timeout=60)
        assert sorted(r["payload"]["title"] for r in received) == [
            "Aktualitetsprövning 2024", "Aktualitetsprövning under överenskommelsens sista år"]
        assert {r["diary_number"] for r in received} == {"KS 2022-0092-106"}
        for announced in received:  # background work: a chain of its own, caused by no event
            assert UUID(announced["correlation_id"]) and announced["causation_id"] is None
        second.stop()
        restarted = container_factory(LettersOfIntentService, {
            **letters_config, "WEB_SERVER_ADDRESS": "127.0.0.1:0", "OUTBOX_RELAY_ENABLED": "false"})
        restarted.start()
        try:
            with pytest.raises(TimeoutError):  # two timer rounds of each instance: nothing more falls due
                subscriber.collect([agreement["id"]], 3, timeout=12)
        finally:
            restarted.stop()
        history = letters_api.get(f"/agreements/{agreement['id']}/history").json()["events"]
        assert [e["type"] for e in history].count("CollaborationAgreement.ReviewFellDue") == 2
        assert [r["announced"] for r in letters_api.get(f"/agreements/{agreement['id']}").json()["reviews"]] == [
            True, True]
    finally:
        subscriber.delete()


def test_bad_input_and_roles(letters_api: Api) -> None:
    body = seed("seed_000_letters")["letters"][0]["letter"]
    assert_problem(letters_api.post("/letters", "registrar", body), 403)
    invalid = assert_problem(letters_api.post("/letters", "strategist", {**body, "counterparts": [], "signed_on": "2025-02-30"}), 400)
    assert {e["field"] for e in invalid["errors"]} == {"counterparts", "signed_on"}
    letter = letters_api.command("/letters", "strategist", body)
    early = assert_problem(letters_api.post(f"/letters/{letter['id']}/follow-ups", "strategist",
                                     {"kind": "meeting", "on": "2020-01-01", "text": "före"}), 400)
    assert early["errors"][0]["field"] == "on"
    assert assert_problem(letters_api.post(f"/letters/{letter['id']}/follow-ups", "strategist",
                                    {"kind": "gossip", "on": "2025-01-01", "text": "x"}), 400)["errors"][0]["field"] == "kind"
    assert letters_api.get("/openapi.json", None).status_code == 200
