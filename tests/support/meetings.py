"""Driving bodies and meetings through the meetings service's HTTP API in tests."""
from __future__ import annotations

import time
from typing import Any, Callable

from services.meetings import demo
from tests.support.services import Api


def poster(api: Api, role: str = "secretary") -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    return lambda path, body: api.command(path, role, body)


def establish_body(api: Api) -> dict[str, Any]:
    return demo.establish_body(poster(api))


def hold_meeting(api: Api, body_id: str, diary_number: str, through: str = "public_notice") -> dict[str, Any]:
    return demo.hold_meeting(poster(api), body_id, diary_number, through)


def meeting_steps(api: Api, body_id: str, diary_number: str) -> Any:
    """Step by step: `advance(steps, "decision")` takes the steps up to the decision."""
    return demo.meeting_steps(poster(api), body_id, diary_number)


advance = demo.advance


def eventually(read: Callable[[], Any], condition: Callable[[Any], bool], timeout: float = 30.0,
               pause: float = 0.2) -> Any:
    """Reads until the condition holds (events cross services asynchronously); returns the last read."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if condition(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last: {value!r}"[:2000])
        time.sleep(pause)
