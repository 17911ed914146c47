"""Seed 002's motion through the council's procedure: two preparing bodies propose, the council concludes.

The initiatives and meetings services run against the real RabbitMQ and store; the
audit service reads both. Each refusal is a problem+json naming the rule: a
committee concluding a motion addressed to the council, the council deciding before
regionstyrelsen has proposed, a decision without a quorum, a tie without the
chair's casting vote, a vote by a member not taking part, a reservation by one who
voted for the decision or who is no member.
"""
from __future__ import annotations

import io
import json
import re
from datetime import date, timedelta
from importlib import resources
from typing import Any
from urllib.parse import quote

import pytest
from pypdf import PdfReader

from services.audit.service import AuditService
from tests.integration.conftest import running
from tests.support.meetings import eventually
from tests.support.services import Api, api_for, service_config


def seed(package: str, name: str) -> dict[str, Any]:
    return json.loads(resources.files(package).joinpath(f"seeds/{name}").read_text("utf-8"))


MOTION = seed("services.initiatives", "seed_002.json")
COUNCIL = seed("services.meetings", "council_procedure.json")


def pdf_text(response: Any) -> str:
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf", response.text
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages))


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    return response.json()


class Secretary:
    """The committee secretary's steps for one body's meeting, over the meetings API."""

    def __init__(self, meetings_api: Api, plan: dict[str, Any]):
        self.api = meetings_api
        self.plan = plan
        body = meetings_api.command("/bodies", "secretary", plan["body"])
        for member in plan["members"]:
            body = meetings_api.command(f"/bodies/{body['id']}/members", "secretary", member)
        self.body_id = body["id"]
        self.members = [m["name"] for m in plan["members"]]
        self.path = ""

    def schedule(self, on: str | None = None) -> None:
        """The plan's meeting, or an extra one on another day."""
        meeting = self.plan["meeting"] if on is None else {
            "title": f"{self.plan['body']['name']}s extra sammanträde {on}", "starts_at": f"{on}T13:00:00+01:00"}
        self.path = "/meetings/" + self.api.command("/meetings", "secretary", {**meeting, "body_id": self.body_id})["id"]
        starts = date.fromisoformat(meeting["starts_at"][:10])
        self.post("convocation", {"convened_on": (starts - timedelta(days=10)).isoformat()})

    def post(self, step: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.api.command(f"{self.path}/{step}", "secretary", body)

    def send(self, step: str, body: dict[str, Any]) -> Any:
        return self.api.post(f"{self.path}/{step}", "secretary", body)

    def hold(self, diary_number: str, present: list[str], on: str | None = None) -> str:
        self.schedule(on)
        meeting = self.post("agenda", {**COUNCIL["item"], "diary_number": diary_number})
        self.post("attendance", {"present": [{"name": name} for name in present]})
        self.post("opening", {})
        return meeting["agenda"][0]["item_id"]

    def adjust(self, on: str) -> dict[str, Any]:
        self.post("adjusters", {"adjusters": self.members[:2]})
        self.post("closing", {})
        for adjuster in self.members[:2]:
            meeting = self.post("signatures", {"adjuster": adjuster, "signed_on": on})
        return meeting


@pytest.fixture
def audit_api(container_factory: Any, config: dict[str, Any], api: Api, meetings_api: Api,
              tmp_path: Any) -> Api:
    audit_config = {**service_config(config["AMQP_URI"], {"PERSISTENCE": "sqlite", "DATA_DIR": str(tmp_path / "a")}),
                    "AUDIT_TOKEN": "test-auditor",
                    "AUDIT_SOURCES": {"initiatives": api.base_url, "meetings": meetings_api.base_url}}
    next(running(container_factory, AuditService, audit_config))
    return api_for(audit_config)


def test_seed_002s_motion_is_proposed_twice_and_concluded_by_the_council(
        api: Api, meetings_api: Api, audit_api: Api) -> None:
    case = api.command("/initiatives", "case_officer", MOTION["submission"])
    case_path = f"/initiatives/{case['id']}"
    diary_number = api.command(f"{case_path}/register", "registrar", MOTION["registration"])["diary_number"]
    referred = api.command(f"{case_path}/referral", "registrar", MOTION["referral"])
    assert referred["preparing_bodies"] == ["Regionala utvecklingsnämnden", "Regionstyrelsen"]
    assert referred["due_date"] == "2022-03-15"  # a motion is decided within a year (KL 5:35)
    api.command(f"{case_path}/answer", "case_officer", MOTION["answer"])
    procedure = eventually(lambda: meetings_api.get(f"/cases/{quote(diary_number)}/procedure"),
                           lambda r: r.status_code == 200).json()
    assert procedure == {"diary_number": diary_number, "addressed_to": "Regionfullmäktige",
                         "preparing_bodies": ["Regionala utvecklingsnämnden", "Regionstyrelsen"], "proposals": []}
    read = lambda: api.get(case_path).json()  # noqa: E731

    committee, board, council = (Secretary(meetings_api, plan) for plan in COUNCIL["bodies"])
    item = committee.hold(diary_number, committee.members)
    concluded = problem(committee.send(f"agenda/{item}/decision", COUNCIL["decision"]), 409)
    assert concluded["rule"] == "two-levels" and "only Regionfullmäktige" in concluded["detail"]
    committee.post(f"agenda/{item}/decision", {**COUNCIL["decision"], "proposal_to": "Regionstyrelsen"})
    proposed = eventually(read, lambda i: i["state"] == "proposed")
    assert proposed["standing"] == "proposed by Regionala utvecklingsnämnden 2021-11-15 § 1, awaiting Regionstyrelsen"
    committee.adjust("2021-11-19")

    # The council cannot take the motion while regionstyrelsen has not proposed.
    eventually(lambda: meetings_api.get(f"/cases/{quote(diary_number)}/procedure").json()["proposals"],
               lambda proposals: len(proposals) == 1)
    early = council.hold(diary_number, council.members, on="2021-11-30")
    too_early = problem(council.send(f"agenda/{early}/decision", COUNCIL["decision"]), 409)
    assert too_early["rule"] == "two-levels" and "Regionstyrelsen has not decided its proposal" in too_early["detail"]
    council.post(f"agenda/{early}/decision", {"outcome": "tabled", "text": "Ärendet bordläggs: regionstyrelsen har "
                                                                             "inte berett motionen."})
    assert eventually(read, lambda i: i["decisions"] and i["decisions"][-1]["outcome"] == "tabled")["state"] == \
        "scheduled"

    board_item = board.hold(diary_number, board.members)
    board.post(f"agenda/{board_item}/decision", {**COUNCIL["decision"], "proposal_to": "Regionfullmäktige"})
    assert eventually(read, lambda i: i["state"] == "proposed" and len(i["proposals"]) == 2)["standing"] == \
        "proposed by Regionstyrelsen 2021-12-07 § 1, awaiting Regionfullmäktige"
    board.adjust("2021-12-10")
    eventually(lambda: meetings_api.get(f"/cases/{quote(diary_number)}/procedure").json()["proposals"],
               lambda proposals: len(proposals) == 2)

    decided = council_decides_with_a_vote(council, diary_number)
    assert decided["paragraphs"][-1]["vote"]["result"] == "yes"
    final_case = eventually(read, lambda i: i["state"] == "decided")
    assert final_case["decision"]["body"] == "Regionfullmäktige" and final_case["standing"] is None
    assert [p["body"] for p in final_case["proposals"]] == ["Regionala utvecklingsnämnden", "Regionstyrelsen"]
    council.adjust("2022-02-18")
    assert eventually(read, lambda i: i["state"] == "final")["finalised_on"] == "2022-02-18"
    council_minutes = pdf_text(meetings_api.get(f"{council.path}/minutes.pdf"))
    for recorded in ("Omröstning", "Omröstningen utfaller med 3 ja-röster mot 3 nej-röster; 0 avstår.",
                     "Rösterna är lika. Ordföranden använder sin utslagsröst för ja.", "Reservation",
                     COUNCIL["reservation_reason"], "Jäv", "RF ledamot 5 (exempel) deltar inte i handläggningen",
                     "RF ersättare (exempel) (KD) (ersättare för RF ledamot 6 (exempel))"):
        assert recorded in council_minutes
    dispatched = api.command(f"{case_path}/dispatch", "registrar", {"recipients": [MOTION["submission"]["submitters"][0]],
                                                                     "dispatched_on": "2022-02-21"})
    [enclosed] = dispatched["enclosures"]  # the decision goes out with the council's extract of its minutes
    assert enclosed["meeting_id"] == council.path.rsplit("/", 1)[1] and enclosed["paragraph"] == "§ 1"
    assert "Motionen anses besvarad." in pdf_text(meetings_api.get(f"{council.path}/paragraphs/1/extract.pdf"))
    extract = pdf_text(meetings_api.get(f"{committee.path}/paragraphs/1/extract.pdf"))
    assert "PROTOKOLLSUTDRAG" in extract and "Beslutet är ett förslag till Regionstyrelsen." in extract
    assert api.get("/incidents").json()["incidents"] == []  # the committees' adjusted minutes finalise nothing

    timeline = eventually(lambda: audit_api.get(f"/cases/{quote(diary_number)}/timeline", "registrar").json(),
                          lambda t: any(e["type"] == "Initiative.Finalised" for e in t["events"]))
    handled = [(e["payload"]["body"], e["payload"]["outcome"], e["payload"]["proposal_to"])
               for e in timeline["events"] if e["type"] == "Meeting.ItemDecided"]
    assert handled == [("Regionala utvecklingsnämnden", "considered_answered", "Regionstyrelsen"),
                       ("Regionfullmäktige", "tabled", None),
                       ("Regionstyrelsen", "considered_answered", "Regionfullmäktige"),
                       ("Regionfullmäktige", "considered_answered", None)]
    assert [e["type"] for e in timeline["events"]].count("Initiative.ProposalRecorded") == 2


def council_decides_with_a_vote(council: Secretary, diary_number: str) -> dict[str, Any]:
    """Regionfullmäktige: no quorum first; then a tied vote, a substitute, a member with jäv, reservations."""
    chair, first, second, third, fourth, fifth, sixth, substitute = council.members
    item = council.hold(diary_number, [chair, first, third])
    decision = {**COUNCIL["decision"], "proposals": COUNCIL["proposals"]}
    no_quorum = problem(council.send(f"agenda/{item}/decision", decision), 409)
    assert no_quorum["rule"] == "quorum" and "3 of its 7 members take part" in no_quorum["detail"]

    not_a_member = problem(council.send("attendance", {"present": [{"name": "Åskådare"}]}), 400)
    assert not_a_member["errors"] == [{"field": "present.0.name", "message":
                                       "Åskådare is not a member or substitute of Regionfullmäktige on 2022-02-15"}]
    council.post("attendance", {"present": [{"name": name} for name in (chair, first, second, third, fourth, fifth)]
                                + [{"name": substitute, "serving_for": sixth}]})
    ballots = {chair: "yes", first: "yes", second: "yes", third: "no", fourth: "no", substitute: "no"}
    vote = {"yes_proposal": 1, "no_proposal": 2, "ballots": [{"member": m, "vote": v} for m, v in ballots.items()]}
    with_jav = {**decision, "recused": [fifth]}

    tie = problem(council.send(f"agenda/{item}/decision", {**with_jav, "vote": vote}), 409)
    assert tie["rule"] == "casting-vote" and "tied 3–3" in tie["detail"]
    recused_votes = {**vote, "ballots": [*vote["ballots"], {"member": fifth, "vote": "no"}], "casting_vote": "yes"}
    assert problem(council.send(f"agenda/{item}/decision", {**with_jav, "vote": recused_votes}), 400)["errors"][0][
        "field"] == "vote.ballots.6.member"
    tied = {**vote, "casting_vote": "yes"}
    by_winner = problem(council.send(f"agenda/{item}/decision", {**with_jav, "vote": tied, "reservations": [
        {"by": first}]}), 409)
    assert by_winner["rule"] == "reservation" and "voted yes" in by_winner["detail"]
    outsider = problem(council.send(f"agenda/{item}/decision", {**with_jav, "vote": tied, "reservations": [
        {"by": "Åskådare"}]}), 400)
    assert outsider["errors"][0]["field"] == "reservations.0.by"

    meeting = council.post(f"agenda/{item}/decision", {**with_jav, "vote": tied, "reservations": [
        {"by": "KD", "party_group": True, "reason": COUNCIL["reservation_reason"]}]})
    paragraph = meeting["paragraphs"][-1]
    assert paragraph["vote"] == {**tied, "yes": 3, "no": 3, "abstain": 0, "result": "yes"}
    assert paragraph["recused"] == [fifth] and paragraph["reservations"][0]["by"] == "KD"
    assert meeting["seats"] == 7
    assert {a["name"]: a["serving_for"] for a in meeting["attendance"]}[substitute] == sixth
    return meeting
