"""Readiness and metrics parts that need no broker or store: the stuck-outbox rule, the readiness
verdicts, the labels of HTTP and store metrics."""
from __future__ import annotations

from functools import partial
from typing import Any, Callable

from prometheus_client.parser import text_string_to_metric_families

from shared.telemetry import OutboxWatch, Telemetry, operation_name, outbox_check


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    def __init__(self) -> None:
        self.head, self.published = 0, 0

    def max_notification_id(self) -> int:
        return self.head

    def max_tracking_id(self, name: str) -> int:
        return self.published


class App:
    def __init__(self) -> None:
        self.recorder = Recorder()


class Gate:
    @staticmethod
    def call_within(seconds: float, function: Callable[..., Any], *args: Any) -> Any:
        return function(*args)


def test_the_outbox_is_stuck_only_when_events_wait_and_the_published_position_stands_past_the_limit() -> None:
    clock, app = Clock(), App()
    leading = [True]
    check = outbox_check(app, Gate(), OutboxWatch(clock), stalled_after=60, leads=lambda: leading[0])
    app.recorder.head = 10
    assert check() is None  # first seen now
    clock.now += 61
    assert check() == "10 events unpublished; the published position (0) has not moved for 61 s"
    leading[0] = False  # an instance standing by stays ready: the leader answers for the outbox
    assert check() is None
    leading[0] = True
    app.recorder.published = 4  # it moved: the clock starts again
    assert check() is None
    clock.now += 59
    assert check() is None
    clock.now += 2
    assert check() is not None
    app.recorder.published = 10  # nothing waits: never stuck, however long it stands
    assert check() is None
    clock.now += 600
    assert check() is None


def test_readiness_names_every_failing_check_and_every_connection_down() -> None:
    telemetry = Telemetry()
    telemetry.add_check("store", lambda: None)
    telemetry.add_check("outbox", lambda: "3 events unpublished")
    telemetry.add_check("broken", partial(int, "x"))  # a check that raises is an answer
    telemetry.watch_connection("outbox", lambda: False)
    telemetry.watch_connection("inbox:meetings", lambda: True)
    assert telemetry.readiness() == {
        "store": "ok", "outbox": "3 events unpublished",
        "broken": "did not answer (ValueError)",  # its text (hosts, users) only in the log
        "broker": "not connected to RabbitMQ: outbox",
    }
    assert telemetry.broker() == {"connected": False, "connections": {"outbox": False, "inbox:meetings": True}}


def test_http_metrics_are_labelled_by_rule_and_methods_outside_http_are_one_label() -> None:
    telemetry = Telemetry()
    telemetry.observe_request("/initiatives/<uuid:initiative_id>", "get", 404, 0.01)
    telemetry.observe_request("<unmatched>", "BREW", 405, 0.001)
    telemetry.observe_store_call(operation_name(partial(sorted, [])), 0.002)
    body, content_type = telemetry.exposition(None)
    assert content_type.startswith("text/plain")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(body.decode()) for s in family.samples}
    assert samples[("http_requests_total", (("method", "GET"), ("route", "/initiatives/<uuid:initiative_id>"),
                                            ("status", "404")))] == 1
    assert samples[("http_requests_total", (("method", "OTHER"), ("route", "<unmatched>"), ("status", "405")))] == 1
    assert samples[("store_call_duration_seconds_count", (("operation", "sorted"),))] == 1
    assert not any(name.endswith("_created") for name, _ in samples)
    openmetrics, content_type = telemetry.exposition("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text") and openmetrics.endswith(b"# EOF\n")


def test_each_container_has_its_own_registry() -> None:
    first, second = Telemetry(), Telemetry()
    first.observe_request("/health", "GET", 200, 0.001)
    assert b"/health" not in second.exposition(None)[0]
