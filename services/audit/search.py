"""Search across every service: each service's own search, merged best match first.

A page asks each service still holding matches for one page after where that service's
last shown hit was, merges them by score (then service and id) and shows the best `limit`;
the cursor remembers, per service, the position after its last hit shown. So every hit is
shown once, in order, and a page costs `limit` hits from each service, whatever the history.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

from shared.audit import ServiceClient
from shared.errors import InvalidRequest
from shared.readmodel import Cursors, Page, search_words

SCOPE = "audit/search"


def search_everywhere(clients: Mapping[str, ServiceClient], query: Mapping[str, Any]) -> Page:
    words = search_words(query["q"])
    services = _selected(query.get("services"), clients)
    filters = {"q": " ".join(words), "services": ",".join(services)}
    state = _state(Cursors.decode(query.get("cursor"), SCOPE, filters, (str,)), services)
    limit = query.get("limit") or 50
    fetched: dict[str, tuple[list[dict[str, Any]], str | None]] = {}
    for service in services:
        if state[service]["done"]:
            continue
        params = {"q": filters["q"], "limit": limit, **({"cursor": state[service]["after"]}
                                                        if state[service]["after"] else {})}
        page = clients[service].get("/search", **params)
        fetched[service] = (page["hits"], page["next"])
    merged = sorted((hit for hits, _ in fetched.values() for hit in hits),
                    key=lambda hit: (-hit["score"], hit["service"], hit["aggregate_id"]))
    shown = merged[:limit]
    for service, (hits, following) in fetched.items():
        taken = [hit for hit in shown if hit["service"] == service]
        if taken:
            state[service]["after"] = taken[-1]["cursor"]
        state[service]["done"] = len(taken) == len(hits) and following is None
    for hit in shown:
        hit.pop("cursor", None)
    more = any(not entry["done"] for entry in state.values())
    return Page(shown, Cursors.encode(SCOPE, filters, [json.dumps(state, sort_keys=True)]) if more else None)


def _selected(named: str | None, clients: Mapping[str, ServiceClient]) -> list[str]:
    if not named:
        return sorted(clients)
    services = sorted({name.strip() for name in named.split(",") if name.strip()})
    unknown = [name for name in services if name not in clients]
    if unknown or not services:
        raise InvalidRequest.for_field("services", f"unknown: {', '.join(unknown) or named!r}; "
                                                   f"known: {', '.join(sorted(clients))}")
    return services


def _state(key: list[Any] | None, services: list[str]) -> dict[str, dict[str, Any]]:
    if key is None:
        return {service: {"after": None, "done": False} for service in services}
    try:
        state = json.loads(key[0])
        valid = isinstance(state, dict) and set(state) == set(services) and all(
            isinstance(entry, dict) and isinstance(entry.get("done"), bool)
            and (entry.get("after") is None or isinstance(entry["after"], str)) for entry in state.values())
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise InvalidRequest.for_field("cursor", "not a cursor this service gave out")
    return state
