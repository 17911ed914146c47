"""OParl 1.1 (the open standard for council information systems): the suite's public council data.

The audit service already receives every event of every service, once and in order (services.audit.index).
From the meetings' and initiatives' events it keeps, each source's events with OParl's own position in that
source (written in one transaction; an event that fails is never passed over), one table of OParl objects (docs/oparl.md has the mapping): bodies → Organization, members → Person and Membership,
meetings → Meeting with AgendaItem, initiatives and motions → Paper with Consultation, a meeting's
decisions → its AgendaItems' results (once the minutes are adjusted), the council's four-year mandate
periods → LegislativeTerm. A read takes one page of the table and what that page embeds; nothing replays
a log or calls a service.

Only what is public is ever read from an event: a case's title, kind, submitters and dates, never its
answer or documents (the content shared.secrecy may mark secret), so no marking can be missed; an event
of REDACTABLE_EVENTS is never given to a handler at all (Projector.project). Files are
not published: OParl requires a File's `accessUrl`, and no route of the suite serves a file without a token.

Objects are kept with paths (/oparl/v1/…); a read makes them URLs of the host it was asked at (or
OPARL_BASE_URL), since OParl's `id` is the object's URL.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import quote, urlencode

from shared import clock
from shared.errors import InvalidRequest, NotFound
from shared.inbox import TRANSIENT_ERRORS
from shared.readmodel import Condition, Cursors, Listing, Row
from shared.secrecy import REDACTABLE_EVENTS

log = logging.getLogger(__name__)

PREFIX = "/oparl/v1"
SCHEMA = "https://schema.oparl.org/1.1/"
BODY_ID = "region"
DEFAULT_LIMIT, MAX_LIMIT = 50, 100
EMBEDDED_LIMIT = 1000  # what one object embeds at most (an agenda, a person's memberships), each object its own
# An object with more than EMBEDDED_LIMIT of a kind embeds the first ones and names the list here (a vendor
# extension, spec 1.1 "Herstellerspezifische Erweiterungen": a prefixed property); the body's lists have all.
TRUNCATED = "suite:truncated"

OBJECTS = Listing("oparl", object, lambda _: None, noun="OParl object",  # type: ignore[arg-type]
                  columns={"kind": "text", "parent": "text", "reference": "text", "hidden": "text",
                           "deleted": "text", "created": "text", "modified": "text"},
                  orders=("modified", "created"),
                  # a list's page: its kind, neither hidden nor deleted, in order (without statistics SQLite
                  # would otherwise pick an index on one of the two-valued columns and read the whole table)
                  indexes=(("kind", "modified"), ("kind", "created"), ("kind", "hidden", "deleted", "sort_key")))

# What each kind of object is called in its URL and its `type`.
KINDS = {"organization": "Organization", "person": "Person", "membership": "Membership", "meeting": "Meeting",
         "agendaItem": "AgendaItem", "paper": "Paper", "consultation": "Consultation",
         "legislativeTerm": "LegislativeTerm"}
# The body's external lists (Body.<name>) and the kind each lists.
LISTS = {"organization": "organization", "person": "person", "membership": "membership", "meeting": "meeting",
         "agendaItem": "agendaItem", "paper": "paper", "consultation": "consultation",
         "legislativeTermList": "legislativeTerm"}

ORGANIZATION_CLASSIFICATION = {"committee": "nämnd", "council": "fullmäktige",
                               "collaboration_council": "samverkansråd", "group": "grupp"}
MEMBER_ROLES = {"chair": "ordförande", "vice_chair": "vice ordförande", "member": "ledamot",
                "substitute": "ersättare", "co_opted": "adjungerad"}
NO_VOTE = {"substitute", "co_opted"}  # a substitute votes only when serving for a member; co-opted never
OUTCOMES = {"approved": "bifall", "rejected": "avslag", "considered_answered": "anses besvarad",
            "referred_back": "återremiss", "tabled": "bordlagd"}
PAPER_TYPES = {"motion": "motion", "initiative": "initiativärende"}
# The council's mandate period: four years from 15 October of the election year (kommunallagen 5 kap. 5 §).
FIRST_ELECTION_YEAR, TERM_STARTS = 2010, (10, 15)


def path(kind: str, object_id: str) -> str:
    return f"{PREFIX}/{kind}/{quote(object_id, safe='')}"


BODY_PATH = path("body", BODY_ID)


def person_id(name: str) -> str:
    """A person is known by name (the events carry no other identity): the same name, the same Person."""
    return hashlib.sha256(" ".join(name.split()).casefold().encode()).hexdigest()[:20]


def moment(value: str) -> str:
    """An event's time as OParl writes it (yyyy-mm-ddThh:mm:ss±hh:mm), in the region's time zone."""
    return datetime.fromisoformat(value).astimezone(clock.time_zone()).isoformat(timespec="seconds")


def utc_key(value: datetime | str) -> str:
    """A moment as the filter columns hold it: UTC to the second, so text compares as time."""
    moment_ = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment_.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def term_of(day: date) -> tuple[date, date]:
    year = day.year - (day.year - FIRST_ELECTION_YEAR) % 4
    if day < date(year, *TERM_STARTS):
        year -= 4
    return date(year, *TERM_STARTS), date(year + 4, TERM_STARTS[0], TERM_STARTS[1] - 1)


# --- kept from the events ------------------------------------------------------------------------------


class Batch:
    """The objects a batch of envelopes changes: read once (a batch's keys together), changed here, written
    together. `mark`/`undo` stage one event's changes, so an event that fails leaves nothing behind."""

    def __init__(self, read: Callable[[list[str]], dict[str, dict[str, Any]]],
                 find: Callable[[str, str, str], list[dict[str, Any]]], now: datetime):
        self.read = read  # keys -> the stored records
        self.find = find  # (kind, column, value) -> the stored records
        self.now = utc_key(now)  # when this batch is written: every object it changes is `modified` then
        self.records: dict[str, dict[str, Any] | None] = {}
        self.changed: dict[str, int] = {}
        self.papers: dict[str, str | None] = {}  # diary number -> the paper's key

    def prefetch(self, keys: Iterable[str]) -> None:
        missing = [key for key in dict.fromkeys(keys) if key not in self.records]
        if missing:
            found = self.read(missing)
            for key in missing:
                self.records[key] = found.get(key)

    def get(self, kind: str, object_id: str) -> dict[str, Any] | None:
        key = f"{kind}/{object_id}"
        self.prefetch([key])
        return self.records[key]

    def paper(self, diary_number: str) -> dict[str, Any] | None:
        """The paper of a diary number (its Paper's `modified` moves when its consultations change)."""
        if diary_number not in self.papers:
            found = self.find("paper", "reference", diary_number)
            self.papers[diary_number] = found[0]["key"] if found else None
            if found and found[0]["key"] not in self.records:
                self.records[found[0]["key"]] = found[0]
        key = self.papers[diary_number]
        return self.records.get(key) if key else None

    def put(self, record: dict[str, Any], position: int) -> None:
        self.records[record["key"]] = record
        self.changed[record["key"]] = position

    def mark(self) -> tuple[dict[str, Any], ...]:
        return dict(self.records), dict(self.changed), dict(self.papers)

    def undo(self, mark: tuple[dict[str, Any], ...]) -> None:
        self.records, self.changed, self.papers = (dict(part) for part in mark)  # type: ignore[assignment]

    def rows(self) -> list[tuple[Listing, str, int, Row]]:
        rows = []
        for key, position in self.changed.items():
            record = self.records[key]
            assert record is not None
            rows.append((OBJECTS, key, position, Row(sort_key=record["sort_key"], view=record,
                                                      columns=record["columns"])))
        return rows


def moment_of_key(key: str) -> str:
    return moment(key + "+00:00")


def new_record(kind: str, object_id: str, sort_key: str, batch: Batch, envelope: Mapping[str, Any],
               fields: dict[str, Any], *, parent: str | None = None, reference: str | None = None,
               hidden: bool = False, internal: dict[str, Any] | None = None) -> dict[str, Any]:
    """A new object: `created` the time of the event that made it (when it came to be in the council's data,
    the same however late OParl takes it), `modified` when OParl writes it (never before `created`)."""
    created = utc_key(envelope["occurred_at"])
    modified = max(created, batch.now)
    obj = {"id": path(kind, object_id), "type": SCHEMA + (KINDS.get(kind) or kind.title()),
           **{name: value for name, value in fields.items() if value is not None},
           "created": moment_of_key(created), "modified": moment_of_key(modified)}
    return {"key": f"{kind}/{object_id}", "sort_key": sort_key, "object": obj, "internal": internal or {},
            "columns": {"kind": kind, "parent": parent, "reference": reference, "hidden": "1" if hidden else "0",
                        "deleted": "0", "created": created, "modified": modified}}


def touched(record: dict[str, Any], batch: Batch, **changes: Any) -> dict[str, Any]:
    """The record with its object changed (a value None removes the field) and `modified` moved to when
    OParl writes it: forward only, so a client reading with `modified_since` misses no change."""
    obj = {**record["object"], **changes}
    obj = {name: value for name, value in obj.items() if value is not None}
    modified = max(record["columns"]["modified"] or "", batch.now)
    obj["modified"] = moment_of_key(modified)
    return {**record, "object": obj, "columns": {**record["columns"], "modified": modified}}


class EventFailed(Exception):
    """An event the OParl table could not take: nothing of it is written, and OParl's position in its source
    stays before it (it is tried again, never passed over)."""

    def __init__(self, source: str, envelope: Mapping[str, Any], error: Exception):
        super().__init__(f"OParl could not take {source} event {envelope.get('type')} at position "
                         f"{envelope.get('position')}: {type(error).__name__}: {error}")
        self.source, self.position, self.event_type = source, envelope.get("position"), envelope.get("type")
        self.error = error


@dataclass
class Projected:
    """What a batch of a source's events changes: the rows of the events taken, the position of the last of
    them (None: none), and the event that failed (nothing of it, nor of any event after it, is in `rows`)."""

    rows: list[tuple[Listing, str, int, Row]]
    position: int | None
    failed: EventFailed | None = None


class Projector:
    """Turns a source's envelopes into the OParl rows they change; pure: it reads the stored objects through
    the functions it is given and writes nothing. Each event's changes are staged, and an event that fails
    leaves none of them: the batch ends before it, and the caller raises (services.audit.index).

    Secrecy, fail closed: an event that may carry content shared.secrecy withholds (REDACTABLE_EVENTS: an
    answer, a document) is never given to a handler, whatever handlers there are. The feed the audit
    service reads is not redacted for it (its token is cleared to read secrets), so this is the one guard."""

    SOURCES = ("meetings", "initiatives")

    def __init__(self, now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.now = now
        self.initiative_handlers: dict[str, Callable[[Batch, Mapping[str, Any]], None]] = {
            "Initiative.Submitted": self._submitted, "Initiative.Registered": self._registered,
            "Initiative.Withdrawn": self._withdrawn}

    def project(self, source: str, envelopes: Iterable[Mapping[str, Any]],
                read: Callable[[list[str]], dict[str, dict[str, Any]]],
                find: Callable[[str, str, str], list[dict[str, Any]]]) -> Projected:
        envelopes = list(envelopes)
        batch = Batch(read, find, self.now())
        taken: int | None = None
        if source not in self.SOURCES:
            return Projected([], envelopes[-1]["position"] if envelopes else None)
        batch.prefetch([f"body/{BODY_ID}", *(f"{kind}/{e['aggregate_id']}" for e in envelopes
                                            if isinstance(e.get("aggregate_id"), str)
                                            for kind in (("organization", "meeting") if source == "meetings"
                                                         else ("paper",)))])
        for envelope in envelopes:
            if isinstance(envelope.get("type"), str) and isinstance(envelope.get("aggregate_id"), str) \
                    and envelope["type"] not in REDACTABLE_EVENTS:
                mark = batch.mark()
                try:
                    if source == "meetings":
                        self._meetings(batch, envelope)
                    elif envelope["type"] in self.initiative_handlers:
                        self.initiative_handlers[envelope["type"]](batch, envelope)
                except TRANSIENT_ERRORS:
                    raise  # the store: tried again as it is
                except Exception as error:  # noqa: BLE001 - the event is not taken, and the caller says so
                    batch.undo(mark)
                    return Projected(self._with_body(batch, taken), taken, EventFailed(source, envelope, error))
            taken = envelope["position"]
        return Projected(self._with_body(batch, taken), taken)

    def _with_body(self, batch: Batch, position: int | None) -> list[tuple[Listing, str, int, Row]]:
        """The batch's rows, and the Body's (kept for its `created`, and `modified` when its terms change)."""
        if batch.changed and batch.get("body", BODY_ID) is None and position is not None:
            batch.put(new_record("body", BODY_ID, "", batch, {"occurred_at": moment_of_key(batch.now)}, {}),
                      position)
        return batch.rows()

    # --- meetings: bodies, members, meetings, agendas, decisions --------------------------------------

    def _meetings(self, batch: Batch, envelope: Mapping[str, Any]) -> None:
        kind = envelope["type"]
        payload, aggregate_id, position = envelope.get("payload") or {}, envelope["aggregate_id"], envelope["position"]
        if kind == "Body.Established":
            batch.put(new_record("organization", aggregate_id, " ".join(payload["name"].split()).casefold(), batch,
                                 envelope, {"body": BODY_PATH, "name": payload["name"], "organizationType": "Gremium",
                                            "classification": ORGANIZATION_CLASSIFICATION.get(payload["kind"],
                                                                                              payload["kind"]),
                                            "startDate": envelope.get("effective_on")},
                                 internal={"kind": payload["kind"]}), position)
        elif kind == "Body.MemberJoined":
            self._member_joined(batch, envelope, aggregate_id, payload, position)
        elif kind == "Body.MembershipEnded":
            membership = batch.get("membership", f"{aggregate_id}.{payload['membership_id']}")
            if membership is not None:
                batch.put(touched(membership, batch, endDate=payload["to_date"]), position)
                self._touch(batch, position, ("organization", aggregate_id),
                            ("person", membership["internal"].get("person")))
        elif kind == "Meeting.Scheduled":
            self._scheduled(batch, envelope, aggregate_id, payload, position)
        elif kind.startswith("Meeting."):
            meeting = batch.get("meeting", aggregate_id)
            if meeting is not None:
                self._meeting_changed(batch, envelope, meeting, kind.split(".", 1)[1], payload, position)

    def _member_joined(self, batch: Batch, envelope: Mapping[str, Any], body_id: str, payload: Mapping[str, Any],
                       position: int) -> None:
        member = payload["member"]
        organization = batch.get("organization", body_id)
        if organization is None:
            return
        membership_id = f"{body_id}.{payload['membership_id']}"
        fields = {"organization": path("organization", body_id), "role": MEMBER_ROLES.get(member["role"], member["role"]),
                  "votingRight": member["role"] not in NO_VOTE, "startDate": payload["from_date"]}
        person = None
        if not member.get("is_organisation"):
            person = self._person(batch, envelope, member["name"], position, embeds_changed=True)
            fields["person"] = person["object"]["id"]
        identity = person and person["key"].split("/", 1)[1]
        batch.put(new_record("membership", membership_id, f"{organization['sort_key']}\x1f{member['name'].casefold()}",
                             batch, envelope, fields, parent=identity, reference=body_id,
                             internal={"person": identity, "party": member.get("party")}), position)
        batch.put(touched(organization, batch), position)

    def _person(self, batch: Batch, envelope: Mapping[str, Any], name: str, position: int, *,
                embeds_changed: bool) -> dict[str, Any]:
        """The person of that name, made if missing; its `modified` moved only when what it embeds (its
        memberships) changed. Both sources make persons; a person's fields follow from its name alone."""
        identity = person_id(name)
        person = batch.get("person", identity)
        if person is None:
            person = new_record("person", identity, " ".join(name.split()).casefold(), batch, envelope,
                                {"body": BODY_PATH, "name": " ".join(name.split())})
        elif embeds_changed:
            person = touched(person, batch)
        else:
            return person
        batch.put(person, position)
        return person

    def _touch(self, batch: Batch, position: int, *keys: tuple[str, str | None]) -> None:
        for kind, object_id in keys:
            record = batch.get(kind, object_id) if object_id else None
            if record is not None:
                batch.put(touched(record, batch), position)

    def _touch_paper(self, batch: Batch, diary_number: str | None, position: int) -> None:
        """A Paper embeds its consultations: when one changes, the Paper is modified too (spec 2-08)."""
        paper = batch.paper(diary_number) if diary_number else None
        if paper is not None:
            batch.put(touched(paper, batch), position)

    def _scheduled(self, batch: Batch, envelope: Mapping[str, Any], meeting_id: str, payload: Mapping[str, Any],
                   position: int) -> None:
        organization = batch.get("organization", payload["body_id"])
        start = datetime.fromisoformat(payload["starts_at"])
        batch.put(new_record("meeting", meeting_id, f"{utc_key(start)}\x1f{meeting_id}", batch, envelope, {
            "name": payload["title"], "meetingState": "scheduled", "cancelled": False,
            "start": start.astimezone(clock.time_zone()).isoformat(timespec="seconds"),
            "organization": [path("organization", payload["body_id"])] if organization else None,
        }, internal={"items": [], "adjusted": False,
                     "public": bool(organization) and organization["internal"].get("kind") == "council"}), position)
        first, last = term_of(clock.local_date(start))
        term = f"{first.year}-{last.year}"
        if batch.get("legislativeTerm", term) is None:
            batch.put(new_record("legislativeTerm", term, first.isoformat(), batch, envelope, {
                "body": BODY_PATH, "name": f"Mandatperioden {first.year}–{last.year}",
                "startDate": first.isoformat(), "endDate": last.isoformat()}), position)
            self._touch(batch, position, ("body", BODY_ID))  # the Body embeds its terms

    def _meeting_changed(self, batch: Batch, envelope: Mapping[str, Any], meeting: dict[str, Any], event: str,
                         payload: Mapping[str, Any], position: int) -> None:
        meeting_id = meeting["key"].split("/", 1)[1]
        states = {"Convened": "convened", "Opened": "open", "Closed": "closed"}
        if event in states:
            batch.put(touched(meeting, batch, meetingState=states[event]), position)
        elif event == "Cancelled":
            batch.put(touched(meeting, batch, meetingState="cancelled", cancelled=True), position)
        elif event == "AttendanceRecorded":
            present = [person_id(attendee["name"]) for attendee in payload.get("present") or []]
            known = [identity for identity in present if batch.get("person", identity) is not None]
            batch.put(touched(meeting, batch, participant=[path("person", i) for i in known] or None), position)
        elif event == "ItemAdded":
            self._item_added(batch, envelope, meeting, meeting_id, payload, position)
        elif event in ("ItemsReordered", "ItemWithdrawn"):
            items = list(meeting["internal"]["items"])
            if event == "ItemsReordered":
                order = {item_id: number for number, item_id in enumerate(payload["item_ids"])}
                items.sort(key=lambda item_id: order.get(item_id, -1))
            else:
                key = f"{meeting_id}.{payload['item_id']}"
                item = batch.get("agendaItem", key)
                for kind in ("agendaItem", "consultation"):
                    self._delete(batch, kind, key, position)
                self._touch_paper(batch, item and item["columns"]["reference"], position)
                items = [item_id for item_id in items if item_id != payload["item_id"]]
            meeting = {**touched(meeting, batch), "internal": {**meeting["internal"], "items": items}}
            batch.put(meeting, position)
            self._number(batch, meeting, meeting_id, position)
        elif event == "ItemDecided":
            item = batch.get("agendaItem", f"{meeting_id}.{payload['item_id']}")
            if item is not None:  # what the minutes say is public once they are adjusted
                decision = {name: payload.get(name) for name in ("outcome", "text", "paragraph", "proposal_to")}
                batch.put({**item, "internal": {**item["internal"], "decision": decision}}, position)
        elif event == "MinutesAdjusted":
            meeting = {**touched(meeting, batch, meetingState="adjusted"),
                       "internal": {**meeting["internal"], "adjusted": True}}
            batch.put(meeting, position)
            for item_id in meeting["internal"]["items"]:
                self._publish_decision(batch, f"{meeting_id}.{item_id}", position)

    def _item_added(self, batch: Batch, envelope: Mapping[str, Any], meeting: dict[str, Any], meeting_id: str,
                    payload: Mapping[str, Any], position: int) -> None:
        key = f"{meeting_id}.{payload['item_id']}"
        diary_number = payload.get("diary_number")
        fields: dict[str, Any] = {"meeting": meeting["object"]["id"], "name": payload["title"],
                                  "public": meeting["internal"]["public"], "order": 0}
        if diary_number:
            fields["consultation"] = path("consultation", key)
            batch.put(new_record("consultation", key, meeting["sort_key"] + f"\x1f{payload['item_id']}", batch,
                                 envelope, {"agendaItem": path("agendaItem", key), "meeting": meeting["object"]["id"],
                                            "organization": meeting["object"].get("organization")},
                                 parent=meeting_id, reference=diary_number), position)
            self._touch_paper(batch, diary_number, position)
        batch.put(new_record("agendaItem", key, meeting["sort_key"], batch, envelope, fields, parent=meeting_id,
                             reference=diary_number), position)
        meeting = {**touched(meeting, batch),
                   "internal": {**meeting["internal"], "items": [*meeting["internal"]["items"], payload["item_id"]]}}
        batch.put(meeting, position)
        self._number(batch, meeting, meeting_id, position)

    def _number(self, batch: Batch, meeting: dict[str, Any], meeting_id: str, position: int) -> None:
        """The agenda's items numbered 1, 2, 3 … in their order, as the meetings service numbers them."""
        batch.prefetch(f"agendaItem/{meeting_id}.{item_id}" for item_id in meeting["internal"]["items"])
        for number, item_id in enumerate(meeting["internal"]["items"], start=1):
            item = batch.get("agendaItem", f"{meeting_id}.{item_id}")
            if item is not None and (item["object"].get("order"), item["object"].get("number")) != (number, str(number)):
                item = touched(item, batch, order=number, number=str(number))
                batch.put({**item, "sort_key": f"{meeting['sort_key']}\x1f{number:05d}"}, position)

    def _publish_decision(self, batch: Batch, key: str, position: int) -> None:
        item = batch.get("agendaItem", key)
        decision = (item or {}).get("internal", {}).get("decision")
        if item is None or decision is None:
            return
        outcome = OUTCOMES.get(decision["outcome"], decision["outcome"])
        result = f"{decision['paragraph']}: {outcome}" if decision.get("paragraph") else outcome
        if decision.get("proposal_to"):
            result += f" (förslag till {decision['proposal_to']})"
        batch.put(touched(item, batch, result=result, resolutionText=decision.get("text") or None), position)
        consultation = batch.get("consultation", key)
        if consultation is not None:
            batch.put(touched(consultation, batch, authoritative=not decision.get("proposal_to"),
                              role="beredning" if decision.get("proposal_to") else "beslut"), position)
            self._touch_paper(batch, consultation["columns"]["reference"], position)

    def _delete(self, batch: Batch, kind: str, object_id: str, position: int) -> None:
        """OParl 1.1 keeps a removed object under its URL, `deleted` (spec 2-08): an item withdrawn from an agenda."""
        record = batch.get(kind, object_id)
        if record is not None:
            record = touched(record, batch, deleted=True)
            batch.put({**record, "columns": {**record["columns"], "deleted": "1"}}, position)

    # --- initiatives: papers ------------------------------------------------------------------------------
    # Only a case's title, kind, submitters and dates are read: never its answer or documents.

    def _submitted(self, batch: Batch, envelope: Mapping[str, Any]) -> None:
        """In the diary from its registration on; until then not shown."""
        payload = envelope.get("payload") or {}
        batch.put(new_record("paper", envelope["aggregate_id"], "", batch, envelope, {
            "body": BODY_PATH, "name": payload["title"], "paperType": PAPER_TYPES.get(payload["kind"], payload["kind"]),
            "date": payload["submitted_on"]}, hidden=True,
            internal={"submitters": [s["name"] for s in payload.get("submitters") or [] if s.get("name")]}),
            envelope["position"])

    def _registered(self, batch: Batch, envelope: Mapping[str, Any]) -> None:
        payload, position = envelope.get("payload") or {}, envelope["position"]
        paper = batch.get("paper", envelope["aggregate_id"])
        if paper is None:
            return
        originators = [self._person(batch, envelope, name, position, embeds_changed=False)["object"]["id"]
                       for name in paper["internal"]["submitters"]]
        paper = touched(paper, batch, reference=payload["diary_number"], originatorPerson=originators or None)
        created = utc_key(envelope["occurred_at"])  # created in OParl when it became public
        paper["object"]["created"] = moment_of_key(created)
        batch.put({**paper, "sort_key": payload["diary_number"], "columns": {
            **paper["columns"], "hidden": "0", "reference": payload["diary_number"], "created": created}}, position)
        batch.papers[payload["diary_number"]] = paper["key"]

    def _withdrawn(self, batch: Batch, envelope: Mapping[str, Any]) -> None:
        paper = batch.get("paper", envelope["aggregate_id"])
        if paper is not None:
            batch.put(touched(paper, batch, keyword=["återkallad"]), envelope["position"])


# Fail closed: no handler is ever written for an event that may carry secret content.
assert not REDACTABLE_EVENTS & set(Projector().initiative_handlers)


# --- read ------------------------------------------------------------------------------------------------

# The fields whose values are URLs of this API (kept as paths, made URLs when read); nothing else (a title
# that happens to begin with /oparl/v1/) is ever changed.
URL_FIELDS = frozenset({"id", "body", "system", "organization", "person", "membership", "meeting", "agendaItem",
                        "paper", "consultation", "participant", "originatorPerson", "legislativeTermList",
                        "first", "next"})


def absolute(value: Any, base: str, name: str | None = None) -> Any:
    """The API's paths in the value's URL fields made URLs of `base` (OParl's ids and links are URLs);
    embedded objects likewise."""
    if isinstance(value, dict):
        return {key: absolute(item, base, key) for key, item in value.items()}
    if isinstance(value, list):
        return [absolute(item, base, name) for item in value]
    if isinstance(value, str) and name in URL_FIELDS and value.startswith(PREFIX + "/"):
        return base + value
    return value


DATE_FILTERS = (("created_since", "created", ">="), ("created_until", "created", "<="),
                ("modified_since", "modified", ">="), ("modified_until", "modified", "<="))


def date_conditions(query: Mapping[str, Any]) -> list[Condition]:
    return [Condition(column, operator, utc_key(query[parameter]))
            for parameter, column, operator in DATE_FILTERS if query.get(parameter) is not None]


def order_of(query: Mapping[str, Any]) -> str:
    """A list filtered by a date is ordered by that date (then id), so the filter and the order use one index
    ((kind, modified, id)) and a page costs a page, however long the history; otherwise by its sort key."""
    if query.get("modified_since") is not None or query.get("modified_until") is not None:
        return "modified"
    if query.get("created_since") is not None or query.get("created_until") is not None:
        return "created"
    return "sort_key"


class Reader:
    """OParl's answers from the table: one object, one page of a list, with what they embed."""

    def __init__(self, view: Any, gate: Any, region_name: str = "Regionen", base_url: str = ""):
        self.view = view
        self.gate = gate
        self.region_name = region_name
        self.base_url = base_url.rstrip("/")  # OPARL_BASE_URL; empty: the URL the request was sent to

    def _rows(self, column: str, values: list[str], *conditions: Condition) -> list[dict[str, Any]]:
        """At most EMBEDDED_LIMIT + 1 rows for each value (the one more says the list is longer)."""
        return self.gate.call(self.view.rows_with, OBJECTS, column, values, conditions=list(conditions),
                              per_value=EMBEDDED_LIMIT + 1)

    def _body_row(self) -> dict[str, Any] | None:
        rows = self._rows("id", [f"body/{BODY_ID}"])
        return rows[0] if rows else None

    def system(self) -> dict[str, Any]:
        row = self._body_row()
        created = row["view"]["object"]["created"] if row else moment_of_key(utc_key(datetime.now(timezone.utc)))
        return {"id": f"{PREFIX}/system", "type": SCHEMA + "System", "oparlVersion": SCHEMA,
                "name": f"{self.region_name}: ärenden och sammanträden", "body": f"{PREFIX}/body",
                "created": created, "modified": created}

    def body(self, row: dict[str, Any] | None = None) -> dict[str, Any]:
        row = row or self._body_row()
        now = moment_of_key(utc_key(datetime.now(timezone.utc)))
        terms = [row["view"]["object"] for row in self._rows("kind", ["legislativeTerm"], *_shown())]
        return {"id": BODY_PATH, "type": SCHEMA + "Body", "system": f"{PREFIX}/system", "name": self.region_name,
                **{name: f"{BODY_PATH}/{name}" for name in LISTS}, "legislativeTerm": terms,
                "created": row["view"]["object"]["created"] if row else now,
                "modified": row["view"]["object"]["modified"] if row else now}

    def bodies(self, query: Mapping[str, Any]) -> list[dict[str, Any]]:
        """/oparl/v1/body: the one body, if it passes the date filters (a store with nothing yet has none)."""
        rows = self._rows("id", [f"body/{BODY_ID}"], *date_conditions(query))
        return [self.body(rows[0])] if rows else []

    def one(self, kind: str, object_id: str) -> dict[str, Any]:
        if kind == "body" and object_id == BODY_ID:
            return self.body()
        rows = self._rows("id", [f"{kind}/{object_id}"], Condition("hidden", "=", "0")) if kind in KINDS else []
        if not rows:
            raise NotFound(f"No OParl {kind} {object_id}")
        return self.embedded([rows[0]["view"]], omit_internal=False)[0]

    def page(self, list_name: str, query: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[Any] | None]:
        """A page of the body's list: by the filters, and the deleted too when `modified_since` is given."""
        kind = LISTS[list_name]
        conditions = [Condition("kind", "=", kind), *_shown(deleted_too=query.get("modified_since") is not None),
                      *date_conditions(query)]
        order = order_of(query)
        scope, filters = f"oparl/{list_name}/{order}", filters_of(query)
        try:
            after = Cursors.decode(query.get("page"), scope, filters, (str, str))
        except InvalidRequest as error:
            raise InvalidRequest.for_field("page", error.errors[0]["message"]) from None
        records, key = self.gate.call(self.view.page, OBJECTS, conditions=conditions, after=after,
                                      limit=query.get("limit") or DEFAULT_LIMIT, order_by=order)
        return self.embedded(records, bool(query.get("omit_internal"))), \
            (Cursors.encode(scope, filters, key) if key else None)

    def embedded(self, records: list[dict[str, Any]], omit_internal: bool) -> list[dict[str, Any]]:
        """The objects with what they embed or link to, read for the whole page at once (each object's
        lists capped at EMBEDDED_LIMIT on its own: one long list never shortens another's)."""
        by_kind: dict[str, list[str]] = {}
        for record in records:
            by_kind.setdefault(record["columns"]["kind"], []).append(record["key"].split("/", 1)[1])
        shown = list(_shown())
        items = _grouped(self._rows("parent", by_kind.get("meeting", []), Condition("kind", "=", "agendaItem"), *shown),
                         "parent") if not omit_internal else {}
        memberships = _grouped(self._rows("parent", by_kind.get("person", []), Condition("kind", "=", "membership"),
                                          *shown), "parent") if not omit_internal else {}
        members = _grouped(self._rows("reference", by_kind.get("organization", []),
                                      Condition("kind", "=", "membership"), *shown), "reference")
        references = [r["columns"]["reference"] for r in records if r["columns"]["kind"] in ("paper", "consultation")
                      and r["columns"]["reference"]]
        consultations = _grouped(self._rows("reference", [r["columns"]["reference"] for r in records
                                                          if r["columns"]["kind"] == "paper" and r["columns"]["reference"]],
                                            Condition("kind", "=", "consultation"), *shown), "reference")
        papers = {row["columns"]["reference"]: row["view"]["object"]["id"]
                  for row in self._rows("reference", references, Condition("kind", "=", "paper"), *shown)}
        shown_objects = []
        for record in records:
            obj, kind, key = dict(record["object"]), record["columns"]["kind"], record["key"].split("/", 1)[1]
            reference = record["columns"]["reference"]
            truncated: list[str] = []

            def capped(rows: list[dict[str, Any]], field: str) -> list[dict[str, Any]]:
                if len(rows) > EMBEDDED_LIMIT:
                    log.warning("OParl %s embeds more than %d in %s: the first shown", key, EMBEDDED_LIMIT, field)
                    truncated.append(field)
                return rows[:EMBEDDED_LIMIT]

            if kind == "meeting" and not omit_internal:
                obj["agendaItem"] = [row["object"] for row in capped(items.get(key, []), "agendaItem")] or None
            elif kind == "person" and not omit_internal:
                obj["membership"] = [row["object"] for row in capped(memberships.get(key, []), "membership")] or None
            elif kind == "organization":
                obj["membership"] = [row["object"]["id"] for row in capped(members.get(key, []), "membership")] or None
            elif kind == "paper":
                obj["consultation"] = [{**row["object"], "paper": obj["id"]}
                                       for row in capped(consultations.get(reference, []), "consultation")] or None
            elif kind == "consultation" and reference in papers:
                obj["paper"] = papers[reference]
            if truncated:
                obj[TRUNCATED] = truncated
            shown_objects.append({name: value for name, value in obj.items() if value is not None})
        return shown_objects


def _shown(deleted_too: bool = False) -> list[Condition]:
    return [Condition("hidden", "=", "0")] + ([] if deleted_too else [Condition("deleted", "=", "0")])


def _grouped(rows: list[dict[str, Any]], column: str) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["columns"][column], []).append(row["view"])
    return grouped


def filters_of(query: Mapping[str, Any]) -> dict[str, Any]:
    return {name: (value.isoformat() if isinstance(value, datetime) else value)
            for name, value in query.items() if name not in ("page", "limit") and value is not None}


def list_answer(items: list[dict[str, Any]], next_page: str | None, list_url: str,
                arguments: Iterable[tuple[str, str]], limit: int) -> dict[str, Any]:
    """OParl's list page (spec 2-05): data, pagination, links; `next` keeps the filters."""
    kept = [(name, value) for name, value in arguments if name != "page"]
    links = {"first": list_url + (f"?{urlencode(kept)}" if kept else "")}
    if next_page is not None:
        links["next"] = f"{list_url}?{urlencode([*kept, ('page', next_page)])}"
    return {"data": items, "pagination": {"elementsPerPage": limit}, "links": links}
