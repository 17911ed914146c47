"""The services under load, run as operators run them (`nameko run`, config.yml), on one store.

- http          commands/s through each service's HTTP API (its usual "create" command), with
                one client and with eight concurrent clients; latency p50/p99; the service's
                RSS idle (just started) and its peak under the eight clients.
- propagation   meetings → initiatives: agenda items added at a steady rate (100/s), each
                scheduling a prepared case in the initiatives service through RabbitMQ. Lag =
                the initiative's ScheduledForDecision timestamp − the meeting's ItemAdded
                timestamp (both taken by the services as they record the events): p50, p99, max.
- catch_up      a new subscriber reading a service's feed (GET /events, pages of 1000) from
                position 0 over 100,000 events (the catch-up docs/events.md describes), the
                service's relay held off so that only the read is measured.

The load comes from this process (threads), on the same two cores as the services.
"""
from __future__ import annotations

import os
import queue
import statistics
import threading
import time
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator

from services.initiatives.demo import seed_000
from services.letters_of_intent.demo import seed as letters_seed
from services.meetings import demo as meetings_demo
from shared.audit import ServiceClient
from tests.support.services import Api, ServiceProcess, service_config

AMQP_URI = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
LOGS = Path(__file__).resolve().parent / "results" / "logs"
AUDITOR = "test-auditor"


@contextmanager
def running(services: list[str], store: dict[str, Any], **overrides: Any) -> Iterator[dict[str, tuple[Api, ServiceProcess]]]:
    """The services on one store, each under `nameko run`; the audit service reads the others."""
    logs = LOGS / datetime.now().strftime("%Y%m%dT%H%M%S%f")  # kept: a failure can be read after
    logs.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        started: dict[str, tuple[Api, ServiceProcess]] = {}
        for service in services:
            config = service_config(AMQP_URI, store, **overrides)
            if service == "audit":
                config.update(AUDIT_TOKEN=AUDITOR, AUDIT_SOURCES={
                    name: api.base_url for name, (api, _) in started.items()})
            process = ServiceProcess(config, os.path.join(logs, f"{service}.log"), service).start()
            stack.callback(process.stop)
            started[service] = (Api(f"http://{config['WEB_SERVER_ADDRESS']}"), process)
        yield started


def rss_mib(process: ServiceProcess) -> float:
    assert process.process is not None
    with open(f"/proc/{process.process.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS")


class RssSampler:
    """The peak RSS of some processes while a block runs (sampled every 0.2 s)."""

    def __init__(self, processes: dict[str, ServiceProcess]):
        self.processes = processes
        self.peak = {name: 0.0 for name in processes}
        self._stop = threading.Event()

    def __enter__(self) -> "RssSampler":
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            for name, process in self.processes.items():
                self.peak[name] = max(self.peak[name], rss_mib(process))
            self._stop.wait(0.2)


def in_threads(target: Callable[[], None], count: int) -> None:
    """Runs `target` in `count` threads at once, until every one returns."""
    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def latency_figures(latencies_s: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(latencies_s, 0.50) * 1000, 1),
            "p99_ms": round(percentile(latencies_s, 0.99) * 1000, 1),
            "max_ms": round(max(latencies_s) * 1000, 1)}


def under_load(base_url: str, command: Callable[[Api], Any], clients: int, seconds: float) -> dict[str, Any]:
    """`clients` threads repeating `command` for `seconds`; every command must succeed."""
    latencies: list[float] = []
    failures: list[str] = []
    deadline = time.monotonic() + seconds

    def client() -> None:
        api = Api(base_url)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                command(api)
            except AssertionError as error:
                failures.append(str(error)[:200])
                return
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    in_threads(client, clients)
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} commands failed under load; first: {failures[0]}")
    return {"clients": clients, "commands": len(latencies), "per_second": round(len(latencies) / elapsed, 1),
            **latency_figures(latencies)}


# --- each service's usual command, and what it needs first ------------------------------------

def submit_initiative(api: Api) -> Any:
    return api.command("/initiatives", "case_officer", seed_000()["submission"])


def establish_body(api: Api) -> Any:
    return api.command("/bodies", "secretary", meetings_demo.run_meeting_seed()["body"])


def sign_letter(api: Api) -> Any:
    return api.command("/letters", "strategist", letters_seed("seed_000_letters")["letters"][0]["letter"])


def plan_evaluation(api: Api) -> Any:
    return api.command("/evaluations", "strategist", {
        "title": "Utvärdering av samverkan", "kind": "follow_up",
        "subject": {"kind": "case", "reference": "RUN 2025-0001"}})


def read_timeline(diary_number: str) -> Callable[[Api], Any]:
    def read(api: Api) -> Any:
        response = api.get(f"/cases/{diary_number}/timeline", "auditor")
        assert response.status_code == 200, response.text
        return response

    return read


def http(store: dict[str, Any], seconds: float) -> dict[str, Any]:
    services = ["initiatives", "letters_of_intent", "meetings", "evaluations", "audit"]
    with running(services, store) as started:
        processes = {name: process for name, (_, process) in started.items()}
        idle = {name: rss_mib(process) for name, process in processes.items()}
        initiatives = started["initiatives"][0]
        case = initiatives.command(f"/initiatives/{submit_initiative(initiatives)['id']}/register", "registrar",
                                   seed_000()["registration"])
        commands = {"initiatives": submit_initiative, "letters_of_intent": sign_letter,
                    "meetings": establish_body, "evaluations": plan_evaluation,
                    "audit": read_timeline(case["diary_number"])}
        figures = {}
        for name, command in commands.items():
            url = started[name][0].base_url
            one = under_load(url, command, 1, seconds)
            with RssSampler({name: processes[name]}) as sampler:
                eight = under_load(url, command, 8, seconds)
            figures[name] = {"command": command.__name__ if hasattr(command, "__name__") else name,
                             "one_client": one, "eight_clients": eight,
                             "x_eight_over_one": round(eight["per_second"] / one["per_second"], 2),
                             "rss_idle_mib": idle[name], "rss_peak_under_load_mib": sampler.peak[name]}
        return figures


# --- propagation ------------------------------------------------------------------------------

def prepare_cases(base_url: str, count: int, clients: int = 8) -> list[str]:
    """`count` cases answered and ready to be scheduled; their diary numbers."""
    numbers: list[str] = []
    lock = threading.Lock()
    seed = seed_000()

    def prepare(api: Api) -> None:
        case = submit_initiative(api)
        for step, path, role in (("registration", "register", "registrar"), ("referral", "referral", "registrar"),
                                 ("answer", "answer", "case_officer")):
            case = api.command(f"/initiatives/{case['id']}/{path}", role, seed[step])
        with lock:
            numbers.append(case["diary_number"])

    remaining = iter(range(count))

    def client() -> None:
        api = Api(base_url)
        while True:
            with lock:
                if next(remaining, None) is None:
                    return
            prepare(api)

    in_threads(client, clients)
    if len(numbers) != count:
        raise RuntimeError(f"prepared {len(numbers)} of {count} cases")
    return numbers


def convened_meetings(api: Api, count: int) -> list[str]:
    post = lambda path, body: api.command(path, "secretary", body)  # noqa: E731
    body = meetings_demo.establish_body(post)
    return [meetings_demo.advance(meetings_demo.meeting_steps(post, body["id"], ""), "convocation")["id"]
            for _ in range(count)]


def paced(base_url: str, jobs: list[Callable[[Api], Any]], rate: float, workers: int = 8) -> dict[str, Any]:
    """Sends job i at start + i/rate (open loop: a slow answer does not slow the schedule)."""
    due: queue.Queue[tuple[float, Callable[[Api], Any]] | None] = queue.Queue()
    latencies: list[float] = []
    late: list[float] = []
    failures: list[str] = []
    start = time.monotonic() + 0.5
    for index, job in enumerate(jobs):
        due.put((start + index / rate, job))
    for _ in range(workers):
        due.put(None)

    def worker() -> None:
        api = Api(base_url)
        while (item := due.get()) is not None:
            at, job = item
            time.sleep(max(0.0, at - time.monotonic()))
            late.append(time.monotonic() - at)
            sent = time.perf_counter()
            try:
                job(api)
            except AssertionError as error:
                failures.append(str(error)[:200])
            latencies.append(time.perf_counter() - sent)

    in_threads(worker, workers)
    elapsed = time.monotonic() - start
    if failures:
        raise RuntimeError(f"{len(failures)} paced commands failed; first: {failures[0]}")
    return {"commands": len(jobs), "target_per_second": rate, "achieved_per_second": round(len(jobs) / elapsed, 1),
            "command": latency_figures(latencies), "start_late_p99_ms": round(percentile(late, 0.99) * 1000, 1)}


def events_by_case(client: ServiceClient, event_type: str) -> dict[str, datetime]:
    return {e["diary_number"]: datetime.fromisoformat(e["occurred_at"])
            for e in client.feed() if e["type"] == event_type}


def propagation(store: dict[str, Any], rate: float, seconds: float) -> dict[str, Any]:
    count = int(rate * seconds)
    with running(["initiatives", "meetings"], store) as started:
        (initiatives, initiatives_process), (meetings, meetings_process) = started["initiatives"], started["meetings"]
        prepared_at = time.perf_counter()
        numbers = prepare_cases(initiatives.base_url, count)
        meeting_ids = convened_meetings(meetings, max(1, count // 25))
        preparation_s = time.perf_counter() - prepared_at
        item = meetings_demo.run_meeting_seed()["item"]

        def add_to_agenda(meeting_id: str, diary_number: str) -> Callable[[Api], Any]:
            return lambda api: api.command(f"/meetings/{meeting_id}/agenda", "secretary",
                                           {**item, "diary_number": diary_number})

        jobs = [add_to_agenda(meeting_ids[i % len(meeting_ids)], number) for i, number in enumerate(numbers)]
        processes = {"initiatives": initiatives_process, "meetings": meetings_process}
        with RssSampler(processes) as sampler:
            sent = paced(meetings.base_url, jobs, rate)
            initiatives_feed = ServiceClient("initiatives", initiatives.base_url, AUDITOR)
            deadline = time.monotonic() + 120
            while len(effects := events_by_case(initiatives_feed, "Initiative.ScheduledForDecision")) < count:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"only {len(effects)} of {count} cases were scheduled within 120 s")
                time.sleep(0.5)
        causes = events_by_case(ServiceClient("meetings", meetings.base_url, AUDITOR), "Meeting.ItemAdded")
        lags = [(effects[number] - causes[number]).total_seconds() for number in numbers]
        return {"cases": count, "preparation_s": round(preparation_s, 1), "sent": sent,
                "lag": latency_figures(lags), "lag_mean_ms": round(statistics.mean(lags) * 1000, 1),
                "rss_peak_under_load_mib": sampler.peak}


# --- catch-up ---------------------------------------------------------------------------------

def write_letters(store: dict[str, Any], events: int, per_letter: int = 500) -> float:
    """`events` events of letters of intent (signed, then followed up) straight into the store; seconds."""
    from bench.replay import letter_events
    from services.letters_of_intent.application import LettersOfIntentApplication
    from shared.store import persistence_env

    app = LettersOfIntentApplication(env=persistence_env(store, "letters_of_intent"))
    started = time.perf_counter()
    try:
        for _ in range(events // per_letter):
            for batch in letter_events(per_letter):
                app.save(*batch)
    finally:
        app.close()
    return time.perf_counter() - started


def catch_up(store: dict[str, Any], events: int) -> dict[str, Any]:
    written_s = write_letters(store, events)
    with running(["letters_of_intent"], store, OUTBOX_RELAY_ENABLED=False) as started:
        api, process = started["letters_of_intent"]
        with RssSampler({"letters_of_intent": process}) as sampler:
            reading = time.perf_counter()
            read = sum(1 for _ in ServiceClient("letters_of_intent", api.base_url, AUDITOR).feed())
            read_s = time.perf_counter() - reading
    if read != events:
        raise RuntimeError(f"the feed gave {read} of {events} events")
    return {"events": events, "write_s": round(written_s, 1),
            "feed_read": {"seconds": round(read_s, 2), "per_second": round(events / read_s)},
            "rss_peak_serving_feed_mib": sampler.peak["letters_of_intent"]}
