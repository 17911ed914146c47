"""Responses every service gives the same way."""
from __future__ import annotations

from typing import Any, Callable
from uuid import UUID

from shared.envelope import describe


def history_response(
    app: Any, aggregate_id: UUID, aggregate_class: type, as_of: dict[str, Any] | None,
    view: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """Every event of an aggregate up to a version or moment, and its state then."""
    as_of = as_of or {}
    state, events = app.state_as_of(aggregate_id, aggregate_class, **as_of)
    return {
        "aggregate_id": str(aggregate_id),
        "as_of": {key: str(value) for key, value in as_of.items()} or None,
        "state": view(state),
        "events": [describe(domain_event) for domain_event in events],
    }
