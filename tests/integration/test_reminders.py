"""Reminders (bevakning) in running services, on both stores, against the real broker and database:
the timers raise each kind once (the seeds' dates are long past, so they are due at once), GET
/reminders lists those that still apply by role, due date and page, the end of a meeting's appeal
period reaches the cases it decided as legal force (laga kraft) through RabbitMQ, and the report of
undecided motions."""
from __future__ import annotations

import io
import json
from collections import Counter
from datetime import timedelta
from typing import Any

from click.testing import CliRunner
from pypdf import PdfReader

from services.audit.service import AuditService
from services.initiatives.demo import STEPS, seed_000
from services.letters_of_intent.demo import load_agreement
from shared import clock
from shared.cli import main as cases
from tests.support.cases import drive, submit
from tests.support.meetings import establish_body, eventually, hold_meeting
from tests.support.reminding import reminding_initiatives, reminding_letters, reminding_meetings  # noqa: F401 - reminders on
from tests.support.services import Api, api_for, assert_problem, free_port


def reminders(api: Api, **filters: Any) -> list[dict[str, Any]]:
    """Every reminder listed with these filters, page by page (`role` filters: any role may read)."""
    found, cursor = [], None
    while True:
        page = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = api.get("/reminders", "auditor", params={**filters, **page})
        assert response.status_code == 200, response.text
        found += response.json()["reminders"]
        cursor = response.json()["next"]
        if cursor is None:
            return found


def events_of(api: Api, path: str) -> list[str]:
    return [event["type"] for event in api.get(f"{path}/history").json()["events"]]


def test_cases_are_reminded_of_once_and_listed_by_role_due_date_and_page(
    api: Api, config: dict[str, Any], container_factory: Any
) -> None:
    late = drive(api, submit(api)["id"], "referral")  # due 2025-10-31
    years_ago = (clock.today() - timedelta(days=800)).isoformat()
    motion = submit(api, kind="motion", title="Motion om samverkan", submitted_on=years_ago)

    listed = eventually(lambda: reminders(api), lambda found: len(found) == 3, timeout=30)
    assert [(r["kind"], r["role"], r["aggregate_id"]) for r in listed] == [
        ("motion_undecided_11_months", "registrar", motion["id"]),
        ("motion_undecided_one_year", "registrar", motion["id"]),
        ("preparation_due_passed", "case_officer", late["id"])]
    preparation = listed[2]
    assert (preparation["due_on"], preparation["diary_number"], preparation["title"], preparation["link"]) == (
        "2025-11-01", late["diary_number"], late["title"], f"/initiatives/{late['id']}")
    assert preparation["key"] == "preparation_due_passed:2025-10-31" and preparation["aggregate"] == "Initiative"

    assert [r["kind"] for r in reminders(api, role="case_officer")] == ["preparation_due_passed"]
    assert reminders(api, role="secretary") == []
    assert [r["kind"] for r in reminders(api, due_before="2025-11-01")] == [
        "motion_undecided_11_months", "motion_undecided_one_year", "preparation_due_passed"]
    assert [r["kind"] for r in reminders(api, due_before="2025-10-31")] == [
        "motion_undecided_11_months", "motion_undecided_one_year"]
    first = api.get("/reminders", "registrar", params={"limit": 2}).json()
    assert len(first["reminders"]) == 2 and first["next"]
    rest = api.get("/reminders", "case_officer", params={"limit": 2, "cursor": first["next"]}).json()
    assert [r["kind"] for r in rest["reminders"]] == ["preparation_due_passed"] and rest["next"] is None
    assert [e["field"] for e in assert_problem(api.get("/reminders", params={"role": "mayor"}), 400)["errors"]] == [
        "role"]
    assert [e["field"] for e in assert_problem(
        api.get("/reminders", params={"due_before": "2025-02-30"}), 400)["errors"]] == ["due_before"]
    assert_problem(api.get("/reminders", role=None), 401)

    # nothing more is raised, and a decided case's reminder no longer applies
    seed = seed_000()
    for step, path, role in STEPS[2:5]:  # answer, schedule, decision
        api.command(f"/initiatives/{late['id']}/{path}", role, seed[step])
    eventually(lambda: reminders(api), lambda found: [r["aggregate_id"] for r in found] == [motion["id"]] * 2)
    assert Counter(events_of(api, f"/initiatives/{late['id']}"))["Initiative.ReminderRaised"] == 1
    assert Counter(events_of(api, f"/initiatives/{motion['id']}"))["Initiative.ReminderRaised"] == 2

    # the audit service indexes the reminder under the case: it is in the case's timeline
    audit_config = {**config, "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}", "AUDIT_TOKEN": "test-auditor",
                    "AUDIT_SOURCES": {"initiatives": api.base_url}}
    audit = container_factory(AuditService, audit_config)
    audit.start()
    timeline = api_for(audit_config).get(f"/cases/{late['diary_number']}/timeline").json()["events"]
    raised = next(e for e in timeline if e["type"] == "Initiative.ReminderRaised")
    assert raised["payload"]["kind"] == "preparation_due_passed" and raised["actor"] == "initiatives"
    assert raised["diary_number"] == late["diary_number"] and raised["caused_by"] is None


def test_a_consultation_reminds_the_strategist_until_every_recipient_has_replied(letters_api: Api) -> None:
    agreement = load_agreement(lambda path, body: letters_api.command(path, "strategist", body), signing=0)
    consultation = agreement["consultations"][0]
    listed = eventually(lambda: reminders(letters_api, role="strategist"), lambda found: len(found) == 2)
    assert [(r["kind"], r["due_on"], r["diary_number"], r["link"]) for r in listed] == [
        ("consultation_reply_due_in_7_days", "2022-06-23", "RUN 374-2021", f"/agreements/{agreement['id']}"),
        ("consultation_reply_deadline_passed", "2022-07-01", "RUN 374-2021", f"/agreements/{agreement['id']}")]
    waiting = listed[1]["details"]["waiting_for"]
    assert len(waiting) == 15 - 6 and "Åsele kommun" in waiting

    path = f"/agreements/{agreement['id']}/consultations/{consultation['consultation_id']}/replies"
    for party in waiting:
        letters_api.command(path, "strategist", {"party": party, "received_on": "2022-08-01",
                                                 "diary_number": consultation["diary_number"]})
    eventually(lambda: reminders(letters_api), lambda found: found == [])
    assert Counter(events_of(letters_api, f"/agreements/{agreement['id']}"))[
        "CollaborationAgreement.ReminderRaised"] == 2


def test_the_end_of_the_appeal_period_gives_the_meeting_s_decisions_legal_force_through_the_broker(
    api: Api, meetings_api: Api
) -> None:
    case = drive(api, submit(api)["id"], "answer")
    undecided = drive(api, submit(api)["id"], "answer")
    body = establish_body(meetings_api)
    meeting = hold_meeting(meetings_api, body["id"], case["diary_number"])  # notice 2025-11-18
    unadjusted = hold_meeting(meetings_api, body["id"], undecided["diary_number"], through="decision")

    stands = eventually(lambda: api.get(f"/initiatives/{case['id']}").json(), lambda i: i["legal_force_on"],
                        timeout=60)
    assert stands["legal_force_on"] == "2025-12-10" and stands["state"] == "final"  # appeals in time to 12-09
    history = api.get(f"/initiatives/{case['id']}/history").json()["events"]
    gained = [e for e in history if e["type"] == "Initiative.DecisionGainedLegalForce"]
    assert len(gained) == 1 and gained[0]["payload"]["meeting_id"] == meeting["id"]
    assert gained[0]["payload"]["paragraph"] == meeting["paragraphs"][0]["paragraph"]

    listed = reminders(meetings_api)
    assert [(r["kind"], r["role"], r["aggregate_id"], r["due_on"]) for r in listed] == [
        ("minutes_not_adjusted", "secretary", unadjusted["id"], "2025-11-26"),
        ("appeal_period_ended", "registrar", meeting["id"], "2025-12-10")]
    assert listed[1]["details"]["decisions"] == [
        {"diary_number": case["diary_number"], "paragraph": meeting["paragraphs"][0]["paragraph"],
         "outcome": "considered_answered", "proposal_to": None}]
    assert [r["kind"] for r in reminders(meetings_api, role="registrar")] == ["appeal_period_ended"]
    assert api.get("/incidents").json()["incidents"] == []

    timeline = json.loads(CliRunner().invoke(cases, [
        "timeline", case["diary_number"], "--json", "--token", "test-auditor",
        f"--service=initiatives={api.base_url}", f"--service=meetings={meetings_api.base_url}"]).output)
    legal_force = next(e for e in timeline if e["type"] == "Initiative.DecisionGainedLegalForce")
    cause = legal_force["caused_by"]
    assert (cause["source"], cause["type"]) == ("meetings", "Meeting.ReminderRaised")
    assert "Meeting.ReminderRaised" in [e["type"] for e in timeline]


def test_the_report_lists_the_motions_undecided_on_a_day(api: Api) -> None:
    def motion(submitted_on: str, **changes: Any) -> dict[str, Any]:
        return submit(api, kind="motion", title=f"Motion {submitted_on}", submitted_on=submitted_on, **changes)

    old = motion("2024-03-31")
    drive(api, old["id"], "referral")
    recent = motion("2025-09-01")
    withdrawn = motion("2025-01-15")
    api.command(f"/initiatives/{withdrawn['id']}/withdrawal", "registrar",
                {"reason": "Återkallad", "withdrawn_on": "2025-06-01"})
    submit(api)  # an initiative: not in the report
    motion("2025-12-01")  # raised after the report's day

    report = api.get("/reports/undecided-motions", "auditor", params={"on": "2025-03-31"}).json()
    assert report["on"] == "2025-03-31" and report["count"] == 2 and report["past_one_year"] == 1
    assert [(m["id"], m["past_one_year"], m["one_year_on"]) for m in report["motions"]] == [
        (old["id"], True, "2025-03-31"), (withdrawn["id"], False, "2026-01-15")]
    first = report["motions"][0]
    assert first["due_date"] == "2025-10-31" and first["state"] == "in_preparation" and first["diary_number"]
    assert [s["name"] for s in first["submitters"]] == [s["name"] for s in old["submitters"]]

    later = api.get("/reports/undecided-motions", "secretary", params={"on": "2025-10-01"}).json()
    assert [m["id"] for m in later["motions"]] == [old["id"], recent["id"]]
    today = api.get("/reports/undecided-motions", "registrar").json()  # every motion raised so far is undecided
    assert today["on"] == clock.today().isoformat() and today["count"] == 3
    assert [e["field"] for e in assert_problem(
        api.get("/reports/undecided-motions", params={"on": "31/3"}), 400)["errors"]] == ["on"]

    document = api.get("/reports/undecided-motions.pdf", "auditor", params={"on": "2025-03-31"})
    assert document.status_code == 200 and document.headers["Content-Type"] == "application/pdf"
    assert "ej-avgjorda-motioner-2025-03-31.pdf" in document.headers["Content-Disposition"]
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(document.content)).pages).split())
    assert "REDOVISNING AV EJ AVGJORDA MOTIONER" in text and "Per 2025-03-31" in text
    waited, rest = text.split("Har väntat ett år eller mer (1)")[1].split("Har väntat kortare tid än ett år (1)")
    assert old["title"] in waited and first["diary_number"] in waited and withdrawn["title"] in rest


def test_a_store_from_before_reminders_keeps_its_lists_and_a_rebuild_fills_the_new_columns(
    store_config: dict[str, Any]
) -> None:
    from dataclasses import replace

    from services.initiatives.application import InitiativesApplication
    from services.initiatives.read_model import INITIATIVES
    from shared.inbox import INCIDENTS
    from shared.reminders import NEXT_REMINDER_DUE
    from shared.store import persistence_env

    class Before(InitiativesApplication):  # its list as the version before reminders kept it
        name = "initiatives"
        read_model_class = type("BeforeReadModel", (InitiativesApplication.read_model_class,), {"listings": (
            replace(INITIATIVES, columns={column: kind for column, kind in INITIATIVES.columns.items()
                                          if column not in ("submitted_on", "settled_on", NEXT_REMINDER_DUE)}),
            INCIDENTS)})

    env = persistence_env(store_config, "initiatives")
    before = Before(env)
    case = before.submit_initiative(actor="Hans", kind="motion", title="Motion", text="…", proposal_clauses=[],
                                    submitters=[{"name": "Ledamot"}], submitted_on=clock.today() - timedelta(800),
                                    addressed_to="Regionfullmäktige")
    before.caught_up(complete=True)
    before.close()

    upgraded = InitiativesApplication(env)  # the columns are added; the case's row has them empty
    try:
        assert [c["id"] for c in upgraded.list_initiatives({}, today=clock.today()).items] == [str(case.id)]
        assert upgraded.raise_due_reminders(clock.today()) == 0
        upgraded.rebuild_read_model()
        assert upgraded.raise_due_reminders(clock.today()) == 2
        assert len(upgraded.list_reminders({}).items) == 2
    finally:
        upgraded.close()
