"""Secrecy (OSL): the markings' rules on the Initiative aggregate, and the shared redaction (shared.secrecy)."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.initiatives.domain import Initiative
from services.initiatives.read_model import initiative_row
from services.initiatives.schemas import InitiativeView
from shared.application import replay
from shared.auth import ConfigurationError
from shared.envelope import describe
from shared.errors import InvalidRequest
from shared.secrecy import (
    cleared_roles, markings_from_events, parse_target, redact_case, redact_document, redact_event, redact_events,
)
from tests.unit.test_initiative import ACTOR, submitted

TODAY = date(2025, 6, 2)
OSL = "OSL 21 kap. 7 §"
SECRET = "Uppgifter om enskilds hälsa som inte får lämnas ut"
ANSWER = {"summary": SECRET, "proposed_outcome": "considered_answered", "proposal": "Anses besvarat.",
          "assessed_results_and_consequences": None, "resources_and_financing": "Inom ram.",
          "gender_equality": None, "basis_documents": []}
DOCUMENT = {"document_id": "d-1", "kind": "remissvar", "direction": "incoming", "title": "Remissvar från X",
            "dated": "2025-05-01", "counterpart": "Kommunen X", "registered_on": "2025-05-02", "secret_under": None,
            "file": {"sha256": "ab" * 32, "size": 10, "media_type": "application/pdf", "filename": "svar.pdf"}}


def in_preparation() -> Initiative:
    initiative = submitted()
    initiative.register(diary="RUN", diary_number="RUN 2025-0001", registered_on=date(2025, 5, 19), actor=ACTOR)
    initiative.refer_for_preparation(preparers=[{"name": "Kerstin Hamre"}], due_date=date(2025, 10, 31),
                                     referred_on=date(2025, 5, 20), actor=ACTOR)
    return initiative


def drafted(**secret_sections: str) -> Initiative:
    initiative = in_preparation()
    initiative.draft_answer(answer=dict(ANSWER), actor=ACTOR, secret_sections=secret_sections, marked_on=TODAY)
    return initiative


# --- the aggregate's rules -----------------------------------------------------------


def test_marking_and_lifting_are_events_and_replay_to_the_same_markings() -> None:
    initiative = drafted()
    assert initiative.mark_secret(target="answer.summary", provision=f"  {OSL} ", marked_on=TODAY, actor=ACTOR,
                                  reason="hälsouppgifter")
    assert initiative.secrecy == {"answer.summary": {"provision": OSL, "marked_on": TODAY, "marked_by": ACTOR}}
    initiative.lift_secrecy(target="answer.summary", reason="prövad: kan lämnas ut", lifted_on=TODAY, actor=ACTOR)
    assert initiative.secrecy == {}
    events = initiative.collect_events()
    assert [type(e).__name__ for e in events[-2:]] == ["SecrecyMarked", "SecrecyLifted"]
    assert events[-1].provision == OSL and events[-1].reason == "prövad: kan lämnas ut"
    assert replay(events).secrecy == {}
    assert replay(events[:-1]).secrecy["answer.summary"]["provision"] == OSL


def test_the_same_marking_again_writes_nothing_and_another_provision_replaces_it() -> None:
    initiative = drafted()
    initiative.mark_secret(target="answer.summary", provision=OSL, marked_on=TODAY, actor=ACTOR)
    version = initiative.version
    assert initiative.mark_secret(target="answer.summary", provision=OSL, marked_on=TODAY, actor=ACTOR) is False
    assert initiative.version == version
    assert initiative.mark_secret(target="answer.summary", provision="OSL 19 kap. 3 §", marked_on=TODAY, actor=ACTOR)
    assert initiative.secrecy["answer.summary"]["provision"] == "OSL 19 kap. 3 §"


@pytest.mark.parametrize("provision", [None, "", "   "])
def test_a_marking_without_a_provision_is_refused_naming_the_provision(provision: str | None) -> None:
    initiative = drafted()
    with pytest.raises(InvalidRequest) as refused:
        initiative.mark_secret(target="answer.summary", provision=provision, marked_on=TODAY, actor=ACTOR)
    assert refused.value.errors[0]["field"] == "provision"
    assert initiative.secrecy == {}


@pytest.mark.parametrize("target", [
    "answer.nonsense", "answer.", "summary", "answer.gender_equality",  # no text in that section
    "document:no-such-document", "document:", "",
])
def test_an_unknown_target_or_a_section_without_text_is_refused_naming_the_target(target: str) -> None:
    initiative = drafted()
    with pytest.raises(InvalidRequest) as refused:
        initiative.mark_secret(target=target, provision=OSL, marked_on=TODAY, actor=ACTOR)
    assert refused.value.errors[0]["field"] == "target"


def test_a_section_cannot_be_marked_before_the_answer_is_drafted() -> None:
    with pytest.raises(InvalidRequest) as refused:
        in_preparation().mark_secret(target="answer.summary", provision=OSL, marked_on=TODAY, actor=ACTOR)
    assert refused.value.errors[0]["field"] == "target"


def register(initiative: Initiative, secret_under: str | None = None) -> None:
    initiative.register_document(**{**DOCUMENT, "dated": date(2025, 5, 1), "registered_on": TODAY,
                                    "secret_under": secret_under}, actor=ACTOR)


def test_a_registered_document_can_be_marked_and_lifted() -> None:
    initiative = drafted()
    register(initiative)
    assert initiative.secrecy == {}
    initiative.mark_secret(target="document:d-1", provision=OSL, marked_on=TODAY, actor=ACTOR)
    assert initiative.secrecy["document:d-1"]["provision"] == OSL
    initiative.lift_secrecy(target="document:d-1", reason="…", lifted_on=TODAY, actor=ACTOR)
    assert initiative.secrecy == {}


def test_a_document_registered_secret_under_a_provision_is_marked_by_its_registration() -> None:
    initiative = drafted()
    register(initiative, secret_under=OSL)
    events = initiative.collect_events()
    assert type(events[-1]).__name__ == "DocumentRegistered"  # the registration is the marking
    assert initiative.secrecy == {"document:d-1": {"provision": OSL, "marked_on": TODAY, "marked_by": ACTOR}}
    assert replay(events).secrecy == initiative.secrecy
    views = [describe(e) for e in events]
    markings = markings_from_events(views)
    assert markings[str(initiative.id)]["document:d-1"]["provision"] == OSL
    shown = redact_events(views, markings)[-1]
    assert shown["payload"]["title"] is None and shown["payload"]["file"] is None
    assert shown["payload"]["counterpart"] == DOCUMENT["counterpart"]
    assert DOCUMENT["title"] not in str(redact_case(InitiativeView().dump(initiative)))
    initiative.lift_secrecy(target="document:d-1", reason="…", lifted_on=TODAY, actor=ACTOR)
    lifted = initiative.collect_events()
    assert initiative.secrecy == {} and replay(events + lifted).secrecy == {}
    assert markings_from_events(views + [describe(e) for e in lifted])[str(initiative.id)] == {}


def test_lifting_what_is_not_marked_is_refused_naming_the_target() -> None:
    with pytest.raises(InvalidRequest) as refused:
        drafted().lift_secrecy(target="answer.summary", reason="…", lifted_on=TODAY, actor=ACTOR)
    assert refused.value.errors[0]["field"] == "target"


def test_secret_sections_are_marked_in_the_same_save_as_the_draft() -> None:
    initiative = drafted(summary=OSL)
    events = initiative.collect_events()
    assert [type(e).__name__ for e in events[-2:]] == ["AnswerDrafted", "SecrecyMarked"]
    assert events[-1].target == "answer.summary"


@pytest.mark.parametrize("sections, field", [
    ({"summary": " "}, "secret_sections.summary"),
    ({"gender_equality": OSL}, "secret_sections.gender_equality"),  # the draft has no text there
    ({"basis_documents": OSL}, "secret_sections.basis_documents"),
])
def test_secret_sections_that_cannot_be_marked_refuse_the_whole_draft(sections: dict, field: str) -> None:
    initiative = in_preparation()
    version = initiative.version
    with pytest.raises(InvalidRequest) as refused:
        initiative.draft_answer(answer=dict(ANSWER), actor=ACTOR, secret_sections=sections, marked_on=TODAY)
    assert refused.value.errors[0]["field"] == field
    assert initiative.version == version and initiative.answer is None


# --- the shared redaction ------------------------------------------------------------


def test_a_case_view_withholds_marked_sections_and_says_under_which_provision() -> None:
    initiative = drafted(summary=OSL)
    shown = redact_case(InitiativeView().dump(initiative))
    assert shown["answer"]["summary"] is None
    assert shown["answer"]["proposal"] == "Anses besvarat."
    assert shown["redactions"] == [{"target": "answer.summary", "provision": OSL}]
    assert SECRET not in str(shown)


def test_a_secret_document_keeps_its_diary_entry_and_withholds_title_and_file() -> None:
    shown = redact_document(DOCUMENT, {"document:d-1": {"provision": OSL}})
    assert shown["title"] is None and shown["file"] is None
    assert shown["redacted"] == {"provision": OSL}
    for public in ("document_id", "kind", "direction", "dated", "counterpart", "registered_on"):
        assert shown[public] == DOCUMENT[public]
    assert redact_document(DOCUMENT, {}) == DOCUMENT
    case = redact_case({"answer": None, "documents": [DOCUMENT], "secrecy": {"document:d-1": {"provision": OSL}}})
    assert case["redactions"] == [{"target": "document:d-1", "provision": OSL}]
    assert case["documents"][0]["title"] is None


def test_events_are_redacted_by_the_current_markings_and_only_those_that_carry_content() -> None:
    initiative = drafted()
    initiative.mark_secret(target="answer.summary", provision=OSL, marked_on=TODAY, actor=ACTOR)
    events = [describe(e) for e in initiative.collect_events()]
    markings = markings_from_events(events)
    assert markings == {str(initiative.id): {"answer.summary": {"provision": OSL, "marked_on": TODAY.isoformat(),
                                                                "marked_by": ACTOR}}}
    shown = redact_events(events, markings)
    drafted_event = next(e for e in shown if e["type"] == "Initiative.AnswerDrafted")
    assert drafted_event["payload"]["answer"]["summary"] is None
    assert drafted_event["redactions"] == [{"target": "answer.summary", "provision": OSL}]
    assert all("redactions" not in e for e in shown if e["type"] != "Initiative.AnswerDrafted")
    assert SECRET not in str(shown)
    assert SECRET in str(events)  # copies: nothing given is changed

    registered = {"type": "Initiative.DocumentRegistered", "aggregate_id": "a", "payload": dict(DOCUMENT)}
    redacted = redact_event(registered, {"document:d-1": {"provision": OSL}})
    assert redacted["payload"]["title"] is None and redacted["payload"]["counterpart"] == "Kommunen X"
    assert redacted["redactions"] == [{"target": "document:d-1", "provision": OSL}]


def test_a_lifted_marking_no_longer_redacts() -> None:
    initiative = drafted(summary=OSL)
    initiative.lift_secrecy(target="answer.summary", reason="…", lifted_on=TODAY, actor=ACTOR)
    events = [describe(e) for e in initiative.collect_events()]
    assert SECRET in str(redact_events(events, markings_from_events(events)))


def test_secret_text_is_kept_out_of_the_search_document() -> None:
    initiative = drafted()
    assert SECRET in initiative_row(initiative).document.body
    initiative.mark_secret(target="answer.summary", provision=OSL, marked_on=TODAY, actor=ACTOR)
    assert SECRET not in initiative_row(initiative).document.body
    assert "Inom ram." in initiative_row(initiative).document.body


def test_the_cleared_roles_come_from_configuration() -> None:
    assert cleared_roles(None) == {"registrar", "case_officer", "auditor"}
    assert cleared_roles("registrar, auditor") == {"registrar", "auditor"}
    with pytest.raises(ConfigurationError):
        cleared_roles("registrar,janitor")


def test_targets_parse() -> None:
    assert parse_target("answer.summary") == ("answer", "summary")
    assert parse_target("document:abc") == ("document", "abc")
    with pytest.raises(ValueError):
        parse_target("answer.text")


# --- the archive package made for the public -------------------------------------------


def _case_with_a_secret_section() -> tuple[dict, Any]:
    from shared.audit import Case
    from tests.unit.test_archive import CASE_ID, DIARY_NUMBER, StoredService

    service = StoredService("initiatives", {CASE_ID: [b'{"a":1}', b'{"b":2}', b'{"c":3}']})
    answer = dict(ANSWER)
    service.aggregate_states = lambda aggregate_id: [  # type: ignore[method-assign]
        {"version": 2, "event_type": "Initiative.AnswerDrafted", "occurred_at": "2025-06-02T10:00:00+00:00",
         "state": {"answer": answer, "secrecy": {}}},
        {"version": 3, "event_type": "Initiative.SecrecyMarked", "occurred_at": "2025-06-03T10:00:00+00:00",
         "state": {"answer": answer, "secrecy": {"answer.summary": {"provision": OSL}}}}]

    def entry(position: int, event_type: str, payload: dict) -> dict:
        return {"source": "initiatives", "aggregate_id": CASE_ID, "position": position, "type": event_type,
                "occurred_at": f"2025-06-0{position}T10:00:00+00:00", "actor": ACTOR, "diary_number": DIARY_NUMBER,
                "payload": payload}

    timeline = [entry(2, "Initiative.AnswerDrafted", {"answer": answer, "revision": 1}),
                entry(3, "Initiative.SecrecyMarked", {"target": "answer.summary", "provision": OSL,
                                                      "marked_on": "2025-06-03"})]
    case = Case(DIARY_NUMBER, timeline, [("initiatives", CASE_ID, "Initiative")])
    return {"initiatives": service}, case


@pytest.mark.parametrize("audience", ["auditor", "public"])
def test_the_public_package_withholds_secret_content_and_the_auditors_keeps_it(audience: str) -> None:
    import io
    import zipfile

    from shared.archive import check_package, export_case

    clients, case = _case_with_a_secret_section()
    package = io.BytesIO()
    export_case(clients, case, package, exported_by="test", audience=audience)  # type: ignore[arg-type]
    archive = check_package(package.getvalue())
    assert archive.intact, archive.problems
    members = zipfile.ZipFile(io.BytesIO(package.getvalue())).namelist()
    readme = archive.files["README.txt"].decode()
    everything = b"".join(content for name, content in archive.files.items()).decode("utf-8", "replace")
    assert archive.manifest["audience"] == audience
    if audience == "public":
        assert SECRET not in everything
        assert not any(name.startswith("events/") for name in members)
        assert archive.manifest["redactions"][0]["target"] == "answer.summary"
        assert OSL in readme and "cannot be redacted" in readme
        assert archive.timeline[0]["redactions"] == [{"target": "answer.summary", "provision": OSL}]
    else:
        assert SECRET in everything
        assert any(name.startswith("events/") for name in members)
        assert "keeps every content, including what is marked secret" in readme


def test_a_basis_document_naming_a_secret_document_does_not_show_its_title() -> None:
    initiative = in_preparation()
    register(initiative, secret_under=OSL)
    initiative.draft_answer(answer={**ANSWER, "basis_documents": [
        {"title": "Remissvar från X", "reference": None, "document_id": "d-1"},
        {"title": "Utvärdering", "reference": None}]}, actor=ACTOR)
    shown = redact_case(InitiativeView().dump(initiative))
    secret, public = shown["answer"]["basis_documents"]
    assert secret["title"] is None and secret["redacted"] == {"provision": OSL}
    assert public["title"] == "Utvärdering"
    assert shown["redactions"] == [{"target": "document:d-1", "provision": OSL}]  # named once
    assert "Remissvar från X" not in str(shown)
