"""The routes every service has, declared once: health, its OpenAPI document, the event feed, incidents."""
from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from shared import schemas
from shared.auth import ROLES, Actor
from shared.openapi import ApiDoc


def operations(api: ApiDoc, application: str, *, consumes_events: bool = False) -> type:
    """A base class for a nameko service whose application dependency is the attribute `application`.

    A service that consumes other services' events (shared.inbox) also lists the incidents.
    """

    class Operations:
        @api.route("GET", "/health", summary="Liveness, the store's state, the outbox and inboxes", errors=(503,))
        def health(self, request: Request) -> dict[str, Any]:
            return {"service": self.name, **getattr(self, application).health()}  # type: ignore[attr-defined]

        @api.route("GET", "/openapi.json", summary="This document")
        def openapi(self, request: Request) -> dict[str, Any]:
            return api.spec()

        @api.route("GET", "/events", summary="The public event feed, after a position",
                   query=schemas.FeedQuery, response=schemas.FeedView, roles=ROLES)
        def feed(self, actor: Actor, query: dict[str, Any]) -> dict[str, Any]:
            return getattr(self, application).feed(query["after"], query["limit"])

        if consumes_events:
            @api.route("GET", "/incidents", summary="Events from other services that could not be applied",
                       response=schemas.IncidentList, roles=ROLES)
            def list_incidents(self, actor: Actor, _: dict[str, Any]) -> dict[str, Any]:
                incidents = getattr(self, application).list_incidents()
                return {"incidents": schemas.IncidentView(many=True).dump(incidents)}

    return Operations
