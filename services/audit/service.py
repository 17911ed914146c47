"""The audit service: what `cases` does on an auditor's terminal, over HTTP.

It keeps no store of its own. Each request reads the four services' HTTP APIs
with the service's own auditor token (AUDIT_TOKEN) and recomputes the timeline,
the states and the hash chains itself (shared.audit, shared.archive — the same
code as the CLI), so a service's word is never taken for its own integrity.
"""
from __future__ import annotations

import io
import json
import os
from datetime import datetime
from typing import Any

from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Request, Response

from services.audit import schemas
from shared.archive import export_case
from shared.audit import Case, ServiceClient, case_states, clients_for, read_case, verify_case, verify_service
from shared.auth import Auth, Actor
from shared.errors import NotFound
from shared.openapi import ApiDoc
from shared.operations import AUDITORS

api = ApiDoc(
    title="Audit",
    version="1.0.0",
    description="A case across every service: its timeline, its aggregates as they were, "
                "the verification of their hash chains, and its archive package.",
)
Loaded = dict[str, Any]
CASE_ERRORS = (404, 502)


class Sources(DependencyProvider):
    """The services read (AUDIT_SOURCES: name → URL; as JSON in the environment it replaces the
    config file's table) and the token they are read with (AUDIT_TOKEN)."""

    def setup(self) -> None:
        config = self.container.config
        from_env = os.environ.get("AUDIT_SOURCES")
        self.urls = dict(json.loads(from_env) if from_env else config["AUDIT_SOURCES"])
        self.token = str(config["AUDIT_TOKEN"])

    def get_dependency(self, worker_ctx: Any) -> dict[str, ServiceClient]:
        return clients_for(self.urls, self.token)


class AuditService:
    name = "audit"

    auth = Auth()
    sources = Sources()

    @api.route("GET", "/health", summary="Liveness and the services read")
    def health(self, request: Request) -> dict[str, Any]:
        return {"service": self.name, "status": "ok",
                "sources": {name: client.base_url for name, client in self.sources.items()}}

    @api.route("GET", "/openapi.json", summary="This document")
    def openapi(self, request: Request) -> dict[str, Any]:
        return api.spec()

    @api.route("GET", "/cases/<diary_number>/timeline", summary="Every event about the case, from every "
               "service, in the order it happened", query=schemas.CaseQuery, response=schemas.CaseTimeline,
               roles=AUDITORS, errors=CASE_ERRORS)
    def timeline_of_case(self, actor: Actor, query: Loaded, diary_number: str) -> dict[str, Any]:
        case = self._case(diary_number, query["as_of"])
        return {"diary_number": diary_number, "as_of": _iso(query["as_of"]), "events": case.timeline}

    @api.route("GET", "/cases/<diary_number>/states", summary="The case and every aggregate it involves, "
               "as they were", query=schemas.CaseQuery, response=schemas.CaseStates, roles=AUDITORS,
               errors=CASE_ERRORS)
    def states_of_case(self, actor: Actor, query: Loaded, diary_number: str) -> dict[str, Any]:
        case = self._case(diary_number, query["as_of"])
        return {"diary_number": diary_number, "as_of": _iso(query["as_of"]),
                "aggregates": case_states(self.sources, case, query["as_of"])}

    @api.route("GET", "/cases/<diary_number>/verification", summary="The hash chains of every aggregate the "
               "case involves, recomputed from the events as stored", response=schemas.VerificationView,
               roles=AUDITORS, errors=CASE_ERRORS)
    def verification_of_case(self, actor: Actor, _: Loaded, diary_number: str) -> dict[str, Any]:
        return verify_case(self.sources, self._case(diary_number)).to_json()

    @api.route("GET", "/cases/<diary_number>/archive", summary="The case as one archive package (zip: events, "
               "states, timeline, manifest with checksums)", roles=AUDITORS, errors=CASE_ERRORS)
    def archive_of_case(self, actor: Actor, _: Loaded, diary_number: str) -> Response:
        case = self._case(diary_number)
        package = io.BytesIO()
        export_case(self.sources, case, package, exported_by=actor.name)
        filename = diary_number.replace(" ", "_") + ".zip"
        return Response(package.getvalue(), mimetype="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    @api.route("GET", "/services/<service_name>/verification", summary="Every aggregate's chain in one service's "
               "log", response=schemas.VerificationView, roles=AUDITORS, errors=CASE_ERRORS)
    def verification_of_service(self, actor: Actor, _: Loaded, service_name: str) -> dict[str, Any]:
        if service_name not in self.sources:
            raise NotFound(f"No service named {service_name!r}; known: {', '.join(self.sources)}")
        return verify_service(self.sources[service_name]).to_json()

    def _case(self, diary_number: str, as_of: datetime | None = None) -> Case:
        case = read_case(self.sources, diary_number, as_of)
        if not case.timeline:
            raise NotFound(f"No events about {diary_number}" + (f" by {as_of.isoformat()}" if as_of else ""))
        return case


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
