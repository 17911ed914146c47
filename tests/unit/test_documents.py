"""A case's documents (Initiative.register_document): the rules the aggregate checks, and replay."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.initiatives.domain import Initiative, State
from shared.application import replay
from shared.errors import InvalidRequest
from tests.unit.test_initiative import submitted

TODAY = date(2025, 6, 2)
FILE = {"sha256": "a" * 64, "size": 1234, "media_type": "application/pdf", "filename": "Remissvar.pdf"}


def register(initiative: Initiative, **changes: Any) -> None:
    initiative.register_document(**{
        "document_id": "d1", "kind": "remissvar", "direction": "incoming", "title": "Remissvar från Umeå kommun",
        "dated": date(2025, 5, 30), "counterpart": "Umeå kommun", "file": FILE, "registered_on": TODAY,
        "secret_under": None, "actor": "Rut", **changes})


def test_a_registered_document_is_kept_with_exactly_its_fields_and_replays() -> None:
    initiative = submitted()
    register(initiative, secret_under="OSL 21 kap. 7 §")
    assert initiative.documents == [{
        "document_id": "d1", "kind": "remissvar", "direction": "incoming", "title": "Remissvar från Umeå kommun",
        "dated": date(2025, 5, 30), "counterpart": "Umeå kommun", "file": FILE, "registered_on": TODAY,
        "secret_under": "OSL 21 kap. 7 §"}]
    assert initiative.document("d1") == initiative.documents[0] and initiative.document("d2") is None
    assert replay(initiative.collect_events()).documents == initiative.documents  # type: ignore[attr-defined]


def test_documents_are_registered_in_every_state_withdrawn_and_closed_included() -> None:
    initiative = submitted()
    initiative.withdraw(reason="Återkallad", withdrawn_on=TODAY, actor="Rut")
    assert initiative.state is State.WITHDRAWN
    register(initiative, kind="skrivelse", title="Återkallelse")
    assert initiative.state is State.WITHDRAWN and len(initiative.documents) == 1


@pytest.mark.parametrize("changes, field", [
    ({"counterpart": None}, "counterpart"),
    ({"direction": "outgoing", "counterpart": ""}, "counterpart"),
    ({"dated": date(2025, 6, 3)}, "dated"),
])
def test_a_document_received_or_sent_names_its_counterpart_and_none_is_dated_after_registration(
    changes: dict[str, Any], field: str
) -> None:
    initiative = submitted()
    with pytest.raises(InvalidRequest) as refused:
        register(initiative, **changes)
    assert refused.value.errors[0]["field"] == field and initiative.documents == []


def test_a_document_drawn_up_needs_no_counterpart_and_an_id_is_registered_once() -> None:
    initiative = submitted()
    register(initiative, direction="drawn_up", counterpart=None, kind="tjansteskrivelse", file=None)
    with pytest.raises(InvalidRequest):
        register(initiative)
    assert [d["file"] for d in initiative.documents] == [None]


@pytest.mark.parametrize("blank", ["", "   ", "\t"])
def test_a_document_registered_secret_under_a_blank_provision_is_refused_not_made_public(blank: str) -> None:
    initiative = submitted()
    with pytest.raises(InvalidRequest) as refused:
        register(initiative, secret_under=blank)
    assert refused.value.errors[0]["field"] == "secret_under"
    assert initiative.documents == [] and initiative.secrecy == {}
