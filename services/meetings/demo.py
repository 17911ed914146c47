"""A held meeting of regionala utvecklingsnämnden that decides a case, over HTTP.

Used by `make run` (after the initiatives demo) and by the tests: the body with its
members, a meeting convened with the case on its agenda, opened, the case decided
"considered answered" in a numbered paragraph, closed, the minutes signed by both
adjusters and publicly announced.
"""
from __future__ import annotations

import json
from importlib import resources
from typing import Any, Callable, Iterator

DEV_SECRETARY = "dev-secretary"

Post = Callable[[str, dict[str, Any]], dict[str, Any]]


def run_meeting_seed() -> dict[str, Any]:
    return json.loads(resources.files(__package__).joinpath("seeds/run_meeting.json").read_text("utf-8"))


def establish_body(post: Post) -> dict[str, Any]:
    seed = run_meeting_seed()
    body = post("/bodies", seed["body"])
    for member in seed["members"]:
        body = post(f"/bodies/{body['id']}/members", member)
    return body


def meeting_steps(post: Post, body_id: str, diary_number: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Schedules and holds a meeting that decides the case, one step per iteration: (step, meeting)."""
    seed = run_meeting_seed()
    meeting = post("/meetings", {**seed["meeting"], "body_id": body_id})
    path = f"/meetings/{meeting['id']}"
    yield "scheduled", meeting
    yield "convocation", post(f"{path}/convocation", seed["convocation"])
    meeting = post(f"{path}/agenda", {**seed["item"], "diary_number": diary_number})
    yield "agenda", meeting
    yield "attendance", post(f"{path}/attendance", seed["attendance"])
    yield "opening", post(f"{path}/opening", {})
    yield "decision", post(f"{path}/agenda/{meeting['agenda'][0]['item_id']}/decision", seed["decision"])
    yield "adjusters", post(f"{path}/adjusters", seed["adjusters"])
    yield "closing", post(f"{path}/closing", {})
    yield "signature_1", post(f"{path}/signatures", seed["signatures"][0])
    yield "signature_2", post(f"{path}/signatures", seed["signatures"][1])
    yield "public_notice", post(f"{path}/public-notice", seed["public_notice"])


def advance(steps: Iterator[tuple[str, dict[str, Any]]], through: str) -> dict[str, Any]:
    """Takes the steps up to and including `through`; returns the meeting then."""
    for step, meeting in steps:
        if step == through:
            return meeting
    raise ValueError(f"no step {through!r}")


def hold_meeting(post: Post, body_id: str, diary_number: str, through: str = "public_notice") -> dict[str, Any]:
    return advance(meeting_steps(post, body_id, diary_number), through)
