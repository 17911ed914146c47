"""OParl 1.1 from the audit service: a client walks it from /oparl/v1/system, every object is checked
against the specification's field tables, every link is followed, and nothing marked secret appears.

The initiatives and meetings services run against the real RabbitMQ and store; the audit service keeps
the OParl objects from their events. Seed 002's motion is prepared by regionala utvecklingsnämnden,
whose meeting decides a proposal and adjusts its minutes.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.integration.conftest import audit_reading
from tests.integration.test_council_procedure import COUNCIL, MOTION, Secretary
from tests.support.meetings import eventually
from tests.support.services import Api, assert_problem

SCHEMA = "https://schema.oparl.org/1.1/"
SECRET_SECTION = "Hemligtsammanfattningsord"
SECRET_TITLE = "Hemligtdokumentord"
OSL = "OSL 21 kap. 7 §"

# The specification's field tables: OParl/spec (1.1, master), schema/<Type>.json — each property's type
# and format ("url" for format url, "date", "date-time"), the type an url refers to ("schema"/"references"),
# an embedded object's type ("items"/"$ref"), and `required`. Only the types this API serves.
URL, DATE, DATETIME, STRING, BOOLEAN, INTEGER = "url", "date", "date-time", "string", "boolean", "integer"
COMMON = {"id": URL, "type": STRING, "license": STRING, "keyword": [STRING], "created": DATETIME,
          "modified": DATETIME, "web": URL, "deleted": BOOLEAN}
SPEC: dict[str, tuple[set[str], dict[str, Any]]] = {
    # schema/System.json
    "System": ({"id", "type", "oparlVersion", "body", "created", "modified"}, {
        **COMMON, "license": URL, "oparlVersion": STRING, "otherOparlVersions": [(URL, "System")],
        "body": (URL, "list:Body"), "name": STRING, "contactEmail": STRING, "contactName": STRING, "website": URL,
        "vendor": URL, "product": URL}),
    # schema/Body.json
    "Body": ({"id", "type", "name", "organization", "person", "meeting", "paper", "legislativeTerm", "created",
              "modified"}, {
        **COMMON, "system": (URL, "System"), "shortName": STRING, "name": STRING, "website": URL, "license": URL,
        "licenseValidSince": DATETIME, "oparlSince": DATETIME, "ags": STRING, "rgs": STRING, "equivalent": [URL],
        "contactEmail": STRING, "contactName": STRING, "organization": (URL, "list:Organization"),
        "person": (URL, "list:Person"), "meeting": (URL, "list:Meeting"), "paper": (URL, "list:Paper"),
        "legislativeTerm": [("object", "LegislativeTerm")], "agendaItem": (URL, "list:AgendaItem"),
        "consultation": (URL, "list:Consultation"), "file": (URL, "list:File"), "locationList": (URL, "list:Location"),
        "legislativeTermList": (URL, "list:LegislativeTerm"), "membership": (URL, "list:Membership"),
        "classification": STRING, "mainOrganization": (URL, "Organization")}),
    # schema/Organization.json
    "Organization": ({"id", "type"}, {
        **COMMON, "body": (URL, "Body"), "name": STRING, "membership": [(URL, "Membership")],
        "meeting": (URL, "list:Meeting"), "consultation": (URL, "list:Consultation"), "shortName": STRING,
        "post": [STRING], "subOrganizationOf": (URL, "Organization"), "organizationType": STRING,
        "classification": STRING, "startDate": DATE, "endDate": DATE, "website": URL, "externalBody": (URL, "Body"),
        "memberCount": INTEGER, "votingMemberCount": INTEGER}),
    # schema/Person.json
    "Person": ({"id", "type"}, {
        **COMMON, "body": (URL, "Body"), "name": STRING, "familyName": STRING, "givenName": STRING,
        "formOfAddress": STRING, "affix": STRING, "title": [STRING], "gender": STRING, "phone": [STRING],
        "email": [STRING], "location": (URL, "Location"), "status": [STRING],
        "membership": [("object", "Membership")], "life": STRING, "lifeSource": STRING}),
    # schema/Membership.json
    "Membership": ({"id", "type"}, {
        **COMMON, "person": (URL, "Person"), "organization": (URL, "Organization"), "role": STRING,
        "votingRight": BOOLEAN, "startDate": DATE, "endDate": DATE, "onBehalfOf": (URL, "Organization")}),
    # schema/Meeting.json
    "Meeting": ({"id", "type"}, {
        **COMMON, "name": STRING, "meetingState": STRING, "cancelled": BOOLEAN, "start": DATETIME, "end": DATETIME,
        "organization": [(URL, "Organization")], "participant": [(URL, "Person")],
        "auxiliaryFile": [("object", "File")], "agendaItem": [("object", "AgendaItem")]}),
    # schema/AgendaItem.json
    "AgendaItem": ({"id", "type", "order"}, {
        **COMMON, "meeting": (URL, "Meeting"), "number": STRING, "order": INTEGER, "name": STRING,
        "public": BOOLEAN, "consultation": (URL, "Consultation"), "result": STRING, "resolutionText": STRING,
        "auxiliaryFile": [("object", "File")], "start": DATETIME, "end": DATETIME}),
    # schema/Paper.json
    "Paper": ({"id", "type"}, {
        **COMMON, "body": (URL, "Body"), "name": STRING, "reference": STRING, "date": DATE, "paperType": STRING,
        "relatedPaper": [(URL, "Paper")], "superordinatedPaper": [(URL, "Paper")],
        "subordinatedPaper": [(URL, "Paper")], "auxiliaryFile": [("object", "File")],
        "originatorPerson": [(URL, "Person")], "underDirectionOf": [(URL, "Organization")],
        "originatorOrganization": [(URL, "Organization")], "consultation": [("object", "Consultation")]}),
    # schema/Consultation.json
    "Consultation": ({"id", "type"}, {
        **COMMON, "paper": (URL, "Paper"), "agendaItem": (URL, "AgendaItem"), "meeting": (URL, "Meeting"),
        "organization": [(URL, "Organization")], "authoritative": BOOLEAN, "role": STRING}),
    # schema/LegislativeTerm.json
    "LegislativeTerm": ({"id", "type"}, {
        **COMMON, "body": (URL, "Body"), "name": STRING, "startDate": DATE, "endDate": DATE}),
}
FORMATS = {DATE: re.compile(r"\d{4}-\d\d-\d\d"), DATETIME: re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")}


class Client:
    """An OParl client: reads URLs (no token), checks every object, and notes every link it meets."""

    def __init__(self, audit_api: Api):
        self.api = audit_api
        self.answers: dict[str, Any] = {}
        self.links: dict[str, set[str]] = {}  # url -> the types it must be (an object's, or "list:<type>")
        self.texts: list[str] = []

    def read(self, url: str) -> Any:
        if url not in self.answers:
            assert url.startswith(self.api.base_url + "/oparl/v1/"), url
            response = self.api.session.get(url, timeout=60)  # no Authorization header: public
            assert response.status_code == 200, f"{url}: {response.status_code} {response.text}"
            assert response.headers["Access-Control-Allow-Origin"] == "*", url  # spec 2-06: CORS
            assert response.headers["Content-Type"].startswith("application/json")
            self.texts.append(response.text)
            self.answers[url] = response.json()
        return self.answers[url]

    def check(self, obj: Any, kind: str, where: str) -> None:
        """The object against its type's table: required fields present (not null), every field known and
        of its type; an embedded object checked the same way; every url noted to be followed."""
        assert isinstance(obj, dict), where
        required, table = SPEC[kind]
        assert obj.get("type") == SCHEMA + kind, f"{where}: {obj.get('type')}"
        assert required <= {name for name, value in obj.items() if value is not None}, \
            f"{where}: {kind} lacks {required - set(obj)}"
        assert set(obj) <= set(table), f"{where}: not in the {kind} table: {set(obj) - set(table)}"
        for name, value in obj.items():
            self._value(value, table[name], f"{where}.{name}")
        self.links.setdefault(obj["id"], set()).add(kind)  # an embedded object is at its URL too

    def _value(self, value: Any, spec: Any, where: str) -> None:
        if isinstance(spec, list):
            assert isinstance(value, list), where
            for number, item in enumerate(value):
                self._value(item, spec[0], f"{where}[{number}]")
        elif isinstance(spec, tuple) and spec[0] == "object":
            self.check(value, spec[1], where)
        elif isinstance(spec, tuple):  # an url to an object of a type, or to a list of them
            self._value(value, URL, where)
            self.links.setdefault(value, set()).add(spec[1])
        elif spec == URL:
            assert isinstance(value, str) and value.startswith("http"), f"{where}: {value!r}"
        elif spec in FORMATS:
            assert isinstance(value, str) and FORMATS[spec].fullmatch(value), f"{where}: {value!r}"
        elif spec == BOOLEAN:
            assert isinstance(value, bool), where
        elif spec == INTEGER:
            assert isinstance(value, int) and not isinstance(value, bool), where
        else:
            assert isinstance(value, str), f"{where}: {value!r}"

    def object(self, url: str, kind: str) -> dict[str, Any]:
        obj = self.read(url)
        self.check(obj, kind, url)
        assert obj["id"] == url  # OParl: the id is the object's URL
        return obj

    def every(self, url: str, kind: str) -> list[dict[str, Any]]:
        """Every object of an external list, page after page by links.next."""
        objects = []
        while url:
            page = self.read(url)
            assert set(page) == {"data", "pagination", "links"}, url
            for number, obj in enumerate(page["data"]):
                self.check(obj, kind, f"{url}#{number}")
            objects += page["data"]
            url = page["links"].get("next")
        return objects

    def walk(self) -> dict[str, dict[str, Any]]:
        """From the system on, every link followed until none is new; every object by its id."""
        system = self.object(self.api.base_url + "/oparl/v1/system", "System")
        assert system["oparlVersion"] == SCHEMA
        objects: dict[str, dict[str, Any]] = {}
        followed: set[str] = set()
        while set(self.links) - followed:
            for url in sorted(set(self.links) - followed):
                followed.add(url)
                for kind in self.links[url]:
                    if kind.startswith("list:"):
                        for obj in self.every(url, kind[5:]):
                            objects[obj["id"]] = obj
                    else:
                        objects[url] = self.object(url, kind)
        for url, obj in list(objects.items()):  # each object read by its URL is the one its list shows
            assert self.read(url) == obj, url
        return objects


def motion_decided_by_a_committee(api: Api, meetings_api: Api) -> tuple[str, Secretary]:
    """Seed 002's motion with a secret section and a secret document; the committee's meeting has a second
    item, withdrawn, decides a proposal on the motion and adjusts its minutes."""
    case = api.command("/initiatives", "case_officer", MOTION["submission"])
    case_path = f"/initiatives/{case['id']}"
    diary_number = api.command(f"{case_path}/register", "registrar", MOTION["registration"])["diary_number"]
    api.command(f"{case_path}/referral", "registrar", MOTION["referral"])
    api.command(f"{case_path}/answer", "case_officer", {
        **MOTION["answer"], "summary": f"{MOTION['answer']['summary']} {SECRET_SECTION}",
        "secret_sections": {"summary": OSL}})
    api.command(f"{case_path}/documents", "registrar", {
        "kind": "remissvar", "direction": "incoming", "title": f"Remissvar {SECRET_TITLE}", "dated": "2021-05-01",
        "counterpart": "Umeå kommun", "file": None, "secret_under": OSL})
    eventually(lambda: meetings_api.get(f"/cases/{diary_number.replace(' ', '%20')}/procedure"),
               lambda r: r.status_code == 200)

    committee = Secretary(meetings_api, COUNCIL["bodies"][0])
    committee.schedule()
    extra = committee.post("agenda", {"title": "Övrig fråga som dras tillbaka"})["agenda"][0]["item_id"]
    meeting = committee.post("agenda", {**COUNCIL["item"], "diary_number": diary_number})
    item = next(i["item_id"] for i in meeting["agenda"] if i["diary_number"] == diary_number)
    committee.post(f"agenda/{extra}/withdrawal", {"reason": "Frågan besvarades före sammanträdet."})
    committee.post("attendance", {"present": [{"name": name} for name in committee.members]})
    committee.post("opening", {})
    committee.post(f"agenda/{item}/decision", {**COUNCIL["decision"], "proposal_to": "Regionstyrelsen"})
    committee.adjust("2021-11-19")
    return diary_number, committee


@pytest.fixture
def oparl_api(container_factory: Any, config: dict[str, Any], store_config: dict[str, Any], api: Api,
              meetings_api: Api, tmp_path: Any) -> Api:
    """The audit service on the test's store (SQLite, or PostgreSQL beside the services' tables)."""
    return audit_reading(container_factory, config["AMQP_URI"],
                         {"initiatives": api.base_url, "meetings": meetings_api.base_url}, tmp_path / "audit",
                         store_config)


def adjusted_meeting_shown(oparl_api: Api) -> dict[str, Any]:
    """The committee's meeting, once the audit service has its adjusted minutes."""
    url = oparl_api.base_url + "/oparl/v1/body/region/meeting"
    return eventually(lambda: oparl_api.session.get(url, timeout=60).json(),
                      lambda page: any(m.get("meetingState") == "adjusted" for m in page["data"]))["data"][0]


def test_a_client_walks_the_whole_api_from_the_system_and_every_object_fits_the_specification(
        api: Api, meetings_api: Api, oparl_api: Api) -> None:
    diary_number, committee = motion_decided_by_a_committee(api, meetings_api)
    adjusted_meeting_shown(oparl_api)
    client = Client(oparl_api)
    objects = client.walk()

    by_type: dict[str, list[dict[str, Any]]] = {}
    for obj in objects.values():
        by_type.setdefault(obj["type"].rsplit("/", 1)[1], []).append(obj)
    [body] = by_type["Body"]
    [organization] = by_type["Organization"]
    assert organization["name"] == COUNCIL["bodies"][0]["body"]["name"] and organization["classification"] == "nämnd"
    assert len(organization["membership"]) == len(committee.members)
    assert sorted(p["name"] for p in by_type["Person"]) == sorted(
        [*committee.members, MOTION["submission"]["submitters"][0]["name"]])
    chair = next(p for p in by_type["Person"] if p["name"] == committee.members[0])
    assert [(m["role"], m["votingRight"], m["startDate"]) for m in chair["membership"]] == \
        [("ordförande", True, "2019-01-01")]
    [paper] = by_type["Paper"]
    assert (paper["reference"], paper["name"], paper["paperType"], paper["date"]) == \
        (diary_number, MOTION["submission"]["title"], "motion", "2021-03-15")
    [meeting] = by_type["Meeting"]
    assert meeting["organization"] == [organization["id"]] and meeting["meetingState"] == "adjusted"
    assert sorted(meeting["participant"]) == sorted(p["id"] for p in by_type["Person"] if p["name"] in committee.members)
    [item] = meeting["agendaItem"]  # the withdrawn item is not on it (nor in a list without modified_since)
    assert (item["number"], item["order"], item["name"], item["public"]) == ("1", 1, COUNCIL["item"]["title"], False)
    assert item["result"] == "§ 1: anses besvarad (förslag till Regionstyrelsen)"
    assert item["resolutionText"] == COUNCIL["decision"]["text"]
    [consultation] = paper["consultation"]
    assert (consultation["agendaItem"], consultation["meeting"], consultation["paper"], consultation["role"],
            consultation["authoritative"]) == (item["id"], meeting["id"], paper["id"], "beredning", False)
    assert client.read(item["consultation"]) == consultation
    assert [t["name"] for t in body["legislativeTerm"]] == ["Mandatperioden 2018–2022"]

    # every link followed resolves to an object of the type the specification names (or a list of them)
    for url, kinds in client.links.items():
        answer = client.read(url)
        for kind in kinds:
            if kind.startswith("list:"):
                assert all(obj["type"] == SCHEMA + kind[5:] for obj in answer["data"]), url
            else:
                assert answer["type"] == SCHEMA + kind, url

    # what is marked secret appears in no answer
    assert all(SECRET_SECTION not in text and SECRET_TITLE not in text for text in client.texts)
    secret_in_store = api.get(f"/initiatives/{paper['id'].rsplit('/', 1)[1]}", "registrar").json()
    assert SECRET_SECTION in str(secret_in_store) and SECRET_TITLE in str(secret_in_store)  # it is there to leak


def test_lists_page_by_links_next_keeping_filters_and_show_the_deleted_only_with_modified_since(
        api: Api, meetings_api: Api, oparl_api: Api) -> None:
    motion_decided_by_a_committee(api, meetings_api)
    meeting = adjusted_meeting_shown(oparl_api)
    base = oparl_api.base_url + "/oparl/v1/body/region"
    get = lambda url, **params: oparl_api.session.get(url, params=params, timeout=60)  # noqa: E731

    people, url, pages = [], f"{base}/person?limit=2", 0
    while url:
        page = oparl_api.session.get(url, timeout=60).json()
        assert len(page["data"]) <= 2 and page["pagination"]["elementsPerPage"] == 2
        people += page["data"]
        url, pages = page["links"].get("next"), pages + 1
        assert url is None or "limit=2" in url
    assert pages == 3 and len({p["id"] for p in people}) == 5  # four members and the motion's submitter

    items = get(f"{base}/agendaItem").json()["data"]
    assert [i["name"] for i in items] == [COUNCIL["item"]["title"]]
    since = "2000-01-01T00:00:00+00:00"
    with_deleted = get(f"{base}/agendaItem", modified_since=since).json()["data"]
    deleted = [i for i in with_deleted if i.get("deleted")]
    assert [i["name"] for i in deleted] == ["Övrig fråga som dras tillbaka"] and len(with_deleted) == 2
    assert oparl_api.session.get(deleted[0]["id"], timeout=60).json()["deleted"] is True  # still at its URL

    later = get(f"{base}/meeting", modified_since=meeting["modified"]).json()["data"]
    assert [m["id"] for m in later] == [meeting["id"]]
    assert get(f"{base}/meeting", modified_until="2000-01-01T00:00:00+00:00").json()["data"] == []
    assert get(f"{base}/meeting", created_since="2999-01-01T00:00:00+00:00").json()["data"] == []


def test_bad_input_is_a_problem_naming_the_parameter_and_an_unknown_object_is_404(oparl_api: Api) -> None:
    base = oparl_api.base_url + "/oparl/v1"
    get = lambda path, **params: oparl_api.session.get(base + path, params=params, timeout=60)  # noqa: E731

    for path in ("/meeting/4f1c5e0e-0000-0000-0000-000000000000", "/paper/nothing", "/body/elsewhere",
                 "/widget/1", "/body/region/widgets", "/body/elsewhere/meeting"):
        assert_problem(get(path), 404)
    for parameter, value in (("modified_since", "yesterday"), ("modified_since", "2025-01-01T00:00:00"),
                             ("created_until", "2025-13-01T00:00:00+01:00"), ("page", "not-a-page"),
                             ("limit", "0"), ("limit", "many")):
        problem = assert_problem(get("/body/region/meeting", **{parameter: value}), 400)
        assert [error["field"] for error in problem["errors"]] == [parameter], problem
    first = get("/body/region/meeting", limit=1).json()
    assert first["links"].get("next") is None  # nothing yet
    # a page token the service did not give out
    assert assert_problem(get("/body/region/person", page="eyJ2IjoxfQ"), 400)["errors"][0]["field"] == "page"


def test_a_list_filtered_by_modified_since_pages_in_the_order_of_modified_across_pages(
        api: Api, meetings_api: Api, oparl_api: Api) -> None:
    motion_decided_by_a_committee(api, meetings_api)
    adjusted_meeting_shown(oparl_api)
    url = oparl_api.base_url + "/oparl/v1/body/region/person?" + urlencode(
        {"modified_since": "2000-01-01T00:00:00+00:00", "limit": 2})
    people, pages = [], 0
    while url:
        page = oparl_api.session.get(url, timeout=60).json()
        people += page["data"]
        url, pages = page["links"].get("next"), pages + 1
    assert pages == 3 and len({p["id"] for p in people}) == 5
    modified = [p["modified"] for p in people]
    assert [datetime.fromisoformat(m) for m in modified] == sorted(datetime.fromisoformat(m) for m in modified)
    # the body and the system have created and modified; the body list honours the date filters
    bodies = oparl_api.session.get(oparl_api.base_url + "/oparl/v1/body", timeout=60).json()["data"]
    assert len(bodies) == 1 and bodies[0]["created"] <= bodies[0]["modified"]
    assert oparl_api.session.get(oparl_api.base_url + "/oparl/v1/body", params={
        "created_since": "2999-01-01T00:00:00+00:00"}, timeout=60).json()["data"] == []


def test_every_answer_and_every_error_may_be_read_from_any_origin_and_far_dates_are_refused(oparl_api: Api) -> None:
    base = oparl_api.base_url + "/oparl/v1"
    for path, params, status in (("/system", {}, 200), ("/body", {}, 200), ("/body/region/meeting", {}, 200),
                                 ("/paper/nothing", {}, 404), ("/body/region/meeting", {"limit": "0"}, 400)):
        response = oparl_api.session.get(base + path, params=params, timeout=60)
        assert response.status_code == status and response.headers["Access-Control-Allow-Origin"] == "*", path
    for parameter in ("created_since", "created_until", "modified_since", "modified_until"):
        for value in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
            for path in ("/body/region/meeting", "/body"):
                problem = assert_problem(oparl_api.session.get(base + path, params={parameter: value}, timeout=60), 400)
                assert [error["field"] for error in problem["errors"]] == [parameter], problem
