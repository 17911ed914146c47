"""RabbitMQ's own limits on this machine: the baselines of the relay's and the inbox's figures.

- publish_confirmed  one message at a time, persistent, to a durable queue, each
                     publish waiting for the broker's confirm: what the outbox relay does.
- consume_prefetch_1 manual ack, one unacknowledged message at a time: what an inbox does
                     (single active consumer, prefetch 1, so events apply in order).
- consume_prefetch_500  the same with a window of 500: the broker's consume limit.
- latency_at_100_per_s  confirmed publish → consumed, one message every 10 ms: the broker's
                     own share of a cross-service event's journey (p50, p99).

Messages are the size of a typical envelope (~1 KB of JSON).

    python -m bench.broker [--messages 20000]
"""
from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from typing import Any

from kombu import Connection, Consumer, Exchange, Producer, Queue

AMQP_URI = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
PAYLOAD = {"envelope_version": 1, "type": "Bench.Measured", "payload": {"text": "x" * 800}}


def publish_confirmed(queue: Queue, messages: int) -> float:
    """Seconds to publish `messages`, each confirmed before the next."""
    with Connection(AMQP_URI, transport_options={"confirm_publish": True}) as connection:
        producer = Producer(connection.channel(), exchange=queue.exchange, routing_key=queue.routing_key)
        queue(producer.channel).declare()
        body = json.dumps(PAYLOAD)
        started = time.perf_counter()
        for position in range(messages):
            producer.publish(body, content_type="application/json", delivery_mode=2,
                             headers={"position": position})
        return time.perf_counter() - started


def consume(queue: Queue, messages: int, prefetch: int) -> float:
    """Seconds to take `messages` off the queue with manual acks and this window."""
    taken = 0

    def on_message(body: Any, message: Any) -> None:
        nonlocal taken
        message.ack()
        taken += 1

    with Connection(AMQP_URI) as connection:
        channel = connection.channel()
        with Consumer(channel, queues=[queue], callbacks=[on_message], accept=["json"], prefetch_count=prefetch):
            started = time.perf_counter()
            while taken < messages:
                connection.drain_events(timeout=30)
            return time.perf_counter() - started


def latency_at_rate(queue: Queue, rate: float, seconds: float) -> dict[str, float]:
    """Publish (confirmed) at a steady rate while another connection consumes; each message's
    time from just before its publish to its arrival."""
    import threading

    count = int(rate * seconds)
    arrived: list[float] = []
    ready = threading.Event()

    def consumer() -> None:
        with Connection(AMQP_URI) as connection:
            def on_message(body: Any, message: Any) -> None:
                arrived.append(time.perf_counter() - message.headers["sent"])
                message.ack()

            with Consumer(connection.channel(), queues=[queue], callbacks=[on_message], accept=["json"],
                          prefetch_count=1):
                ready.set()
                while len(arrived) < count:
                    connection.drain_events(timeout=30)

    thread = threading.Thread(target=consumer)
    thread.start()
    ready.wait(10)
    with Connection(AMQP_URI, transport_options={"confirm_publish": True}) as connection:
        producer = Producer(connection.channel(), exchange=queue.exchange, routing_key=queue.routing_key)
        body = json.dumps(PAYLOAD)
        start = time.perf_counter()
        for index in range(count):
            time.sleep(max(0.0, start + index / rate - time.perf_counter()))
            producer.publish(body, content_type="application/json", delivery_mode=2,
                             headers={"sent": time.perf_counter()})
    thread.join()
    ordered = sorted(arrived)
    return {"messages": count, "p50_ms": round(ordered[len(ordered) // 2] * 1000, 2),
            "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))] * 1000, 2)}


def run(messages: int = 20_000) -> dict[str, Any]:
    exchange = Exchange(f"bench.{uuid.uuid4().hex[:8]}", type="direct", durable=False, auto_delete=True)
    queue = Queue(f"bench.{uuid.uuid4().hex[:8]}", exchange=exchange, routing_key="bench", durable=True)
    figures: dict[str, Any] = {"messages": messages}
    try:
        for name, measure in (
            ("publish_confirmed", lambda: publish_confirmed(queue, messages)),
            ("consume_prefetch_1", lambda: consume(queue, messages, prefetch=1)),
            ("publish_confirmed_again", lambda: publish_confirmed(queue, messages)),
            ("consume_prefetch_500", lambda: consume(queue, messages, prefetch=500)),
        ):
            seconds = measure()
            figures[name] = {"seconds": round(seconds, 3), "per_second": round(messages / seconds)}
        figures["latency_at_100_per_s"] = latency_at_rate(queue, 100, 5)
    finally:
        with Connection(AMQP_URI) as connection:
            queue(connection.channel()).delete()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000)
    arguments = parser.parse_args()
    print(json.dumps(run(arguments.messages), indent=2))


if __name__ == "__main__":
    main()
