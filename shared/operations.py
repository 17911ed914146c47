"""The routes every service has, declared once: health, liveness, readiness and metrics, its
OpenAPI document, the event feed, incidents, reminders, and the auditors' reads (the log as stored,
any aggregate as it was)."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from nameko.dependency_providers import Config
from nameko.timer import timer
from werkzeug.wrappers import Request, Response

from shared import clock, schemas
from shared.auth import ROLES, Actor
from shared.files import ALLOWED_MEDIA_TYPES, DEFAULT_FILE_MAX_BYTES, checked_upload, sanitised_filename
from shared.http import Paged, file_response
from shared.openapi import FILE, ApiDoc
from shared.probes import probes, with_broker
from shared.settings import env_flag

AUDITORS = ("auditor",)
REMINDED = ("registrar", "case_officer", "secretary", "strategist")  # the roles reminders are for
REMINDER_CHECK_SECONDS = 5
# A round of the reminder timer begins no aggregate after this long (below STORE_TIMEOUT): a backlog
# (the first start after an upgrade) is raised over several rounds, requests going on between them.
REMINDER_ROUND_SECONDS = 2.0


def operations(api: ApiDoc, application: str, *, consumes_events: bool = False, reminders: bool = False,
               uploaders: tuple[str, ...] = ()) -> type:
    """A base class for a nameko service whose application dependency is the attribute `application`.

    A service whose commands carry files (shared.files) names the roles that may upload them: they
    POST /files, and commands then name the file by its SHA-256.

    A service that consumes other services' events (shared.inbox) also lists the incidents. A service
    whose aggregates raise reminders (shared.reminders) runs the timer that raises them when they fall
    due (unless REMINDERS_ENABLED is false in this instance) and lists those that still apply.
    """

    class Operations(probes(api)):  # type: ignore[misc]
        config = Config()

        @api.route("GET", "/health", summary="The store's state, the outbox, inboxes, read model and RabbitMQ "
                   "connections; status degraded when something lags or fails", errors=(503,))
        def health(self, request: Request) -> dict[str, Any]:
            health = {"service": self.name, **getattr(self, application).health()}  # type: ignore[attr-defined]
            return with_broker(health, self.observability)  # type: ignore[attr-defined]

        @api.route("GET", "/openapi.json", summary="This document")
        def openapi(self, request: Request) -> dict[str, Any]:
            return api.spec()

        @api.route("GET", "/events", summary="The public event feed, after a position (content marked secret "
                   "withheld unless the token's role is cleared for it)",
                   query=schemas.FeedQuery, response=schemas.FeedView, roles=ROLES)
        def feed(self, actor: Actor, query: dict[str, Any]) -> dict[str, Any]:
            clearance = getattr(self, "clearance", None)  # a service that holds secret content (shared.secrecy)
            cleared = clearance is not None and clearance.sees_secrets(actor)
            return getattr(self, application).feed(query["after"], query["limit"], redacted=not cleared)

        @api.route("GET", "/records", summary="Every recorded event after a position, exactly as stored, "
                   "with its hash chain (for verification)", query=schemas.FeedQuery,
                   response=schemas.RecordPage, roles=AUDITORS, errors=(503,))
        def records(self, actor: Actor, query: dict[str, Any]) -> dict[str, Any]:
            return getattr(self, application).records(query["after"], query["limit"])

        @api.route("GET", "/aggregates/<uuid:aggregate_id>/records",
                   summary="One aggregate's events exactly as stored, in version order",
                   response=schemas.AggregateRecords, roles=AUDITORS, errors=(404, 503))
        def aggregate_records(self, actor: Actor, _: dict[str, Any], aggregate_id: UUID) -> dict[str, Any]:
            records = getattr(self, application).aggregate_records(aggregate_id)
            return {"aggregate_id": str(aggregate_id), "records": records}

        @api.route("GET", "/aggregates/<uuid:aggregate_id>/events",
                   summary="One aggregate's public events as the feed carries them (positions, diary numbers)",
                   response=schemas.AggregateEnvelopes, roles=AUDITORS, errors=(404, 503))
        def aggregate_events(self, actor: Actor, _: dict[str, Any], aggregate_id: UUID) -> dict[str, Any]:
            return {"aggregate_id": str(aggregate_id),
                    "events": getattr(self, application).aggregate_envelopes(aggregate_id)}

        @api.route("GET", "/search", summary="Full-text search (Swedish) over this service's cases, texts "
                   "and decisions; best match first", query=schemas.SearchQuery, response=schemas.SearchPage,
                   roles=ROLES, errors=(503,))
        def search(self, actor: Actor, query: dict[str, Any]) -> Paged:
            return Paged("hits", getattr(self, application).search(query))

        @api.route("GET", "/aggregates/<uuid:aggregate_id>",
                   summary="Any aggregate (case, meeting, agreement, ...) as it was at a version or moment "
                   "(as recorded), or as in effect on a day",
                   query=schemas.HistoryQuery, response=schemas.AggregateStateView, roles=AUDITORS,
                   errors=(404, 503))
        def aggregate_as_of(self, actor: Actor, query: dict[str, Any], aggregate_id: UUID) -> dict[str, Any]:
            return getattr(self, application).aggregate_as_of(aggregate_id, in_effect_on=query["in_effect_on"],
                                                              **(query["as_of"] or {}))

        @api.route("GET", "/aggregates/<uuid:aggregate_id>/states",
                   summary="The aggregate's state after each of its events", response=schemas.AggregateStates,
                   roles=AUDITORS, errors=(404, 503))
        def aggregate_states(self, actor: Actor, _: dict[str, Any], aggregate_id: UUID) -> dict[str, Any]:
            return {"aggregate_id": str(aggregate_id),
                    "states": getattr(self, application).aggregate_states(aggregate_id)}

        if reminders:
            @timer(interval=REMINDER_CHECK_SECONDS)
            def raise_due_reminders(self) -> int:
                if not env_flag(self.config, "REMINDERS_ENABLED", True):
                    return 0
                return getattr(self, application).raise_due_reminders(clock.today(), time_limit=REMINDER_ROUND_SECONDS)

            @api.route("GET", "/reminders", summary="Reminders (bevakning) raised that still apply, by due day; "
                       "by role and due date", query=schemas.ReminderQuery, response=schemas.ReminderList,
                       roles=ROLES)
            def list_reminders(self, actor: Actor, query: dict[str, Any]) -> Paged:
                return Paged("reminders", getattr(self, application).list_reminders(query))

            @api.route("POST", "/reminders/<uuid:aggregate_id>/done", summary="Mark a reminder done (kvittera; 403 unless the reminder is for one of your roles): "
                       "someone with its role has looked at it, and it leaves the list", body=schemas.MarkReminderDone,
                       response=schemas.ReminderDoneView, roles=REMINDED, errors=(404, 409))
            def mark_reminder_done(self, actor: Actor, command: dict[str, Any], aggregate_id: UUID) -> dict[str, Any]:
                getattr(self, application).mark_reminder_done(aggregate_id, key=command["key"], roles=actor.roles,
                                                              actor=actor.recorded_as)
                return {"aggregate_id": aggregate_id, "key": command["key"], "done_by": actor.recorded_as}

        if uploaders:
            @api.route("POST", "/files", summary="Upload a file (the body is its content, Content-Type its media "
                       "type, checked against the content): stored once by its SHA-256, which commands then "
                       "name. Allowed: " + ", ".join(ALLOWED_MEDIA_TYPES.values()) + "; at most FILE_MAX_BYTES "
                       f"(default {DEFAULT_FILE_MAX_BYTES // (1024 * 1024)} MiB)", query=schemas.UploadQuery,
                       raw_body=tuple(ALLOWED_MEDIA_TYPES), raw_body_limit=file_max_bytes,
                       response=schemas.FileView, status=201, roles=uploaders, errors=(503,))
            def upload_file(self, actor: Actor, loaded: dict[str, Any]) -> dict[str, Any]:
                filename = sanitised_filename(loaded["filename"])
                media_type = checked_upload(loaded["body"], loaded["content_type"], file_max_bytes(self))
                stored = getattr(self, application).store_file(loaded["body"], media_type)
                return {"sha256": stored.sha256, "size": stored.size, "media_type": stored.media_type,
                        "filename": filename}

            @api.route("GET", "/files/<sha256>", summary="A stored file by its SHA-256, checked as it is read, for "
                       "auditors (the archive package holds every file a case's events refer to); others read a "
                       "file through what carries it", response=FILE, media_types=tuple(ALLOWED_MEDIA_TYPES),
                       roles=AUDITORS, errors=(404,))
            def stored_file(self, actor: Actor, _: dict[str, Any], sha256: str) -> Response:
                stored, content = getattr(self, application).read_file(sha256)
                return file_response(content, stored.media_type, sha256)

        if consumes_events:
            @api.route("GET", "/incidents", summary="Events from other services that could not be applied, "
                       "by source and position", query=schemas.PageQuery, response=schemas.IncidentList, roles=ROLES)
            def list_incidents(self, actor: Actor, query: dict[str, Any]) -> Paged:
                return Paged("incidents", getattr(self, application).list_incidents(query))

    return Operations


def file_max_bytes(service: Any) -> int:
    """The largest file the service takes: its FILE_MAX_BYTES, by default DEFAULT_FILE_MAX_BYTES."""
    return int(service.config.get("FILE_MAX_BYTES") or DEFAULT_FILE_MAX_BYTES)
