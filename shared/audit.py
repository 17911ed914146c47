"""What auditors do, with the services' HTTP APIs as the only source.

A case's timeline across the services (shared.timeline), the state of every
aggregate it involves as of a moment, and the verification of their hash chains
(shared.chain) recomputed here from the events as stored — not taken on the
services' word. The CLI (shared.cli) and the audit service use these.
"""
from __future__ import annotations

import hashlib

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Iterable, Iterator, Mapping
from urllib.parse import quote

import requests

from shared.chain import ChainReport, Problem, Record, verify_chain, verify_log
from shared.errors import CaseError
from shared.timeline import case_timeline

PAGE = 1000
LOCAL_SERVICES = {
    "initiatives": "http://127.0.0.1:8001",
    "letters_of_intent": "http://127.0.0.1:8002",
    "meetings": "http://127.0.0.1:8003",
    "evaluations": "http://127.0.0.1:8004",
}


class AuditError(CaseError):
    """A service could not be read, or refused what was asked."""

    status = 502
    title = "A service could not be read"
    problem_type = "/problems/source-unavailable"


class ServiceClient:
    """One service's read API, as an auditor's token sees it."""

    def __init__(self, name: str, base_url: str, token: str, session: requests.Session | None = None):
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.session = session or requests.Session()

    def get(self, path: str, **params: Any) -> Any:
        try:
            response = self.session.get(f"{self.base_url}{path}", params=params or None, timeout=60,
                                        headers={"Authorization": f"Bearer {self.token}"})
        except requests.RequestException as error:
            raise AuditError(f"{self.name} ({self.base_url}) could not be read: {error}") from None
        if response.status_code >= 400:
            detail = _problem_detail(response)
            raise AuditError(f"{self.name} answered {response.status_code} to {path}: {detail}")
        return response.json()

    def feed(self) -> Iterator[dict[str, Any]]:
        """Every public event, page by page from position 0."""
        for page in self._pages("/events"):
            yield from page["events"]

    def records(self) -> Iterator[Record]:
        """Every recorded event exactly as stored, in position order."""
        for page in self._pages("/records"):
            yield from (Record.from_json(record) for record in page["records"])

    def aggregate_records(self, aggregate_id: str) -> list[Record]:
        found = self.get(f"/aggregates/{quote(aggregate_id)}/records")
        return [Record.from_json(record) for record in found["records"]]

    def aggregate_events(self, aggregate_id: str) -> list[dict[str, Any]]:
        """One aggregate's public events, as the feed carries them."""
        return self.get(f"/aggregates/{quote(aggregate_id)}/events")["events"]

    def aggregate_as_of(
        self, aggregate_id: str, as_of: datetime | None = None, in_effect_on: date | None = None
    ) -> dict[str, Any]:
        params = {"as_of": as_of.isoformat()} if as_of else {}
        if in_effect_on is not None:
            params["in_effect_on"] = in_effect_on.isoformat()
        return self.get(f"/aggregates/{quote(aggregate_id)}", **params)

    def aggregate_states(self, aggregate_id: str) -> list[dict[str, Any]]:
        return self.get(f"/aggregates/{quote(aggregate_id)}/states")["states"]

    def file(self, sha256: str) -> bytes:
        """A stored file's bytes (the service checks them against their SHA-256; so does this)."""
        path = f"/files/{quote(sha256)}"
        try:
            response = self.session.get(f"{self.base_url}{path}", timeout=60,
                                        headers={"Authorization": f"Bearer {self.token}"})
        except requests.RequestException as error:
            raise AuditError(f"{self.name} ({self.base_url}) could not be read: {error}") from None
        if response.status_code >= 400:
            raise AuditError(f"{self.name} answered {response.status_code} to {path}: {_problem_detail(response)}")
        if hashlib.sha256(response.content).hexdigest() != sha256:
            raise AuditError(f"{self.name} answered {path} with content whose SHA-256 is not {sha256}")
        return response.content

    def _pages(self, path: str) -> Iterator[dict[str, Any]]:
        after = 0
        while True:
            page = self.get(path, after=after, limit=PAGE)
            yield page
            if page["last_position"] == after:
                return
            after = page["last_position"]


def clients_for(urls: Mapping[str, str], token: str) -> dict[str, ServiceClient]:
    session = requests.Session()
    return {name: ServiceClient(name, url, token, session) for name, url in urls.items()}


@dataclass
class Case:
    """A case as the services tell it: its timeline, and the aggregates (per service) that it involves."""

    diary_number: str
    timeline: list[dict[str, Any]]
    aggregates: list[tuple[str, str, str]] = field(default_factory=list)  # (service, aggregate id, type)

    @classmethod
    def from_timeline(cls, diary_number: str, timeline: list[dict[str, Any]]) -> "Case":
        aggregates: dict[tuple[str, str], str] = {}
        for envelope in timeline:
            aggregates.setdefault((envelope["source"], envelope["aggregate_id"]), envelope["type"].split(".")[0])
        return cls(diary_number, timeline, [(s, a, t) for (s, a), t in aggregates.items()])


def read_case(
    clients: Mapping[str, ServiceClient], diary_number: str, as_of: datetime | None = None,
    in_effect_on: date | None = None,
) -> Case:
    """Every service's events about the case, merged in time order (up to `as_of`, or in effect on
    `in_effect_on`), found by reading every service's whole feed: what an auditor can do with no index
    (the audit service has one)."""
    feeds = {name: list(client.feed()) for name, client in clients.items()}
    return Case.from_timeline(diary_number, case_timeline(feeds, diary_number, as_of, in_effect_on))


def read_indexed_case(
    clients: Mapping[str, ServiceClient], diary_number: str, aggregates: Iterable[tuple[str, str, str]],
    as_of: datetime | None = None, in_effect_on: date | None = None,
) -> Case:
    """The case from the aggregates an index says concern it: only their events are read, and the
    timeline is chosen from them by the same rule as from whole feeds."""
    feeds: dict[str, list[dict[str, Any]]] = {}
    for service, aggregate_id, _ in aggregates:
        feeds.setdefault(service, []).extend(clients[service].aggregate_events(aggregate_id))
    return Case.from_timeline(diary_number, case_timeline(feeds, diary_number, as_of, in_effect_on))


def case_states(
    clients: Mapping[str, ServiceClient], case: Case, as_of: datetime | None = None, in_effect_on: date | None = None,
) -> list[dict[str, Any]]:
    """Each aggregate of the case as it was at `as_of` (now, without), or as in effect on `in_effect_on`,
    with the service it lives in."""
    return [{"service": service, **clients[service].aggregate_as_of(aggregate_id, as_of, in_effect_on)}
            for service, aggregate_id, _ in case.aggregates]


@dataclass
class Verification:
    """Chains recomputed: one report per aggregate (with its service), and problems across a log."""

    reports: list[tuple[str, ChainReport]]
    log_problems: list[tuple[str, Problem]] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.log_problems and all(report.intact for _, report in self.reports)

    def problems(self) -> list[str]:
        found = [f"{service}: {report.problem}" for service, report in self.reports if report.problem]
        return found + [f"{service}: {problem}" for service, problem in self.log_problems]

    def to_json(self) -> dict[str, Any]:
        return {"intact": self.intact, "problems": self.problems(),
                "aggregates": [{"service": service, **report.to_json()} for service, report in self.reports]}


def verify_case(clients: Mapping[str, ServiceClient], case: Case) -> Verification:
    """Every aggregate that the case involves: its whole chain, from the events as stored."""
    return Verification([
        (service, verify_chain(aggregate_id, clients[service].aggregate_records(aggregate_id)))
        for service, aggregate_id, _ in case.aggregates
    ])


def verify_service(client: ServiceClient) -> Verification:
    """A whole service's log: every aggregate's chain, and no unchained event after chaining began."""
    reports, problems = verify_log(list(client.records()))
    return Verification([(client.name, report) for report in reports], [(client.name, p) for p in problems])


def _problem_detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("detail") or body.get("title") or body)[:500]
