"""`CaseApplication.change`: load → command → save, with arguments derived from the loaded aggregate."""
from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from shared.errors import InvalidRequest, NotFound
from tests.support.dockets import Docket, DocketApp


@pytest.fixture
def app() -> DocketApp:
    return DocketApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def counting_loads(app: DocketApp) -> list[Any]:
    loads: list[Any] = []
    real_get = app.repository.get

    def get(aggregate_id: Any, **options: Any) -> Any:
        loads.append(aggregate_id)
        return real_get(aggregate_id, **options)

    app.repository.get = get  # type: ignore[method-assign]
    return loads


def test_derived_arguments_come_from_the_aggregate_loaded_once_for_the_command(app: DocketApp) -> None:
    docket = Docket(title="Diarium", actor="Rut")
    app.save(docket)
    loads = counting_loads(app)

    def numbered(text: str) -> Any:
        return lambda loaded: {"text": f"{len(loaded.entries) + 1}. {text}"}

    changed = app.change(docket.id, Docket, "enter", actor="Rut", derived=numbered("Motion"))
    app.change(docket.id, Docket, "enter", actor="Rut", derived=numbered("Svar"))

    assert loads == [docket.id, docket.id]  # one load a command
    assert changed.entries == ["1. Motion"]
    assert app.repository.get(docket.id).entries == ["1. Motion", "2. Svar"]


def test_an_aggregate_that_does_not_exist_is_404_before_its_derived_arguments_are_checked(app: DocketApp) -> None:
    def refused(loaded: Docket) -> dict[str, Any]:
        raise InvalidRequest.for_field("file", "no such file")

    with pytest.raises(NotFound):
        app.change(uuid4(), Docket, "enter", actor="Rut", derived=refused)
    docket = Docket(title="Diarium", actor="Rut")
    app.save(docket)
    with pytest.raises(InvalidRequest):
        app.change(docket.id, Docket, "enter", actor="Rut", derived=refused)
    assert app.repository.get(docket.id).version == 1  # nothing written


def test_attendance_loads_its_meeting_once_and_checks_it_against_the_body_on_the_day() -> None:
    from datetime import date, datetime, timezone

    from services.meetings.application import MeetingsApplication
    from services.meetings.domain import Body, Meeting

    app = MeetingsApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    body = app.establish_body(actor="Sara", name="Regionala utvecklingsnämnden", kind="committee",
                              convener="Sara", format="physical", cadence=None, purpose=None)
    app.add_member(body.id, actor="Sara", from_date=date(2022, 1, 1), name="Anna", role="chair", party="S")
    meeting = app.schedule_meeting(actor="Sara", body_id=body.id, title="RUN",
                                   starts_at=datetime(2022, 2, 15, 8, tzinfo=timezone.utc))
    app.convene_meeting(meeting.id, actor="Sara", convened_on=date(2022, 2, 1))
    loads = counting_loads(app)  # type: ignore[arg-type]

    recorded = app.record_attendance(meeting.id, actor="Sara", present=[{"name": "Anna"}])

    assert loads == [meeting.id, body.id]
    assert isinstance(recorded, Meeting) and isinstance(app.repository.get(body.id), Body)
    assert [person["name"] for person in app.get_meeting(meeting.id).attendance] == ["Anna"]
