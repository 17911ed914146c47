"""Merging the services' feeds into one case timeline (no services needed)."""
from __future__ import annotations

from datetime import datetime, timezone

from shared.timeline import case_timeline, describe_entry


def envelope(source: str, position: int, occurred_at: str, diary_number: str | None, event_type: str,
             aggregate_id: str | None = None) -> dict:
    return {"source": source, "position": position, "occurred_at": occurred_at, "diary_number": diary_number,
            "type": event_type, "actor": "Rut", "payload": {"text": "…"},
            "aggregate_id": aggregate_id or event_type.split(".")[0]}


FEEDS = {
    "initiatives": [
        envelope("initiatives", 1, "2025-05-17T10:00:00+00:00", None, "Initiative.Submitted"),
        envelope("initiatives", 2, "2025-05-18T10:00:00+00:00", None, "Initiative.Submitted", "another case"),
        envelope("initiatives", 4, "2025-05-19T10:00:00+00:00", "RUN 2025-0001", "Initiative.Registered"),
        envelope("initiatives", 9, "2025-11-12T10:00:05+00:00", "RUN 2025-0001", "Initiative.DecisionRecorded"),
    ],
    "meetings": [
        envelope("meetings", 6, "2025-11-12T09:00:00+00:00", None, "Meeting.Opened"),
        envelope("meetings", 7, "2025-11-12T10:00:00+00:00", "RUN 2025-0001", "Meeting.ItemDecided"),
        envelope("meetings", 8, "2025-11-12T10:00:01+00:00", "RUN 2025-0002", "Meeting.ItemDecided"),
        {**envelope("meetings", 12, "2025-11-17T09:00:00+00:00", None, "Meeting.MinutesAdjusted"),
         "payload": {"decisions": [{"diary_number": "RUN 2025-0002"}, {"diary_number": "RUN 2025-0001"}]}},
    ],
}


def test_a_timeline_merges_the_services_in_time_order_and_keeps_to_the_case() -> None:
    timeline = case_timeline(FEEDS, "RUN 2025-0001")
    assert [(e["type"], e["position"]) for e in timeline] == [
        ("Initiative.Submitted", 1), ("Initiative.Registered", 4), ("Meeting.Opened", 6), ("Meeting.ItemDecided", 7),
        ("Initiative.DecisionRecorded", 9), ("Meeting.MinutesAdjusted", 12)]


def test_a_timeline_as_of_a_moment_stops_there() -> None:
    as_of = datetime(2025, 6, 1, tzinfo=timezone.utc)
    assert [e["type"] for e in case_timeline(FEEDS, "RUN 2025-0001", as_of)] == [
        "Initiative.Submitted", "Initiative.Registered"]


def test_an_entry_reads_as_one_line() -> None:
    line = describe_entry(FEEDS["meetings"][1])
    assert line.startswith("2025-11-12 10:00:00  meetings") and "Meeting.ItemDecided" in line and "Rut" in line


def test_an_entry_names_its_cause_where_it_is_in_the_timeline() -> None:
    decided = {**envelope("meetings", 7, "2025-11-12T10:00:00+00:00", "RUN 2025-0001", "Meeting.ItemDecided"),
               "event_id": "e-7", "correlation_id": "abc-123", "causation_id": None}
    recorded = {**envelope("initiatives", 9, "2025-11-12T10:00:05+00:00", "RUN 2025-0001",
                           "Initiative.DecisionRecorded"), "event_id": "e-9", "correlation_id": "abc-123",
                "causation_id": "e-7"}
    unknown = {**envelope("initiatives", 10, "2025-11-12T10:00:06+00:00", "RUN 2025-0001", "Initiative.Finalised"),
               "event_id": "e-10", "causation_id": "e-elsewhere"}
    old = envelope("initiatives", 4, "2025-05-19T10:00:00+00:00", "RUN 2025-0001", "Initiative.Registered")

    timeline = case_timeline({"meetings": [decided], "initiatives": [old, recorded, unknown]}, "RUN 2025-0001")
    causes = {e["type"]: e["caused_by"] for e in timeline}
    assert causes["Initiative.Registered"] is None and causes["Meeting.ItemDecided"] is None
    assert causes["Initiative.DecisionRecorded"] == {
        "event_id": "e-7", "source": "meetings", "type": "Meeting.ItemDecided", "aggregate_id": "Meeting",
        "aggregate_version": None, "position": 7, "occurred_at": "2025-11-12T10:00:00+00:00"}
    assert causes["Initiative.Finalised"] == {"event_id": "e-elsewhere", "source": None, "type": None,
                                              "aggregate_id": None, "aggregate_version": None, "position": None,
                                              "occurred_at": None}

    lines = {e["type"]: describe_entry(e) for e in timeline}
    assert lines["Initiative.DecisionRecorded"].endswith("← caused by meetings Meeting.ItemDecided")
    assert lines["Initiative.Finalised"].endswith("← caused by event e-elsewhere")
    assert "caused by" not in lines["Meeting.ItemDecided"]
    assert case_timeline({"archive": timeline}, "RUN 2025-0001") == timeline  # read back from a package: the same


def test_a_cause_after_as_of_is_not_named_as_in_the_timeline() -> None:
    first = {**envelope("meetings", 7, "2025-11-12T10:00:00+00:00", "RUN 2025-0001", "Meeting.ItemDecided"),
             "event_id": "e-7", "causation_id": "e-9"}
    later = {**envelope("initiatives", 9, "2025-11-13T10:00:00+00:00", "RUN 2025-0001", "Initiative.Finalised"),
             "event_id": "e-9"}
    as_of = datetime(2025, 11, 12, 12, tzinfo=timezone.utc)
    (entry,) = case_timeline({"meetings": [first], "initiatives": [later]}, "RUN 2025-0001", as_of)
    assert entry["caused_by"]["event_id"] == "e-9" and entry["caused_by"]["type"] is None
