"""The services under load, run as operators run them (`nameko run`, config.yml), on one store.

- http          commands/s through each service's HTTP API (its usual "create" command), with
                one client and with eight concurrent clients, the five services running together;
                latency p50/p99; the service's RSS idle (just started) and its peak under the
                eight clients. First, one client of the initiatives service running alone (as the
                raw limits are measured: no other service indexing its events meanwhile).
- propagation   meetings → initiatives: agenda items added at a steady rate (100/s), each
                scheduling a prepared case in the initiatives service through RabbitMQ. Lag =
                the initiative's ScheduledForDecision timestamp − the meeting's ItemAdded
                timestamp (both taken by the services as they record the events): p50, p99, max.
- backlog       the initiatives service started after `backlog_events` agenda items were added while
                it was stopped: cases scheduled per second from the waiting inbox queue, one message
                at a time (INBOX_RUN=1) and in runs (the default), alternating rounds, medians.
- catch_up      a new subscriber reading a service's feed (GET /events, pages of 1000) from
                position 0 over 100,000 events (the catch-up docs/events.md describes), the
                service's relay held off so that only the read is measured.
- raw_http      the raw HTTP limit: bench/raw_http.py (nameko's own HTTP entrypoint, a constant
                small JSON answer, no store) under `nameko run`, loaded by the same client as the
                commands (the submission's body POSTed), one client and eight.
- knee          propagation as above at rising rates (50, 100, 200, 400, 800/s by default, a few
                seconds and fresh cases each, on the same running services), up to the first rate
                whose lag p99 passes one second (the knee) or whose achieved rate falls below 90%
                of the target (then the knee is above the highest rate sent in full).

Before a propagation is measured, the cases prepared for it have settled: the initiatives'
outbox has published every event and the meetings' inbox has applied every one it takes
(each referral), so the figures are those of the paced commands alone, not of a backlog
the preparation left.

The load comes from this process (threads), on the same two cores as the services.
"""
from __future__ import annotations

import json
import os
import queue
import statistics
import sys
import threading
import time
from contextlib import ExitStack, contextmanager
from datetime import datetime
from http.client import HTTPConnection
from pathlib import Path
from typing import Any, Callable, Iterator

from bench import cpu
from services.initiatives.demo import seed_000
from services.letters_of_intent.demo import seed as letters_seed
from services.meetings import demo as meetings_demo
from shared.audit import ServiceClient
from shared.topology import SUBSCRIPTIONS
from tests.support.infrastructure import local_infrastructure
from tests.support.services import TEST_TOKENS, Api, ServiceProcess, free_port, service_config

AMQP_URI = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
LOGS = Path(__file__).resolve().parent / "results" / "logs"
AUDITOR = "test-auditor"


def run_logs() -> Path:
    """A directory for the logs of the processes started now (kept: a failure can be read after)."""
    logs = LOGS / datetime.now().strftime("%Y%m%dT%H%M%S%f")
    logs.mkdir(parents=True, exist_ok=True)
    return logs


@contextmanager
def running(services: list[str], store: dict[str, Any], **overrides: Any) -> Iterator[dict[str, tuple[Api, ServiceProcess]]]:
    """The services on one store, each under `nameko run`; the audit service reads the others. Their
    inbox queues are emptied first: events an earlier run's services left there (durable queues of the
    same vhost; other stores, other positions) must not reach these."""
    local_infrastructure().purge_inboxes()
    logs = run_logs()
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
    """Each service's usual command under one client and under eight, the five services running
    together (the audit service indexing every event as it is published); first, one client of the
    initiatives service running alone, as the raw limits are measured."""
    with running(["initiatives"], store) as alone:
        alone_url = alone["initiatives"][0].base_url
        under_load(alone_url, submit_initiative, 1, 2)  # warm up
        initiatives_alone = under_load(alone_url, submit_initiative, 1, seconds)
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
            before = cpu.sample(pids_of(started))
            one = under_load(url, command, 1, seconds)
            # What one client's commands cost the machine (every service, PostgreSQL, RabbitMQ, the
            # client). The ceiling over one client's rate is what eight clients could gain here if a
            # command cost as much under them (under load some costs are shared: the relay's batches).
            one["cpu"] = cpu.budget(before, cpu.sample(pids_of(started)), one["commands"])
            with RssSampler({name: processes[name]}) as sampler:
                eight = under_load(url, command, 8, seconds)
            figures[name] = {"command": command.__name__ if hasattr(command, "__name__") else name,
                             "one_client": one, "eight_clients": eight,
                             "x_eight_over_one": round(eight["per_second"] / one["per_second"], 2),
                             "rss_idle_mib": idle[name], "rss_peak_under_load_mib": sampler.peak[name]}
        figures["initiatives"]["one_client_alone"] = initiatives_alone
        return figures


class RawHttpProcess(ServiceProcess):
    """bench/raw_http.py under `nameko run`, as the services run."""

    health_path = "/noop"

    def command(self) -> list[str]:
        nameko = os.path.join(os.path.dirname(sys.executable), "nameko")
        return [nameko, "run", "--config", "bench/raw_http.yml", "bench.raw_http"]


def raw_http(seconds: float) -> dict[str, Any]:
    """The raw HTTP limit: the submission's body POSTed to a handler that answers a constant, no store."""
    config = {"AMQP_URI": AMQP_URI, "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}"}
    process = RawHttpProcess(config, str(run_logs() / "raw_http.log"), "bench_raw_http").start()
    body = seed_000()["submission"]
    try:
        url = f"http://{config['WEB_SERVER_ADDRESS']}"
        one = under_load(url, lambda api: api.command("/noop", "case_officer", body), 1, seconds)
        eight = under_load(url, lambda api: api.command("/noop", "case_officer", body), 8, seconds)
    finally:
        process.stop()
    return {"one_client": one, "eight_clients": eight,
            "x_eight_over_one": round(eight["per_second"] / one["per_second"], 2)}


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
    failures: list[str] = []

    def client() -> None:
        api = Api(base_url)
        while True:
            with lock:
                if next(remaining, None) is None:
                    return
            try:
                prepare(api)
            except AssertionError as error:  # refused: said below, with what the service answered
                failures.append(str(error)[:300])
                return

    in_threads(client, clients)
    if len(numbers) != count:
        raise RuntimeError(f"prepared {len(numbers)} of {count} cases; first refusal: "
                           f"{failures[0] if failures else 'none'}")
    return numbers


def convened_meetings(api: Api, count: int) -> list[str]:
    post = lambda path, body: api.command(path, "secretary", body)  # noqa: E731
    body = meetings_demo.establish_body(post)
    return [meetings_demo.advance(meetings_demo.meeting_steps(post, body["id"], ""), "convocation")["id"]
            for _ in range(count)]


class LeanClient:
    """Commands over one kept-alive connection of Python's own http.client: the paced load's client.
    It shares the machine's two cores with what it measures, and `requests` (the tests' Api) spent
    1.5 ms of CPU on a request where this spends 0.35 ms (measured on GET /health)."""

    def __init__(self, base_url: str):
        host, _, port = base_url.removeprefix("http://").partition(":")
        self.connection = HTTPConnection(host, int(port), timeout=60)

    def command(self, path: str, role: str, body: Any) -> dict[str, Any]:
        """A command that must succeed (as Api.command); returns the answer's JSON."""
        self.connection.request("POST", path, body=json.dumps(body), headers={
            "Authorization": f"Bearer {TEST_TOKENS[role]['token']}", "Content-Type": "application/json"})
        response = self.connection.getresponse()
        content = response.read()
        assert response.status in (200, 201), f"{path}: {response.status} {content[:300]!r}"
        return json.loads(content)


def paced(base_url: str, jobs: list[Callable[[LeanClient], Any]], rate: float, workers: int = 8) -> dict[str, Any]:
    """Sends job i at start + i/rate (open loop: a slow answer does not slow the schedule, unless every
    worker is waiting for one), from `workers` threads, each with a LeanClient. achieved_per_second
    counts until the last answer; sent_per_second until the last command was sent (one interval after
    it), the rate the clients kept up."""
    due: queue.Queue[tuple[float, Callable[[LeanClient], Any]] | None] = queue.Queue()
    latencies: list[float] = []
    late: list[float] = []
    sent_at: list[float] = []
    failures: list[str] = []
    start = time.monotonic() + 0.5
    for index, job in enumerate(jobs):
        due.put((start + index / rate, job))
    for _ in range(workers):
        due.put(None)

    def worker() -> None:
        api = LeanClient(base_url)
        while (item := due.get()) is not None:
            at, job = item
            time.sleep(max(0.0, at - time.monotonic()))
            late.append(time.monotonic() - at)
            sent_at.append(time.monotonic())
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
            "sent_per_second": round(len(jobs) / (max(sent_at) - start + 1 / rate), 1),
            "command": latency_figures(latencies), "start_late_p99_ms": round(percentile(late, 0.99) * 1000, 1)}


CAUSE, EFFECT = "Meeting.ItemAdded", "Initiative.ScheduledForDecision"


class FeedFollower:
    """A service's feed read on from where it was last read: when each case's event of some types
    occurred, and the last position of every type seen."""

    def __init__(self, name: str, base_url: str, kept_types: tuple[str, ...]):
        self.client = ServiceClient(name, base_url, AUDITOR)
        self.kept_types = kept_types
        self.after = 0
        self.occurred: dict[str, dict[str, datetime]] = {kind: {} for kind in kept_types}
        self.last_position: dict[str, int] = {}

    def read(self) -> None:
        while True:
            page = self.client.get("/events", after=self.after, limit=1000)
            for event in page["events"]:
                self.last_position[event["type"]] = event["position"]
                if event["type"] in self.kept_types and event.get("diary_number"):
                    self.occurred[event["type"]][event["diary_number"]] = datetime.fromisoformat(event["occurred_at"])
            if page["last_position"] == self.after:
                return
            self.after = page["last_position"]


def health(api: Api) -> dict[str, Any]:
    return api.get("/health", None).json()


class Propagation:
    """meetings → initiatives on running services: cases prepared and settled, then an agenda item a
    case added at a steady rate, each scheduling its case in the initiatives service over RabbitMQ."""

    def __init__(self, initiatives: Api, meetings: Api, pids: dict[str, int] | None = None):
        self.initiatives, self.meetings = initiatives, meetings
        self.pids = pids or {}  # the services' processes, for the CPU budget (bench.cpu)
        self.causes = FeedFollower("meetings", meetings.base_url, (CAUSE,))
        self.effects = FeedFollower("initiatives", initiatives.base_url, (EFFECT,))
        self.item = meetings_demo.run_meeting_seed()["item"]

    def settle(self, timeout: float = 600.0) -> float:
        """Waits until the initiatives' outbox has published every event and the meetings' inbox has
        applied every one it takes; the seconds it took."""
        taken = SUBSCRIPTIONS["initiatives"]["meetings"]
        started = time.monotonic()
        while True:
            self.effects.read()
            wanted = max((self.effects.last_position.get(kind, 0) for kind in taken), default=0)
            unpublished = health(self.initiatives)["unpublished"]
            applied = health(self.meetings)["inboxes"]["initiatives"]["applied_position"]
            if unpublished == 0 and applied >= wanted:
                return round(time.monotonic() - started, 1)
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"not settled within {timeout:.0f} s: {unpublished} events unpublished, "
                                   f"the meetings' inbox at {applied} of {wanted}")
            time.sleep(0.2)

    def measure(self, rate: float, count: int, workers: int = 8, wait_s: float = 120.0,
                all_required: bool = True) -> dict[str, Any]:
        prepared_at = time.perf_counter()
        numbers = prepare_cases(self.initiatives.base_url, count)
        # A meeting is changed by one command at a time (two at once: one is refused 409, a concurrent
        # change): each command takes a meeting from this pool, at least one a client, and gives it back.
        free_meetings: queue.Queue[str] = queue.Queue()
        for meeting_id in convened_meetings(self.meetings, max(workers, count // 25)):
            free_meetings.put(meeting_id)
        preparation_s = round(time.perf_counter() - prepared_at, 1)
        settle_s = self.settle()
        item = self.item

        def add_to_agenda(diary_number: str) -> Callable[[LeanClient], Any]:
            def add(api: LeanClient) -> Any:
                meeting_id = free_meetings.get()
                try:
                    return api.command(f"/meetings/{meeting_id}/agenda", "secretary",
                                       {**item, "diary_number": diary_number})
                finally:
                    free_meetings.put(meeting_id)

            return add

        jobs = [add_to_agenda(number) for number in numbers]
        cpu_before = cpu.sample(self.pids)
        sent = paced(self.meetings.base_url, jobs, rate, workers)
        effects = self.effects.occurred[EFFECT]
        deadline = time.monotonic() + wait_s
        while True:
            self.effects.read()
            scheduled = sum(1 for number in numbers if number in effects)
            if scheduled == count:
                break
            if time.monotonic() > deadline:
                if all_required:
                    raise RuntimeError(f"only {scheduled} of {count} cases were scheduled within {wait_s:.0f} s")
                break
            time.sleep(0.5)
        spent = cpu.budget(cpu_before, cpu.sample(self.pids), scheduled)  # until the last effect was seen
        self.causes.read()
        causes = self.causes.occurred[CAUSE]
        lags = [(effects[number] - causes[number]).total_seconds() for number in numbers if number in effects]
        return {"cases": count, "preparation_s": preparation_s, "settle_s": settle_s, "sent": sent,
                "scheduled": scheduled, "lag": latency_figures(lags) if lags else None,
                "lag_mean_ms": round(statistics.mean(lags) * 1000, 1) if lags else None, "cpu": spent}


    def after_downtime(self, process: ServiceProcess, run_size: int, count: int) -> float:
        """`count` agenda items added while the initiatives service is stopped, then the service started
        with INBOX_RUN=`run_size`: the cases it scheduled per second from its backlog (first to last
        effect, so its start is not counted)."""
        numbers = prepare_cases(self.initiatives.base_url, count)
        meetings = convened_meetings(self.meetings, max(1, count // 25))
        self.settle()
        process.stop()
        for index, number in enumerate(numbers):
            self.meetings.command(f"/meetings/{meetings[index % len(meetings)]}/agenda", "secretary",
                                  {**self.item, "diary_number": number})
        process.config["INBOX_RUN"] = run_size
        process.start()
        effects = self.effects.occurred[EFFECT]
        deadline = time.monotonic() + 300
        while not all(number in effects for number in numbers):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the backlog of {count} was not applied within 300 s (INBOX_RUN={run_size})")
            time.sleep(0.5)
            self.effects.read()
        times = sorted(effects[number] for number in numbers)
        return round((count - 1) / max((times[-1] - times[0]).total_seconds(), 1e-3), 1)


def pids_of(started: dict[str, tuple[Api, ServiceProcess]]) -> dict[str, int]:
    return {name: process.process.pid for name, (_, process) in started.items() if process.process is not None}


def propagation(store: dict[str, Any], rate: float, seconds: float) -> dict[str, Any]:
    with running(["initiatives", "meetings"], store) as started:
        (initiatives, initiatives_process), (meetings, meetings_process) = started["initiatives"], started["meetings"]
        with RssSampler({"initiatives": initiatives_process, "meetings": meetings_process}) as sampler:
            measured = Propagation(initiatives, meetings, pids_of(started)).measure(rate, int(rate * seconds))
        return {**measured, "rss_peak_under_load_mib": sampler.peak}


KNEE_P99_MS = 1000.0
KNEE_ACHIEVED = 0.9


def knee(store: dict[str, Any], rates: list[float], seconds: float, workers: int = 8,
         wait_s: float = 60.0) -> dict[str, Any]:
    """Propagation at each rate in turn (fresh cases for each, `seconds` of commands), on the same
    running services, until lag p99 passes one second or the achieved rate falls below 90% of the
    target; a step whose cases are not all scheduled `wait_s` after the last command is past it too."""
    steps: list[dict[str, Any]] = []
    knee_rate: float | None = None
    stopped_by = f"every rate up to {rates[-1]:g}/s kept lag p99 <= {KNEE_P99_MS:.0f} ms"
    with running(["initiatives", "meetings"], store) as started:
        propagating = Propagation(started["initiatives"][0], started["meetings"][0], pids_of(started))
        for rate in rates:
            count = max(1, int(rate * seconds))
            measured = propagating.measure(rate, count, workers, wait_s, all_required=False)
            steps.append({"rate": rate, **measured})
            achieved = measured["sent"]["sent_per_second"]
            p99 = measured["lag"]["p99_ms"] if measured["lag"] else float("inf")
            if measured["scheduled"] < count:
                knee_rate = rate
                stopped_by = f"at {rate:g}/s only {measured['scheduled']} of {count} cases scheduled {wait_s:.0f} s after"
            elif p99 > KNEE_P99_MS:
                knee_rate = rate
                stopped_by = f"at {rate:g}/s lag p99 {p99:.0f} ms"
            elif achieved < KNEE_ACHIEVED * rate:
                stopped_by = (f"at {rate:g}/s only {achieved}/s sent by {workers} clients "
                              f"(command p50 {measured['sent']['command']['p50_ms']} ms); lag p99 {p99:.0f} ms")
                break
            if knee_rate is not None:
                break
    if knee_rate is not None:
        knee_text = f"{knee_rate:g}/s"
    else:
        passed = [s["rate"] for s in steps if s["sent"]["sent_per_second"] >= KNEE_ACHIEVED * s["rate"]]
        knee_text = f"above {max(passed):g}/s" if passed else f"none: {rates[0]:g}/s not sent"
    return {"seconds_per_rate": seconds, "workers": workers, "steps": steps, "knee_per_second": knee_rate,
            "knee": knee_text, "stopped_by": stopped_by}


def backlog(store: dict[str, Any], events: int, rounds: int = 2) -> dict[str, Any]:
    """The initiatives service back after a stop, `events` agenda items waiting in its inbox queue:
    the cases scheduled per second, its inbox taking one message at a time (INBOX_RUN=1) and in runs
    (the default), in alternating rounds on the same services (the machine's drift hits both)."""
    from shared.inbox import DEFAULT_RUN

    per_second: dict[int, list[float]] = {1: [], DEFAULT_RUN: []}
    with running(["initiatives", "meetings"], store) as started:
        (initiatives, process), (meetings, _) = started["initiatives"], started["meetings"]
        propagating = Propagation(initiatives, meetings)
        for _ in range(rounds):
            for run_size, rates in per_second.items():
                rates.append(propagating.after_downtime(process, run_size, events))
    one_at_a_time, in_runs = (round(statistics.median(per_second[size]), 1) for size in (1, DEFAULT_RUN))
    return {"events": events, "rounds": rounds, "run_size": DEFAULT_RUN, "one_at_a_time_per_second": one_at_a_time,
            "in_runs_per_second": in_runs, "runs_over_one_at_a_time": round(in_runs / one_at_a_time, 2),
            "each_round": {str(size): rates for size, rates in per_second.items()}}


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
