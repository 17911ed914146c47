"""The audit service: what `cases` does on an auditor's terminal, over HTTP, at the cost of one case.

Its own store holds only a case index (services.audit.index): which aggregates of which
service concern a diary number, fed from every service's events. A request reads just
those aggregates from the services' HTTP APIs with the service's own auditor token
(AUDIT_TOKEN) and recomputes the timeline, the states and the hash chains itself
(shared.audit, shared.archive — the same code as the CLI), so a service's word is never
taken for its own integrity, and neither is the index's: it only says where to look.
"""
from __future__ import annotations

import io
import json
import logging
import os
from datetime import date, datetime
from functools import partial
from typing import Any

from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Request, Response

from services.audit import schemas
from services.audit import oparl
from services.audit.index import CaseIndex
from services.audit.search import search_everywhere
from shared import clock
from shared.amqp import BrokerSettings, broker_settings
from shared.archive import export_case
from shared.audit import Case, ServiceClient, case_states, clients_for, read_indexed_case, verify_case, verify_service
from shared.auth import ROLES, Actor, Auth, ConfigurationError
from shared.context import note
from shared.dependencies import Clearance, close_on_kill
from shared.secrecy import markings_from_events, redact_case, redact_event, redact_events
from shared.envelope import read_basis
from shared.errors import NotFound
from shared.http import Paged
from shared.inbox import DEFAULT_RUN, InboxConsumer, inbox_queue, still_failing
from shared.openapi import ApiDoc
from shared.operations import AUDITORS
from shared.probes import probes, with_broker
from shared.settings import env_flag
from shared.signing import Ed25519PrivateKey, KeyFileError, private_key_from_pem
from shared.store import StoreGate, construct_application, persistence_env
from shared.telemetry import Telemetry, inbox_metrics, observe_inboxes, store_check
from shared.topology import inboxes_of

log = logging.getLogger(__name__)

api = ApiDoc(
    title="Audit",
    version="1.0.0",
    description="A case across every service: its timeline, its aggregates as they were, "
                "the verification of their hash chains, and its archive package.",
)
Loaded = dict[str, Any]
CASE_ERRORS = (404, 502)


class ArchiveSigningKey(DependencyProvider):
    """The Ed25519 key the packages this service exports are signed with (AUDIT_SIGNING_KEY, PEM;
    AUDIT_SIGNING_KEY_FILE in a container), so `cases check-archive --public-key` can tell a package
    rewritten as a whole. Without it packages are exported unsigned, as the CLI's without --signing-key."""

    def setup(self) -> None:
        pem = str(self.container.config.get("AUDIT_SIGNING_KEY") or "").strip()
        try:
            self.key = private_key_from_pem(pem.encode(), "AUDIT_SIGNING_KEY") if pem else None
        except KeyFileError as error:
            raise ConfigurationError(str(error)) from None

    def get_dependency(self, worker_ctx: Any) -> Ed25519PrivateKey | None:
        return self.key


class Sources(DependencyProvider):
    """The services read (AUDIT_SOURCES: name → URL; as JSON in the environment it replaces the
    config file's table) and the token they are read with (AUDIT_TOKEN)."""

    def setup(self) -> None:
        config = self.container.config
        self.urls = source_urls(config)
        self.token = audit_token(config)

    def get_dependency(self, worker_ctx: Any) -> dict[str, ServiceClient]:
        return clients_for(self.urls, self.token)


def audit_token(config: Any) -> str:
    """The token the services are read with: configured, or the development one with DEVELOPMENT=true."""
    token = config.get("AUDIT_TOKEN")
    if token:
        return str(token)
    if env_flag(config, "DEVELOPMENT", False):
        return "dev-auditor"
    raise ConfigurationError("Set AUDIT_TOKEN (or AUDIT_TOKEN_FILE): a token with the auditor role that "
                             "the services accept, e.g. one of their AUTH_TOKEN_DIGESTS")


def source_urls(config: Any) -> dict[str, str]:
    from_env = os.environ.get("AUDIT_SOURCES")
    return dict(json.loads(from_env) if from_env else config["AUDIT_SOURCES"])


class _Direct:
    """The inbox's gate for the index, whose own store calls pass the store's gate (HTTP stays green)."""

    @staticmethod
    def call(function: Any, *args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)


class AuditIndex(DependencyProvider):
    """The case index in the audit service's store, its inboxes (one per source, every event) and the
    loop that catches it up from the sources' feeds at start and every AUDIT_CATCH_UP_SECONDS."""

    telemetry = Telemetry()

    def setup(self) -> None:
        config = self.container.config
        clock.use_time_zone(config.get("TIME_ZONE"))
        clients = clients_for(source_urls(config), audit_token(config))
        env = persistence_env(config, "audit")
        gate = StoreGate(env)
        gate.observe = self.telemetry.observe_store_call
        self.index, _ = construct_application(partial(
            CaseIndex, sources=clients, gate=gate, region_name=str(config.get("REGION_NAME") or "Regionen"),
            oparl_base_url=str(config.get("OPARL_BASE_URL") or "")), env)
        self.interval = float(config.get("AUDIT_CATCH_UP_SECONDS", 30))
        broker = broker_settings(config)
        self.consumers = [
            InboxConsumer(app=self.index, gate=_Direct(), broker=broker, source=source,
                          queue=inbox_queue(source, "audit", routing_keys, broker.quorum_queues),
                          run_size=int(config.get("INBOX_RUN", DEFAULT_RUN)))
            for source, routing_keys in inboxes_of("audit").items() if source in clients
        ]
        self._stopped = False
        self.observe(broker, gate)

    def observe(self, broker: BrokerSettings, gate: StoreGate) -> None:
        self.telemetry.register(self)  # collect(): the index's positions
        observe_inboxes(self.telemetry, broker, self.consumers)
        self.telemetry.add_check("store", store_check(lambda: self.index.view.max_tracking_id("audit"), gate))

    def collect(self) -> Any:
        """Read at scrape time: how far the index has read each source."""
        try:
            positions = self.index.positions()
        except Exception as error:  # noqa: BLE001 - a scrape during an outage says so, and no more
            log.warning("metrics: the index's store did not answer: %s", error)
            return []
        return list(inbox_metrics(positions, self.index.inbox_failures))

    def start(self) -> None:
        self.threads = [self.container.spawn_managed_thread(consumer.run) for consumer in self.consumers]
        # the background readers of the feeds: the case index's periodic catch-up and OParl's follower
        self.readers = [self.container.spawn_managed_thread(self._catch_up_now_and_then),
                        self.container.spawn_managed_thread(
                            lambda: self.index.follow_oparl(self.interval, lambda: self._stopped))]

    def _catch_up_now_and_then(self) -> None:
        import eventlet

        while not self._stopped:
            for source, problem in self.index.catch_up_all(oparl=False).items():
                log.warning("audit index cannot read %s yet: %s", source, problem)
            eventlet.sleep(self.interval)

    def stop(self) -> None:
        """The feeds' readers first (they may be in the middle of a long feed), then the inboxes, then the store."""
        self._stopped = True
        for thread in getattr(self, "readers", []):
            thread.kill()
        for consumer in self.consumers:
            consumer.stop()
        for thread in getattr(self, "threads", []):
            thread.wait()
        self.index.close()

    def kill(self) -> None:
        self._stopped = True
        for consumer in self.consumers:
            consumer.stop()
        close_on_kill(self.index.close, self.container.service_name)

    def get_dependency(self, worker_ctx: Any) -> CaseIndex:
        return self.index


class AuditService(probes(api)):  # type: ignore[misc]
    name = "audit"

    auth = Auth()
    sources = Sources()
    index = AuditIndex()
    signing_key = ArchiveSigningKey()
    clearance = Clearance()  # who reads secret content (SECRECY_CLEARED_ROLES; shared.secrecy)

    @api.route("GET", "/health", summary="The services read, how far the case index has read each, and the RabbitMQ connections",
               errors=(503,))
    def health(self, request: Request) -> dict[str, Any]:
        positions = self.index.positions()
        failing = still_failing(self.index.inbox_failures, positions)
        # OParl held at an event in a source (found again by the catch-up at start after a restart: OParl's
        # positions are in the store, and an event is never passed over)
        oparl_failures = dict(self.index.oparl_failures)
        return with_broker({"service": self.name, "status": "degraded" if failing or oparl_failures else "ok",
                            "oparl_failures": oparl_failures, "oparl_positions": self.index.oparl_positions(),
                            "sources": {name: client.base_url for name, client in self.sources.items()},
                            "indexed_positions": positions, "inboxes_failing": failing},
                           self.observability)

    @api.route("GET", "/openapi.json", summary="This document")
    def openapi(self, request: Request) -> dict[str, Any]:
        return api.spec()

    def _markings(self, diary_number: str, case: Case, as_of: datetime | None,
                  in_effect_on: date | None = None) -> dict[str, Any]:
        """Each aggregate's secrecy markings now (a marking after `as_of` or `in_effect_on` covers what was
        shown before it)."""
        whole = case if as_of is None and in_effect_on is None else self._case(diary_number)
        return markings_from_events(whole.timeline)

    @api.route("GET", "/cases/<diary_number>/timeline", summary="Every event about the case, from every "
               "service, in the order it happened (every role reads it, as each service's own history)",
               query=schemas.CaseQuery, response=schemas.CaseTimeline, roles=ROLES, errors=CASE_ERRORS)
    def timeline_of_case(self, actor: Actor, query: Loaded, diary_number: str) -> dict[str, Any]:
        case = self._case(diary_number, query["as_of"], query["in_effect_on"])
        events = case.timeline
        if not self.clearance.sees_secrets(actor):  # the index reads with the auditor's token: content withheld here
            events = redact_events(events, self._markings(diary_number, case, query["as_of"], query["in_effect_on"]))
        return {"diary_number": diary_number, "as_of": _iso(query["as_of"]), **read_basis(query["in_effect_on"]),
                "events": events}

    @api.route("GET", "/cases/<diary_number>/states", summary="The case and every aggregate it involves, "
               "as they were", query=schemas.CaseQuery, response=schemas.CaseStates, roles=ROLES,
               errors=CASE_ERRORS)
    def states_of_case(self, actor: Actor, query: Loaded, diary_number: str) -> dict[str, Any]:
        case = self._case(diary_number, query["as_of"], query["in_effect_on"])
        states = case_states(self.sources, case, query["as_of"], query["in_effect_on"])
        if not self.clearance.sees_secrets(actor):
            markings = self._markings(diary_number, case, query["as_of"], query["in_effect_on"])
            states = [{**aggregate, "state": redact_case(aggregate["state"], markings[aggregate["aggregate_id"]]),
                       "last_event": redact_event(aggregate["last_event"], markings[aggregate["aggregate_id"]])}
                      if aggregate["aggregate_id"] in markings else aggregate for aggregate in states]
        return {"diary_number": diary_number, "as_of": _iso(query["as_of"]), **read_basis(query["in_effect_on"]),
                "aggregates": states}

    @api.route("GET", "/cases/<diary_number>/verification", summary="The hash chains of every aggregate the "
               "case involves, recomputed from the events as stored", response=schemas.VerificationView,
               roles=AUDITORS, errors=CASE_ERRORS)
    def verification_of_case(self, actor: Actor, _: Loaded, diary_number: str) -> dict[str, Any]:
        return verify_case(self.sources, self._case(diary_number)).to_json()

    @api.route("GET", "/cases/<diary_number>/archive", summary="The case as one archive package (zip: events, "
               "states, timeline, manifest with checksums); ?audience=public withholds content marked secret",
               query=schemas.ArchiveQuery, roles=AUDITORS, errors=CASE_ERRORS)
    def archive_of_case(self, actor: Actor, query: Loaded, diary_number: str) -> Response:
        case = self._case(diary_number)
        package = io.BytesIO()
        export_case(self.sources, case, package, exported_by=actor.recorded_as, signing_key=self.signing_key,
                    audience=query["audience"])
        filename = diary_number.replace(" ", "_") + ".zip"
        return Response(package.getvalue(), mimetype="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    @api.route("GET", "/cases/<diary_number>/aggregates", summary="The aggregates of every service that concern "
               "the case (the index: where the other reads look)", response=schemas.CaseAggregates, roles=AUDITORS,
               errors=CASE_ERRORS)
    def aggregates_of_case(self, actor: Actor, _: Loaded, diary_number: str) -> dict[str, Any]:
        aggregates = self._aggregates(diary_number)
        return {"diary_number": diary_number, "aggregates": [
            {"service": service, "aggregate_id": aggregate_id, "type": kind} for service, aggregate_id, kind in aggregates]}

    @api.route("GET", "/search", summary="Full-text search across every service, best match first",
               query=schemas.SearchAllQuery, response=schemas.SearchPage, roles=ROLES, errors=(502,))
    def search(self, actor: Actor, query: Loaded) -> Paged:
        return Paged("hits", search_everywhere(self.sources, query))

    @api.route("GET", "/services/<service_name>/verification", summary="Every aggregate's chain in one service's "
               "log", response=schemas.VerificationView, roles=AUDITORS, errors=CASE_ERRORS)
    def verification_of_service(self, actor: Actor, _: Loaded, service_name: str) -> dict[str, Any]:
        if service_name not in self.sources:
            raise NotFound(f"No service named {service_name!r}; known: {', '.join(self.sources)}")
        return verify_service(self.sources[service_name]).to_json()

    # --- OParl 1.1: public, no token (services.audit.oparl, docs/oparl.md) ---------------------------------

    @api.route("GET", "/oparl/v1/system", summary="OParl: the system, where a client begins", response=schemas.OParlObject,
               public=True)
    def oparl_system(self, request: Request, _: Loaded) -> dict[str, Any]:
        return self._oparl(request, self.index.oparl_reader.system())

    @api.route("GET", "/oparl/v1/body", summary="OParl: the bodies (one: the region)", query=schemas.OParlListQuery,
               response=schemas.OParlList, public=True)
    def oparl_bodies(self, request: Request, query: Loaded) -> dict[str, Any]:
        bodies = self.index.oparl_reader.bodies(query)
        return self._oparl(request, oparl.list_answer(bodies, None, f"{oparl.PREFIX}/body", request.args.items(multi=True),
                                                      query["limit"] or oparl.DEFAULT_LIMIT))

    @api.route("GET", "/oparl/v1/body/<body_id>/<list_name>", summary="OParl: one of the body's lists (organization, "
               "person, membership, meeting, agendaItem, paper, consultation, legislativeTermList), a page at a time",
               query=schemas.OParlListQuery, response=schemas.OParlList, public=True, errors=(404,))
    def oparl_list(self, request: Request, query: Loaded, body_id: str, list_name: str) -> dict[str, Any]:
        if body_id != oparl.BODY_ID or list_name not in oparl.LISTS:
            raise NotFound(f"No OParl list {body_id}/{list_name}")
        items, next_page = self.index.oparl_reader.page(list_name, query)
        return self._oparl(request, oparl.list_answer(items, next_page, f"{oparl.BODY_PATH}/{list_name}",
                                                      request.args.items(multi=True),
                                                      query["limit"] or oparl.DEFAULT_LIMIT))

    @api.route("GET", "/oparl/v1/<kind>/<object_id>", summary="OParl: one object by its URL (body, organization, "
               "person, membership, meeting, agendaItem, paper, consultation, legislativeTerm)",
               response=schemas.OParlObject, public=True, errors=(404,))
    def oparl_object(self, request: Request, _: Loaded, kind: str, object_id: str) -> dict[str, Any]:
        return self._oparl(request, self.index.oparl_reader.one(kind, object_id))

    def _oparl(self, request: Request, answer: dict[str, Any]) -> dict[str, Any]:
        return oparl.absolute(answer, self.index.oparl_reader.base_url or request.host_url.rstrip("/"))

    def _aggregates(self, diary_number: str) -> list[tuple[str, str, str]]:
        """The index, first caught up from the feeds (what happened a moment ago is found too; a source
        that cannot be read leaves the index as it is, and reading its aggregates will say so)."""
        note(diary_number=diary_number)  # on the log lines of the request
        self.index.catch_up_all(oparl=False)  # the case index only: OParl is not read here
        aggregates = self.index.aggregates_of(diary_number)
        if not aggregates:
            raise NotFound(f"No events about {diary_number}")
        return aggregates

    def _case(self, diary_number: str, as_of: datetime | None = None, in_effect_on: date | None = None) -> Case:
        case = read_indexed_case(self.sources, diary_number, self._aggregates(diary_number), as_of, in_effect_on)
        if not case.timeline:
            raise NotFound(f"No events about {diary_number}" + (f" by {as_of.isoformat()}" if as_of else "")
                           + (f" in effect on {in_effect_on}" if in_effect_on else ""))
        return case


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
