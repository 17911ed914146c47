"""What the code running now is working for: one HTTP request, or one event taken from an inbox.

Log lines (request id, actor, diary number) and the envelopes of the events a piece of
work records (correlation and causation) read it from here. It is a context variable:
every green thread (one per nameko worker) and every inbox message has its own, and
the store gate carries it into the OS thread that runs SQLite's calls.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Iterator


@dataclass(frozen=True)
class WorkContext:
    request_id: str | None = None      # X-Request-ID, accepted or generated
    actor: str | None = None           # who asked, once authenticated
    diary_number: str | None = None    # the case worked on, where known
    correlation_id: str | None = None  # the first request or event of the chain this work belongs to
    causation_id: str | None = None    # the event (or request) that caused this work
    effective_on: date | None = None   # the business date the events recorded now took effect (an import)
    imported: dict[str, Any] | None = None  # {by, file, sha256, imported_at}: the events come from an import


_current: ContextVar[WorkContext] = ContextVar("work_context", default=WorkContext())


def current() -> WorkContext:
    return _current.get()


@contextmanager
def working_on(**fields: Any) -> Iterator[WorkContext]:
    """A fresh context for one piece of work, restored afterwards."""
    token = _current.set(WorkContext(**fields))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


@contextmanager
def also(**fields: Any) -> Iterator[WorkContext]:
    """The current context with some fields changed, for a part of the work (an import's events)."""
    token = _current.set(replace(_current.get(), **fields))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def note(**fields: Any) -> None:
    """Adds what became known during the work (the actor after authentication, a diary number)."""
    _current.set(replace(_current.get(), **fields))
