"""Every command of every service, timed as real flows send them: one table (service, command, p50, p99) a store.

The five services run as `make run` runs them (reminders on, the development tokens the demo uses
accepted), on one store. Each round, one request after another from one client:

- the demo (services/demo.py `load_demo`, which drives the per-service demos services/*/demo.py):
  seed 000's case to an answer, its letters of intent, seed 001's agreement, the evaluation its due
  review plans, and the meeting that decides the case;
- then, where cheap, the commands the demo does not reach: the case dispatched and closed, a
  document with its uploaded file, a secrecy marking and its lifting, an import of docs/examples'
  older case, the initiatives' own demo (services/initiatives/demo.py) through its whole life
  (scheduled, decided and finalised by hand), a case withdrawn, a reminder marked done in each
  service that raises them; a letter paused, resumed, renewed and terminated; a membership
  ended, a second meeting's agenda reordered, an item withdrawn and the meeting cancelled; an
  evaluation planned by hand and a file uploaded to it.

Every request that is not a read (GET, HEAD, OPTIONS) is timed on the client side (sent → the whole
answer read) and named by its route template, matched against the service's own /openapi.json.
The commands of each OpenAPI document that no round sent are listed too, so the gap is visible.
A command answered with a status of 400 or more is not timed; it is listed (the demo expects
some: it retries its answer until the completed evaluation has reached the initiatives service),
and when the flow did not expect it, the round stops and is reported as failed, with the status
and the answer's first bytes; the other rounds still run.

    python -m bench --only commands [--quick] [--stores sqlite,postgres]
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from bench.services import latency_figures, running
from services.demo import load_demo
from services.initiatives.demo import Client, load_seed_000, seed_000
from services.letters_of_intent.demo import seed as letters_seed
from services.meetings.demo import run_meeting_seed
from tests.support.services import Api

SERVICES = ["initiatives", "letters_of_intent", "meetings", "evaluations", "audit"]
READS = frozenset({"GET", "HEAD", "OPTIONS"})
COMMAND_METHODS = ("post", "put", "patch", "delete")
IMPORT_EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "import-motion-2021.json"
OSL = "OSL 21 kap. 7 §"


@dataclass
class Sample:
    method: str
    url: str
    status: int
    seconds: float
    answer: str = ""  # the first bytes of a refusal


class TimedSession(requests.Session):
    """A requests session that times every request that is not a read, from sending to the whole answer."""

    def __init__(self) -> None:
        super().__init__()
        self.samples: list[Sample] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        started = time.perf_counter()
        response = super().request(method, url, *args, **kwargs)  # stream=False: the body is read here
        seconds = time.perf_counter() - started
        verb = (method.decode() if isinstance(method, bytes) else method).upper()
        if verb not in READS:
            self.samples.append(Sample(verb, str(url), response.status_code, seconds,
                                       response.text[:300] if response.status_code >= 400 else ""))
        return response


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    parameters: int

    @property
    def command(self) -> str:
        return f"{self.method} {self.template}"


def commands_of(base_url: str) -> list[Route]:
    """The service's commands (every operation that is not a read) as its /openapi.json declares them."""
    response = requests.get(f"{base_url}/openapi.json", timeout=30)
    response.raise_for_status()
    routes = []
    for template, operations in response.json()["paths"].items():
        parts = re.split(r"(\{[^}/]+\})", template)
        pattern = re.compile("^" + "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
                             + "$")
        for method in operations:
            if method in COMMAND_METHODS:
                routes.append(Route(method.upper(), template, pattern, sum(p.startswith("{") for p in parts)))
    return routes


def route_of(routes: list[Route], method: str, path: str) -> Route | None:
    """The route a request took: of those matching, the one with the fewest parameters (a literal wins)."""
    matching = [r for r in routes if r.method == method and r.pattern.match(path)]
    return min(matching, key=lambda r: r.parameters) if matching else None


# --- the commands the demo does not reach, where cheap -------------------------------------------

def checked(response: requests.Response, what: str) -> dict[str, Any]:
    if response.status_code >= 400:  # the sample keeps the details; the round stops here
        raise RuntimeError(f"{what}: {response.status_code} {response.text[:300]}")
    return response.json()


def mark_a_reminder_done(api: Api) -> None:
    """The first reminder raised for one of the reminded roles, marked done by that role (none: nothing)."""
    for role in ("registrar", "case_officer", "secretary", "strategist"):
        reminders = checked(api.get("/reminders", role, params={"role": role, "limit": 1}), "GET /reminders")
        for reminder in reminders["reminders"]:
            api.command(f"/reminders/{reminder['aggregate_id']}/done", role, {"key": reminder["key"]})
            return


class InitiativesExtras:
    """The initiatives' commands the demo does not reach. A case is left registered from one round to the
    next, referred with its preparation due long ago (the reminders' timer raises a reminder meanwhile); the
    next round marks a reminder done and withdraws it. `finish` withdraws the last one."""

    def __init__(self, api: Api):
        self.api = api
        self.waiting: dict[str, Any] | None = None

    def round(self, case: dict[str, Any], round_number: int) -> None:
        api, seed = self.api, seed_000()
        path = f"/initiatives/{case['id']}"
        content = f"Remissvar från Umeå kommun, omgång {round_number}\nTillstyrker.\n".encode()
        file = api.request("POST", "/files", "registrar", params={"filename": f"Remissvar {round_number}.txt"},
                           data=content, headers={"Content-Type": "text/plain"})
        stored = checked(file, "POST /files")
        api.command(f"{path}/documents", "registrar", {
            "kind": "remissvar", "direction": "incoming", "title": "Remissvar från Umeå kommun",
            "dated": "2025-05-17", "counterpart": "Umeå kommun",
            "file": {"sha256": stored["sha256"], "filename": stored["filename"]}})
        api.command(f"{path}/secrecy", "registrar", {"target": "answer.summary", "provision": OSL,
                                                      "reason": "Uppgifter om enskild"})
        api.command(f"{path}/secrecy/lifted", "registrar", {"target": "answer.summary",
                                                             "reason": "Sekretessprövning: kan lämnas ut"})
        api.command(f"{path}/dispatch", "registrar", seed["dispatch"])
        api.command(f"{path}/closure", "registrar", seed["closure"])
        older = json.loads(IMPORT_EXAMPLE.read_text("utf-8"))
        older["records"][0]["diary_number"] = f"RUN 2021-{1000 + round_number:04d}"  # a case of its own each round
        checked(api.request("POST", "/imports", "registrar", params={"filename": f"diary-{round_number}.json"},
                            data=json.dumps(older).encode(), headers={"Content-Type": "application/json"}),
                "POST /imports")
        # the initiatives' own demo through its whole life: scheduled, decided and finalised by hand, as where
        # the meetings are not kept in the meetings service (the demo above has them come from its events)
        load_seed_000(Client(api.base_url, api.session), through="closure")
        mark_a_reminder_done(api)
        self.finish()
        self.waiting = api.command("/initiatives", "case_officer", seed["submission"])
        api.command(f"/initiatives/{self.waiting['id']}/register", "registrar", seed["registration"])
        api.command(f"/initiatives/{self.waiting['id']}/referral", "registrar", seed["referral"])  # due: past

    def finish(self) -> None:
        if self.waiting is not None:
            self.api.command(f"/initiatives/{self.waiting['id']}/withdrawal", "registrar",
                             {"reason": "Återkallad av förslagsställaren"})
            self.waiting = None


def letters_extras(api: Api, round_number: int) -> None:
    letter = api.command("/letters", "strategist", letters_seed("seed_000_letters")["letters"][0]["letter"])
    path = f"/letters/{letter['id']}"
    api.command(f"{path}/pause", "strategist", {"reason": "Negativt beslut från en medfinansiär", "on": "2025-01-20"})
    api.command(f"{path}/resumption", "strategist", {"reason": "Ny finansiering", "on": "2025-03-01"})
    api.command(f"{path}/renewal", "strategist", {"reason": "Förlängd", "on": "2026-03-01", "review_on": "2028-03-01"})
    api.command(f"{path}/termination", "strategist", {"reason": "Avslutad", "on": "2026-06-01"})
    checked(api.request("POST", "/files", "strategist", params={"filename": f"Delrapport {round_number}.txt"},
                        data=f"Delrapport, omgång {round_number}\n".encode(), headers={"Content-Type": "text/plain"}),
            "POST /files")
    mark_a_reminder_done(api)


def meetings_extras(api: Api, meeting: dict[str, Any]) -> None:
    seed = run_meeting_seed()
    body = checked(api.get(f"/bodies/{meeting['body_id']}", "secretary"), "GET /bodies/<id>")
    leaving = next(m for m in body["memberships"] if m["name"] == "Per Boström")
    api.command(f"/bodies/{body['id']}/members/{leaving['membership_id']}/end", "secretary", {"to_date": "2025-12-31"})
    later = api.command("/meetings", "secretary", {**seed["meeting"], "body_id": body["id"]})
    path = f"/meetings/{later['id']}"
    for title in ("Första", "Andra", "Tredje"):
        later = api.command(f"{path}/agenda", "secretary", {"title": title, "goal_area": "Samverkan"})
    ids = [item["item_id"] for item in later["agenda"]]
    api.command(f"{path}/agenda/order", "secretary", {"item_ids": [ids[2], ids[0], ids[1]]})
    api.command(f"{path}/agenda/{ids[0]}/withdrawal", "secretary", {"reason": "Utgår"})
    api.command(f"{path}/cancellation", "secretary", {"reason": "Inställt: för få ärenden"})
    mark_a_reminder_done(api)


def evaluations_extras(api: Api, round_number: int) -> None:
    api.command("/evaluations", "strategist", {"title": "Utvärdering av samverkan", "kind": "follow_up",
                                               "subject": {"kind": "case", "reference": "RUN 2025-0001"}})
    checked(api.request("POST", "/files", "strategist", params={"filename": f"Underlag {round_number}.txt"},
                        data=f"Underlag, omgång {round_number}\n".encode(), headers={"Content-Type": "text/plain"}),
            "POST /files")


def one_round(urls: dict[str, str], session: TimedSession, initiatives: InitiativesExtras, round_number: int) -> None:
    loaded = load_demo({name: urls[name] for name in ("initiatives", "letters_of_intent", "meetings", "evaluations")},
                       session=session)
    initiatives.round(loaded["initiative"], round_number)
    letters_extras(Api(urls["letters_of_intent"], session), round_number)
    meetings_extras(Api(urls["meetings"], session), loaded["meeting"])
    evaluations_extras(Api(urls["evaluations"], session), round_number)


# --- the table ------------------------------------------------------------------------------------

@dataclass
class Tally:
    routes: dict[str, list[Route]]
    seconds: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    refusals: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)

    def add(self, service: str, sample: Sample) -> None:
        route = route_of(self.routes[service], sample.method, urlsplit(sample.url).path)
        command = route.command if route else f"{sample.method} {urlsplit(sample.url).path} (no route)"
        if route is None:
            self.unmatched.append(f"{service} {command}")
        if sample.status >= 400:  # not timed; a failure only if the flow did not expect it (a round error then)
            self.refusals.append({"service": service, "command": command, "url": sample.url,
                                  "status": sample.status, "answer": sample.answer})
            return
        self.seconds.setdefault((service, command), []).append(sample.seconds)


def run(store: dict[str, Any], rounds: int) -> dict[str, Any]:
    with running(SERVICES, store, REMINDERS_ENABLED="true", DEVELOPMENT="true") as started:
        urls = {name: api.base_url for name, (api, _) in started.items()}
        tally = Tally({name: commands_of(url) for name, url in urls.items()})
        session = TimedSession()
        initiatives = InitiativesExtras(Api(urls["initiatives"], session))
        errors: list[str] = []
        began = time.perf_counter()
        for round_number in range(rounds):
            try:
                one_round(urls, session, initiatives, round_number)
            except Exception as error:  # noqa: BLE001 - a flow that fails is reported, the other rounds still run
                errors.append(f"round {round_number}: {type(error).__name__}: {str(error)[:500]}")
        try:
            initiatives.finish()
        except Exception as error:  # noqa: BLE001
            errors.append(f"the last withdrawal: {type(error).__name__}: {str(error)[:500]}")
        elapsed = time.perf_counter() - began
    for sample in session.samples:
        service = next(name for name, url in urls.items() if sample.url.startswith(url + "/"))
        tally.add(service, sample)
    services: dict[str, Any] = {}
    for name in SERVICES:
        commands = [{"command": command, "samples": len(seconds), **latency_figures(seconds)}
                    for (service, command), seconds in tally.seconds.items() if service == name]
        sent = {c["command"] for c in commands}
        services[name] = {"commands": sorted(commands, key=lambda c: c["command"]),
                          "not_exercised": sorted(r.command for r in tally.routes[name] if r.command not in sent)}
    return {"rounds": rounds, "seconds": round(elapsed, 1), "requests_timed": len(session.samples),
            "services": services, "refusals": tally.refusals, "round_errors": errors,
            "unmatched": sorted(set(tally.unmatched))}


STORE_TITLES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


def markdown(results: dict[str, Any], store_names: list[str]) -> list[str]:
    """The table for the README: service | command | p50 ms | p99 ms on each store (samples in brackets)."""
    stores = [name for name in store_names if name in results]
    header = "| service | command | " + " | ".join(
        f"{STORE_TITLES.get(n, n)} p50 ms | {STORE_TITLES.get(n, n)} p99 ms" for n in stores) + " |"
    lines = [header, "|" + " --- |" * (2 + 2 * len(stores))]
    figures = {n: {(s, c["command"]): c for s, v in results[n]["services"].items() for c in v["commands"]}
               for n in stores}
    rows = sorted({key for n in stores for key in figures[n]}, key=lambda k: (SERVICES.index(k[0]), k[1]))
    for service, command in rows:
        cells = []
        for n in stores:
            found = figures[n].get((service, command))
            cells += [f"{found['p50_ms']}", f"{found['p99_ms']} ({found['samples']})"] if found else ["—", "—"]
        lines.append(f"| {service} | `{command}` | " + " | ".join(cells) + " |")
    for n in stores:
        gaps = [f"{s}: " + ", ".join(f"`{c}`" for c in v["not_exercised"])
                for s, v in results[n]["services"].items() if v["not_exercised"]]
        lines.append("")
        lines.append(f"{STORE_TITLES.get(n, n)}: {results[n]['rounds']} rounds, {results[n]['requests_timed']} "
                     f"commands timed in {results[n]['seconds']} s; not exercised: " + ("; ".join(gaps) or "none"))
        refused: dict[str, int] = {}
        for refusal in results[n]["refusals"]:
            key = f"{refusal['service']} {refusal['command']} {refusal['status']}"
            refused[key] = refused.get(key, 0) + 1
        if refused:
            lines.append("  answered 400 or more (not timed; expected by the flows unless a round failed): "
                         + ", ".join(f"{key} x{count}" for key, count in sorted(refused.items())))
        for error in results[n]["round_errors"]:
            lines.append(f"  FAILED {error}")
        for unmatched in results[n]["unmatched"]:
            lines.append(f"  no route in the OpenAPI document: {unmatched}")
    return lines
