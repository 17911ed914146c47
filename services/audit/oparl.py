"""OParl 1.1 (the open standard for council information systems): the suite's public council data.

The audit service already receives every event of every service, once and in order (services.audit.index).
From the meetings' and initiatives' events it keeps, in the same transaction as its position, one table
of OParl objects (docs/oparl.md has the mapping): bodies → Organization, members → Person and Membership,
meetings → Meeting with AgendaItem, initiatives and motions → Paper with Consultation, a meeting's
decisions → its AgendaItems' results (once the minutes are adjusted), the council's four-year mandate
periods → LegislativeTerm. A read takes one page of the table and what that page embeds; nothing replays
a log or calls a service.

Only what is public is ever read from an event: a case's title, kind, submitters and dates, never its
answer or documents (the content shared.secrecy may mark secret), so no marking can be missed. Files are
not published: OParl requires a File's `accessUrl`, and no route of the suite serves a file without a token.

Objects are kept with paths (/oparl/v1/…); a read makes them URLs of the host it was asked at (or
OPARL_BASE_URL), since OParl's `id` is the object's URL.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import date, datetime, timezone
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import quote, urlencode

from shared import clock
from shared.errors import InvalidRequest, NotFound
from shared.readmodel import Condition, Cursors, Listing, Row

log = logging.getLogger(__name__)

PREFIX = "/oparl/v1"
SCHEMA = "https://schema.oparl.org/1.1/"
BODY_ID = "region"
DEFAULT_LIMIT, MAX_LIMIT = 50, 100
EMBEDDED_LIMIT = 1000  # what one object embeds at most (an agenda, a person's memberships)

OBJECTS = Listing("oparl", object, lambda _: None, noun="OParl object",  # type: ignore[arg-type]
                  columns={"kind": "text", "parent": "text", "reference": "text", "hidden": "text",
                           "deleted": "text", "created": "text", "modified": "text"})

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
    """The objects a batch of envelopes changes: each read once, changed here, written together."""

    def __init__(self, read: Callable[[list[str]], dict[str, dict[str, Any]]]):
        self.read = read
        self.records: dict[str, dict[str, Any] | None] = {}
        self.changed: dict[str, int] = {}

    def get(self, kind: str, object_id: str) -> dict[str, Any] | None:
        key = f"{kind}/{object_id}"
        if key not in self.records:
            self.records[key] = self.read([key]).get(key)
        return self.records[key]

    def put(self, record: dict[str, Any], position: int) -> None:
        self.records[record["key"]] = record
        self.changed[record["key"]] = position

    def rows(self) -> list[tuple[Listing, str, int, Row]]:
        rows = []
        for key, position in self.changed.items():
            record = self.records[key]
            assert record is not None
            rows.append((OBJECTS, key, position, Row(sort_key=record["sort_key"], view=record,
                                                      columns=record["columns"])))
        return rows


def new_record(kind: str, object_id: str, sort_key: str, envelope: Mapping[str, Any], fields: dict[str, Any], *,
               parent: str | None = None, reference: str | None = None, hidden: bool = False,
               internal: dict[str, Any] | None = None) -> dict[str, Any]:
    at = envelope["occurred_at"]
    obj = {"id": path(kind, object_id), "type": SCHEMA + KINDS[kind],
           **{name: value for name, value in fields.items() if value is not None},
           "created": moment(at), "modified": moment(at)}
    return {"key": f"{kind}/{object_id}", "sort_key": sort_key, "object": obj, "internal": internal or {},
            "columns": {"kind": kind, "parent": parent, "reference": reference, "hidden": "1" if hidden else "0",
                        "deleted": "0", "created": utc_key(at), "modified": utc_key(at)}}


def touched(record: dict[str, Any], envelope: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """The record with its object changed (a value None removes the field) and `modified` moved to the event."""
    obj = {**record["object"], **changes}
    obj = {name: value for name, value in obj.items() if value is not None}
    obj["modified"] = moment(envelope["occurred_at"])
    return {**record, "object": obj, "columns": {**record["columns"], "modified": utc_key(envelope["occurred_at"])}}


class Projector:
    """Turns the envelopes of a batch into the OParl rows they change. An event it cannot take is logged and
    named in `failures` (the audit service's /health), and passed over: the case index must go on."""

    def __init__(self) -> None:
        self.failures: dict[str, str] = {}

    def rows(self, source: str, envelopes: Iterable[Mapping[str, Any]],
             read: Callable[[list[str]], dict[str, dict[str, Any]]]) -> list[tuple[Listing, str, int, Row]]:
        handlers = {"meetings": self._meetings, "initiatives": self._initiatives}
        if source not in handlers:
            return []
        batch = Batch(read)
        for envelope in envelopes:
            if not (isinstance(envelope.get("type"), str) and isinstance(envelope.get("aggregate_id"), str)):
                continue
            try:
                handlers[source](batch, envelope)
            except (KeyError, TypeError, ValueError, AttributeError) as error:
                log.exception("OParl: %s event %s at %s not taken", source, envelope["type"], envelope.get("position"))
                self.failures[f"{source}/{envelope.get('position')}"] = f"{envelope['type']}: {type(error).__name__}: {error}"
        return batch.rows()

    # --- meetings: bodies, members, meetings, agendas, decisions --------------------------------------

    def _meetings(self, batch: Batch, envelope: Mapping[str, Any]) -> None:
        kind = envelope["type"]
        payload, aggregate_id, position = envelope.get("payload") or {}, envelope["aggregate_id"], envelope["position"]
        if kind == "Body.Established":
            batch.put(new_record("organization", aggregate_id, " ".join(payload["name"].split()).casefold(), envelope, {
                "body": BODY_PATH, "name": payload["name"], "organizationType": "Gremium",
                "classification": ORGANIZATION_CLASSIFICATION.get(payload["kind"], payload["kind"]),
                "startDate": envelope.get("effective_on")}, internal={"kind": payload["kind"]}), position)
        elif kind == "Body.MemberJoined":
            self._member_joined(batch, envelope, aggregate_id, payload, position)
        elif kind == "Body.MembershipEnded":
            membership = batch.get("membership", f"{aggregate_id}.{payload['membership_id']}")
            if membership is not None:
                batch.put(touched(membership, envelope, endDate=payload["to_date"]), position)
                self._touch(batch, envelope, position, ("organization", aggregate_id),
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
        person = None
        if not member.get("is_organisation"):
            person = self._person(batch, envelope, member["name"], position)
        membership_id = f"{body_id}.{payload['membership_id']}"
        fields = {"organization": path("organization", body_id), "role": MEMBER_ROLES.get(member["role"], member["role"]),
                  "votingRight": member["role"] not in NO_VOTE, "startDate": payload["from_date"]}
        if person is not None:
            fields["person"] = person["object"]["id"]
        batch.put(new_record("membership", membership_id, f"{organization['sort_key']}\x1f{member['name'].casefold()}",
                             envelope, fields, parent=person and person["key"].split("/", 1)[1], reference=body_id,
                             internal={"person": person and person["key"].split("/", 1)[1],
                                       "party": member.get("party")}), position)
        batch.put(touched(organization, envelope), position)

    def _person(self, batch: Batch, envelope: Mapping[str, Any], name: str, position: int) -> dict[str, Any]:
        """The person of that name, made if new, its `modified` moved (what it embeds changes)."""
        identity = person_id(name)
        person = batch.get("person", identity)
        person = new_record("person", identity, " ".join(name.split()).casefold(), envelope,
                            {"body": BODY_PATH, "name": " ".join(name.split())}) if person is None \
            else touched(person, envelope)
        batch.put(person, position)
        return person

    def _touch(self, batch: Batch, envelope: Mapping[str, Any], position: int, *keys: tuple[str, str | None]) -> None:
        for kind, object_id in keys:
            record = batch.get(kind, object_id) if object_id else None
            if record is not None:
                batch.put(touched(record, envelope), position)

    def _scheduled(self, batch: Batch, envelope: Mapping[str, Any], meeting_id: str, payload: Mapping[str, Any],
                   position: int) -> None:
        organization = batch.get("organization", payload["body_id"])
        start = datetime.fromisoformat(payload["starts_at"])
        batch.put(new_record("meeting", meeting_id, f"{utc_key(start)}\x1f{meeting_id}", envelope, {
            "name": payload["title"], "meetingState": "scheduled", "cancelled": False,
            "start": start.astimezone(clock.time_zone()).isoformat(timespec="seconds"),
            "organization": [path("organization", payload["body_id"])] if organization else None,
        }, internal={"items": [], "adjusted": False,
                     "public": bool(organization) and organization["internal"].get("kind") == "council"}), position)
        first, last = term_of(clock.local_date(start))
        term = f"{first.year}-{last.year}"
        if batch.get("legislativeTerm", term) is None:
            batch.put(new_record("legislativeTerm", term, first.isoformat(), envelope, {
                "body": BODY_PATH, "name": f"Mandatperioden {first.year}–{last.year}",
                "startDate": first.isoformat(), "endDate": last.isoformat()}), position)

    def _meeting_changed(self, batch: Batch, envelope: Mapping[str, Any], meeting: dict[str, Any], event: str,
                         payload: Mapping[str, Any], position: int) -> None:
        meeting_id = meeting["key"].split("/", 1)[1]
        states = {"Convened": "convened", "Opened": "open", "Closed": "closed"}
        if event in states:
            batch.put(touched(meeting, envelope, meetingState=states[event]), position)
        elif event == "Cancelled":
            batch.put(touched(meeting, envelope, meetingState="cancelled", cancelled=True), position)
        elif event == "AttendanceRecorded":
            present = [person_id(attendee["name"]) for attendee in payload.get("present") or []]
            known = [identity for identity in present if batch.get("person", identity) is not None]
            batch.put(touched(meeting, envelope, participant=[path("person", i) for i in known] or None), position)
        elif event == "ItemAdded":
            self._item_added(batch, envelope, meeting, meeting_id, payload, position)
        elif event in ("ItemsReordered", "ItemWithdrawn"):
            items = list(meeting["internal"]["items"])
            if event == "ItemsReordered":
                order = {item_id: number for number, item_id in enumerate(payload["item_ids"])}
                items.sort(key=lambda item_id: order.get(item_id, -1))
            else:
                for kind in ("agendaItem", "consultation"):
                    self._delete(batch, envelope, kind, f"{meeting_id}.{payload['item_id']}", position)
                items = [item_id for item_id in items if item_id != payload["item_id"]]
            meeting = {**touched(meeting, envelope), "internal": {**meeting["internal"], "items": items}}
            batch.put(meeting, position)
            self._number(batch, envelope, meeting, meeting_id, position)
        elif event == "ItemDecided":
            item = batch.get("agendaItem", f"{meeting_id}.{payload['item_id']}")
            if item is not None:  # what the minutes say is public once they are adjusted
                decision = {name: payload.get(name) for name in ("outcome", "text", "paragraph", "proposal_to")}
                batch.put({**item, "internal": {**item["internal"], "decision": decision}}, position)
        elif event == "MinutesAdjusted":
            meeting = {**touched(meeting, envelope, meetingState="adjusted"),
                       "internal": {**meeting["internal"], "adjusted": True}}
            batch.put(meeting, position)
            for item_id in meeting["internal"]["items"]:
                self._publish_decision(batch, envelope, f"{meeting_id}.{item_id}", position)

    def _item_added(self, batch: Batch, envelope: Mapping[str, Any], meeting: dict[str, Any], meeting_id: str,
                    payload: Mapping[str, Any], position: int) -> None:
        key = f"{meeting_id}.{payload['item_id']}"
        diary_number = payload.get("diary_number")
        fields: dict[str, Any] = {"meeting": meeting["object"]["id"], "name": payload["title"],
                                  "public": meeting["internal"]["public"], "order": 0}
        if diary_number:
            fields["consultation"] = path("consultation", key)
            batch.put(new_record("consultation", key, meeting["sort_key"] + f"\x1f{payload['item_id']}", envelope, {
                "agendaItem": path("agendaItem", key), "meeting": meeting["object"]["id"],
                "organization": meeting["object"].get("organization")}, parent=meeting_id, reference=diary_number),
                position)
        batch.put(new_record("agendaItem", key, meeting["sort_key"], envelope, fields, parent=meeting_id,
                             reference=diary_number), position)
        meeting = {**touched(meeting, envelope),
                   "internal": {**meeting["internal"], "items": [*meeting["internal"]["items"], payload["item_id"]]}}
        batch.put(meeting, position)
        self._number(batch, envelope, meeting, meeting_id, position)

    def _number(self, batch: Batch, envelope: Mapping[str, Any], meeting: dict[str, Any], meeting_id: str,
                position: int) -> None:
        """The agenda's items numbered 1, 2, 3 … in their order, as the meetings service numbers them."""
        for number, item_id in enumerate(meeting["internal"]["items"], start=1):
            item = batch.get("agendaItem", f"{meeting_id}.{item_id}")
            if item is not None and (item["object"].get("order"), item["object"].get("number")) != (number, str(number)):
                item = touched(item, envelope, order=number, number=str(number))
                batch.put({**item, "sort_key": f"{meeting['sort_key']}\x1f{number:05d}"}, position)

    def _publish_decision(self, batch: Batch, envelope: Mapping[str, Any], key: str, position: int) -> None:
        item = batch.get("agendaItem", key)
        decision = (item or {}).get("internal", {}).get("decision")
        if item is None or decision is None:
            return
        outcome = OUTCOMES.get(decision["outcome"], decision["outcome"])
        result = f"{decision['paragraph']}: {outcome}" if decision.get("paragraph") else outcome
        if decision.get("proposal_to"):
            result += f" (förslag till {decision['proposal_to']})"
        batch.put(touched(item, envelope, result=result, resolutionText=decision.get("text") or None), position)
        consultation = batch.get("consultation", key)
        if consultation is not None:
            batch.put(touched(consultation, envelope, authoritative=not decision.get("proposal_to"),
                              role="beredning" if decision.get("proposal_to") else "beslut"), position)

    def _delete(self, batch: Batch, envelope: Mapping[str, Any], kind: str, object_id: str, position: int) -> None:
        """OParl 1.1 keeps a removed object under its URL, `deleted` (spec 2-08): an item withdrawn from an agenda."""
        record = batch.get(kind, object_id)
        if record is not None:
            record = touched(record, envelope, deleted=True)
            batch.put({**record, "columns": {**record["columns"], "deleted": "1"}}, position)

    # --- initiatives: papers ------------------------------------------------------------------------------

    def _initiatives(self, batch: Batch, envelope: Mapping[str, Any]) -> None:
        """Only a case's title, kind, submitters and dates are read: never its answer or documents."""
        kind = envelope["type"]
        payload, aggregate_id, position = envelope.get("payload") or {}, envelope["aggregate_id"], envelope["position"]
        if kind == "Initiative.Submitted":  # in the diary from its registration on; until then not shown
            batch.put(new_record("paper", aggregate_id, "", envelope, {
                "body": BODY_PATH, "name": payload["title"], "paperType": PAPER_TYPES.get(payload["kind"], payload["kind"]),
                "date": payload["submitted_on"]}, hidden=True,
                internal={"submitters": [s["name"] for s in payload.get("submitters") or [] if s.get("name")]}),
                position)
        elif kind == "Initiative.Registered":
            paper = batch.get("paper", aggregate_id)
            if paper is None:
                return
            originators = [self._person(batch, envelope, name, position)["object"]["id"]
                           for name in paper["internal"]["submitters"]]
            paper = touched(paper, envelope, reference=payload["diary_number"], originatorPerson=originators or None)
            at = utc_key(envelope["occurred_at"])
            paper["object"]["created"] = paper["object"]["modified"]  # created in OParl when it became public
            batch.put({**paper, "sort_key": payload["diary_number"], "columns": {
                **paper["columns"], "hidden": "0", "reference": payload["diary_number"], "created": at}}, position)
        elif kind == "Initiative.Withdrawn":
            paper = batch.get("paper", aggregate_id)
            if paper is not None:
                batch.put(touched(paper, envelope, keyword=["återkallad"]), position)


# --- read ------------------------------------------------------------------------------------------------


def absolute(value: Any, base: str) -> Any:
    """Every path of the API in the value made a URL of `base` (OParl's ids and links are URLs)."""
    if isinstance(value, dict):
        return {name: absolute(item, base) for name, item in value.items()}
    if isinstance(value, list):
        return [absolute(item, base) for item in value]
    if isinstance(value, str) and value.startswith(PREFIX + "/"):
        return base + value
    return value


class Reader:
    """OParl's answers from the table: one object, one page of a list, with what they embed."""

    def __init__(self, view: Any, gate: Any, region_name: str = "Regionen", base_url: str = ""):
        self.view = view
        self.gate = gate
        self.region_name = region_name
        self.base_url = base_url.rstrip("/")  # OPARL_BASE_URL; empty: the URL the request was sent to

    def _rows(self, column: str, values: list[str], *conditions: Condition) -> list[dict[str, Any]]:
        return self.gate.call(self.view.rows_with, OBJECTS, column, values, conditions=list(conditions),
                              limit=EMBEDDED_LIMIT)

    def system(self) -> dict[str, Any]:
        return {"id": f"{PREFIX}/system", "type": SCHEMA + "System", "oparlVersion": SCHEMA,
                "name": f"{self.region_name}: ärenden och sammanträden", "body": f"{PREFIX}/body"}

    def body(self, omit_internal: bool = False) -> dict[str, Any]:
        terms = [row["view"]["object"] for row in self._rows("kind", ["legislativeTerm"], *_shown())]
        return {"id": BODY_PATH, "type": SCHEMA + "Body", "system": f"{PREFIX}/system", "name": self.region_name,
                **{name: f"{BODY_PATH}/{name}" for name in LISTS}, "legislativeTerm": terms}

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
        conditions = [Condition("kind", "=", kind), *_shown(deleted_too=query.get("modified_since") is not None)]
        for parameter, column, operator in (("created_since", "created", ">="), ("created_until", "created", "<="),
                                            ("modified_since", "modified", ">="), ("modified_until", "modified", "<=")):
            if query.get(parameter) is not None:
                conditions.append(Condition(column, operator, utc_key(query[parameter])))
        scope, filters = f"oparl/{list_name}", filters_of(query)
        try:
            after = Cursors.decode(query.get("page"), scope, filters, (str, str))
        except InvalidRequest as error:
            raise InvalidRequest.for_field("page", error.errors[0]["message"]) from None
        records, key = self.gate.call(self.view.page, OBJECTS, conditions=conditions, after=after,
                                      limit=query.get("limit") or DEFAULT_LIMIT)
        return self.embedded(records, bool(query.get("omit_internal"))), \
            (Cursors.encode(scope, filters, key) if key else None)

    def embedded(self, records: list[dict[str, Any]], omit_internal: bool) -> list[dict[str, Any]]:
        """The objects with what they embed or link to, read for the whole page at once."""
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
        consultations = _grouped(self._rows("reference", references, Condition("kind", "=", "consultation"), *shown),
                                 "reference")
        papers = {row["view"]["columns"]["reference"]: row["view"]["object"]["id"]
                  for row in self._rows("reference", references, Condition("kind", "=", "paper"), *shown)}
        shown_objects = []
        for record in records:
            obj, kind, key = dict(record["object"]), record["columns"]["kind"], record["key"].split("/", 1)[1]
            reference = record["columns"]["reference"]
            if kind == "meeting" and not omit_internal:
                obj["agendaItem"] = [row["object"] for row in items.get(key, [])] or None
            elif kind == "person" and not omit_internal:
                obj["membership"] = [row["object"] for row in memberships.get(key, [])] or None
            elif kind == "organization":
                obj["membership"] = [row["object"]["id"] for row in members.get(key, [])] or None
            elif kind == "paper":
                obj["consultation"] = [{**row["object"], "paper": obj["id"]}
                                       for row in consultations.get(reference, [])] or None
            elif kind == "consultation" and reference in papers:
                obj["paper"] = papers[reference]
            shown_objects.append({name: value for name, value in obj.items() if value is not None})
        return shown_objects


def _shown(deleted_too: bool = False) -> list[Condition]:
    return [Condition("hidden", "=", "0")] + ([] if deleted_too else [Condition("deleted", "=", "0")])


def _grouped(rows: list[dict[str, Any]], column: str) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["view"]["columns"][column], []).append(row["view"])
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
