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
