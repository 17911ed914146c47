"""Responses every service gives the same way."""
from __future__ import annotations

from datetime import date
from typing import Any, Callable
from uuid import UUID

from shared.envelope import describe, read_basis


def history_response(
    app: Any, aggregate_id: UUID, aggregate_class: type, as_of: dict[str, Any] | None,
    view: Callable[[Any], dict[str, Any]], in_effect_on: date | None = None,
) -> dict[str, Any]:
    """Every event of an aggregate up to a version or moment (as recorded), or up to a day by the business
    dates the events carry (as in effect), and its state then; `basis` says which."""
    as_of = as_of or {}
    state, events = app.state_as_of(aggregate_id, aggregate_class, in_effect_on=in_effect_on, **as_of)
    return {
        "aggregate_id": str(aggregate_id),
        "as_of": {key: str(value) for key, value in as_of.items()} or None,
        **read_basis(in_effect_on),
        "state": view(state),
        "events": [describe(domain_event) for domain_event in events],
    }
