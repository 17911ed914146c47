"""Fault injection (`make test-faults`): the four services under a steady load of commands that
cross services, while each is killed with SIGKILL and restarted, RabbitMQ is restarted and
PostgreSQL is stopped for a few seconds.

Afterwards: every command acknowledged to a client is in its store; every event took effect
in its consumer exactly once (no incidents, one effect per cause); nothing is stuck (every
outbox published, no inbox failing). During the PostgreSQL outage commands get 503
problem+json, never 500, and the services recover without a restart.
"""
from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from contextlib import ExitStack
from typing import Any, Callable, Iterator

import pytest
import requests

from services.initiatives.demo import seed_000
from services.letters_of_intent.demo import seed as letters_seed
from services.meetings import demo as meetings_demo
from tests.support.infrastructure import Infrastructure
from tests.support.meetings import eventually
from tests.support.services import Api, ServiceProcess, api_for, service_config

SERVICES = ["initiatives", "meetings", "letters_of_intent", "evaluations"]
CASES = 240  # prepared before the faults; the load schedules them a few per second


class Load(threading.Thread):
    """Repeats a command until stopped; keeps what was acknowledged and every answer's status."""

    def __init__(self, name: str, api: Api, command: Callable[[Api], Any], pause: float):
        super().__init__(name=name, daemon=True)
        self.api, self.command, self.pause = api, command, pause
        self.acknowledged: list[Any] = []
        self.statuses: Counter[Any] = Counter()
        self.problems: list[str] = []  # 5xx other than 503, or a 503 that is not problem+json
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                result = self.command(self.api)
            except requests.RequestException as error:  # the service is down: not acknowledged
                self.statuses[type(error).__name__] += 1
            except Unacknowledged as refused:
                response = refused.response
                self.statuses[response.status_code] += 1
                problem_json = response.headers.get("Content-Type") == "application/problem+json"
                if response.status_code >= 500 and (response.status_code != 503 or not problem_json):
                    self.problems.append(f"{response.status_code} {response.text[:300]}")
            except StopIteration:
                return
            else:
                self.statuses[200] += 1
                self.acknowledged.append(result)
            self.stopping.wait(self.pause)


class Unacknowledged(Exception):
    def __init__(self, response: requests.Response):
        super().__init__(f"{response.status_code}: {response.text[:300]}")
        self.response = response


def post(api: Api, path: str, role: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(path, role, body, timeout=10)
    if response.status_code not in (200, 201):
        raise Unacknowledged(response)
    return response.json()


@pytest.fixture
def services(infrastructure: Infrastructure, tmp_path: Any) -> Iterator[dict[str, ServiceProcess]]:
    if infrastructure.postgres_stop is None:
        pytest.fail("this infrastructure cannot stop PostgreSQL")
    infrastructure.purge_inboxes()
    with ExitStack() as stack:
        schema = stack.enter_context(infrastructure.fresh_schema())
        processes = {}
        for name in SERVICES:
            config = service_config(infrastructure.amqp_uri, infrastructure.postgres_config(schema),
                                    POSTGRES_CONNECT_TIMEOUT=2)
            processes[name] = ServiceProcess(config, str(tmp_path / f"{name}.log"), name).start()
            stack.callback(processes[name].stop)
        yield processes


def prepare_cases(api: Api, count: int) -> list[str]:
    seed = seed_000()
    numbers = []
    for _ in range(count):
        case = api.command("/initiatives", "case_officer", seed["submission"])
        for step, path, role in (("registration", "register", "registrar"), ("referral", "referral", "registrar"),
                                 ("answer", "answer", "case_officer")):
            case = api.command(f"/initiatives/{case['id']}/{path}", role, seed[step])
        numbers.append(case["diary_number"])
    return numbers


def test_nothing_acknowledged_is_lost_and_every_effect_happens_once(
    services: dict[str, ServiceProcess], infrastructure: Infrastructure
) -> None:
    apis = {name: api_for(process.config) for name, process in services.items()}
    cases = iter(prepare_cases(apis["initiatives"], CASES))
    secretary = lambda path, body: apis["meetings"].command(path, "secretary", body)  # noqa: E731
    body = meetings_demo.establish_body(secretary)
    meetings = [meetings_demo.advance(meetings_demo.meeting_steps(secretary, body["id"], ""), "convocation")["id"]
                for _ in range(8)]
    item = meetings_demo.run_meeting_seed()["item"]
    agreement = letters_seed("seed_001_agreement")["agreement"]
    turns = itertools.count()

    def add_to_agenda(api: Api) -> tuple[str, str]:
        number = next(cases)
        meeting_id = meetings[next(turns) % len(meetings)]
        post(api, f"/meetings/{meeting_id}/agenda", "secretary", {**item, "diary_number": number})
        return meeting_id, number

    def agreement_with_a_due_review(api: Api) -> tuple[str, str]:
        drafted = post(api, "/agreements", "strategist", agreement)
        reviewed = post(api, f"/agreements/{drafted['id']}/reviews", "strategist",
                        {"kind": "relevance", "title": "Aktualitetsprövning", "due_on": "2024-09-30"})
        return drafted["id"], reviewed["reviews"][0]["review_id"]

    loads = [Load("agenda", Api(apis["meetings"].base_url), add_to_agenda, 0.25),
             Load("agreements", Api(apis["letters_of_intent"].base_url), agreement_with_a_due_review, 0.5)]
    for load in loads:
        load.start()
    outage_answers: list[requests.Response] = []
    try:
        for name in SERVICES:
            time.sleep(2)
            services[name].kill()
            time.sleep(2)
            services[name].start()
        time.sleep(2)
        infrastructure.broker_stop()
        time.sleep(4)
        infrastructure.broker_start()
        time.sleep(2)
        infrastructure.postgres_stop()
        try:
            for _ in range(3):
                time.sleep(1)
                outage_answers.append(apis["meetings"].post("/bodies", "secretary",
                                                            meetings_demo.run_meeting_seed()["body"], timeout=10))
        finally:
            infrastructure.postgres_start()
        eventually(lambda: apis["meetings"].post("/bodies", "secretary", meetings_demo.run_meeting_seed()["body"]),
                   lambda response: response.status_code == 201, timeout=60)  # recovered, no restart
        time.sleep(3)
    finally:
        for load in loads:
            load.stopping.set()
        for load in loads:
            load.join(timeout=30)

    assert [r.status_code for r in outage_answers] == [503] * len(outage_answers)
    assert all(r.headers["Content-Type"] == "application/problem+json" for r in outage_answers)
    for load in loads:
        assert load.problems == [], f"{load.name}: {load.problems[:3]}"
        assert load.statuses[200] > 10, f"{load.name}: {load.statuses}"
    agenda, reviews = loads[0].acknowledged, loads[1].acknowledged
    for load in loads:
        print(f"{load.name}: {len(load.acknowledged)} acknowledged; answers {dict(load.statuses)}")

    # nothing stuck: every outbox published, no inbox failing
    def settled() -> dict[str, Any]:
        return {name: api.get("/health", None).json() for name, api in apis.items()}

    # (a service still reconnecting to PostgreSQL answers /health 503 problem+json: not settled yet, read again)
    eventually(settled, lambda health: all(h.get("unpublished") == 0 and h.get("status") == "ok"
                                           for h in health.values()),
               timeout=120)

    # every acknowledged agenda item is on its meeting; every item on any meeting scheduled its case exactly once
    on_agendas = {}
    for meeting_id in meetings:
        for entry in apis["meetings"].get(f"/meetings/{meeting_id}").json()["agenda"]:
            on_agendas[entry["diary_number"]] = meeting_id
    assert {(number, meeting_id) for meeting_id, number in agenda} <= set(on_agendas.items())

    case_ids = {case["diary_number"]: case["id"]
                for case in apis["initiatives"].every("/initiatives", "initiatives")}

    def scheduling_of_every_case() -> dict[str, list[str]]:
        found = {}
        for number in on_agendas:
            events = apis["initiatives"].get(f"/initiatives/{case_ids[number]}/history").json()["events"]
            found[number] = [e["payload"]["meeting_id"] for e in events if e["type"] == "Initiative.ScheduledForDecision"]
        return found

    scheduling = eventually(scheduling_of_every_case, lambda found: all(found.values()), timeout=60)
    assert {number: found for number, found in scheduling.items() if found != [on_agendas[number]]} == {}

    # every acknowledged review is stored; every review that fell due planned exactly one evaluation
    stored_reviews = {review["review_id"]: agreement_["id"]
                      for agreement_ in apis["letters_of_intent"].every("/agreements", "agreements")
                      for review in agreement_["reviews"]}
    assert {review_id for _, review_id in reviews} <= set(stored_reviews)
    planned = eventually(lambda: Counter(e["review_id"] for e in apis["evaluations"].every("/evaluations", "evaluations")),
                         lambda found: set(found) >= set(stored_reviews), timeout=60)
    assert {review_id: count for review_id, count in planned.items() if count != 1} == {}

    # no event was refused or applied out of order
    assert apis["initiatives"].get("/incidents").json()["incidents"] == []
    assert apis["evaluations"].get("/incidents").json()["incidents"] == []
