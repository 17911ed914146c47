"""Stopping what a test started, within a bound: a service that cannot stop fails its test with
the stacks of every green thread (where it is stuck), instead of holding the whole run until CI
cuts it off."""
from __future__ import annotations

import gc
import traceback
from pathlib import Path
from typing import Any

import eventlet
import greenlet

from tests.support.services import run_log_dir

STOP_WITHIN_SECONDS = 60.0
OUR_CODE = ("/shared/", "/services/", "/tests/")


def green_stacks() -> list[list[traceback.FrameSummary]]:
    """The stack of every suspended green thread in this process."""
    return [traceback.extract_stack(thread.gr_frame) for thread in gc.get_objects()
            if isinstance(thread, greenlet.greenlet) and thread.gr_frame is not None]


def where_stuck(stacks: list[list[traceback.FrameSummary]]) -> list[str]:
    """For each stack, its innermost frame in the project's own code (`shared/outbox.py:231 run`), once each."""
    places: list[str] = []
    for stack in stacks:
        ours = [frame for frame in stack if any(part in frame.filename for part in OUR_CODE)
                and "/tests/support/stopping.py" not in frame.filename]
        if ours:
            frame = ours[-1]
            place = f"{frame.filename.rsplit('/', 2)[-2]}/{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} {frame.name}"
            if place not in places:
                places.append(place)
    return places


def dump(stacks: list[list[traceback.FrameSummary]], name: str) -> Path | None:
    directory = run_log_dir()
    if directory is None:
        return None
    path = directory / f"stuck-{name}.txt"
    path.write_text("\n\n".join("".join(traceback.format_list(stack)) for stack in stacks), encoding="utf-8")
    return path


def stop_within(container: Any, seconds: float = STOP_WITHIN_SECONDS) -> None:
    """nameko's graceful stop, bounded: past `seconds` the container is killed and the test fails,
    naming where its green threads are stuck (all stacks in the run's log directory)."""
    try:
        with eventlet.Timeout(seconds):
            container.stop()
            return
    except eventlet.Timeout:
        stacks = green_stacks()
    path = dump(stacks, f"{container.service_name}-{id(container):x}")
    container.kill()
    raise AssertionError(f"{container.service_name} did not stop within {seconds:g} s; stuck at "
                         f"{'; '.join(where_stuck(stacks)) or 'no frame of ours'} (stacks: {path})")
