"""Two instances of one service on one PostgreSQL database, both running the outbox relay: one
leads and publishes, the other stands by. Under a steady load on both, the leader is killed with
SIGKILL; the other takes the lead within seconds and publishes everything, in order per
aggregate, duplicates only as docs/events.md allows (the same event_id at the same position).
A leader that can no longer reach RabbitMQ hands the lead over (OUTBOX_HANDOVER_SECONDS).
"""
from __future__ import annotations

import time
from collections import defaultdict
from contextlib import ExitStack
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest

from services.initiatives.demo import seed_000
from tests.faults.test_faults import Load, post
from tests.support.infrastructure import Infrastructure
from tests.support.meetings import eventually
from tests.support.proxy import Proxy
from tests.support.services import Api, ServiceProcess, api_for, service_config
from tests.support.subscriber import EventSubscriber

TAKEOVER_SECONDS = 15  # the standing-by instance retries the lock every second


@pytest.fixture
def two_instances(infrastructure: Infrastructure, tmp_path: Any) -> Iterator[list[ServiceProcess]]:
    infrastructure.purge_inboxes()
    with ExitStack() as stack:
        schema = stack.enter_context(infrastructure.fresh_schema())
        instances = []
        for number in (1, 2):
            config = service_config(infrastructure.amqp_uri, infrastructure.postgres_config(schema))
            instance = ServiceProcess(config, str(tmp_path / f"initiatives-{number}.log")).start()
            stack.callback(instance.stop)
            instances.append(instance)
        yield instances


def relay_role(instance: ServiceProcess) -> str:
    return api_for(instance.config).get("/health").json()["outbox_relay"]


def submit_and_register(api: Api) -> str:
    case = post(api, "/initiatives", "case_officer", seed_000()["submission"])
    post(api, f"/initiatives/{case['id']}/register", "registrar", {})
    return case["id"]


def test_when_the_leading_relay_is_killed_the_other_instance_publishes_everything(
        two_instances: list[ServiceProcess], infrastructure: Infrastructure) -> None:
    subscriber = EventSubscriber(infrastructure.amqp_uri, "initiatives").declare()
    try:
        eventually(lambda: sorted(relay_role(i) for i in two_instances),
                   lambda roles: roles == ["leading", "standing by"], timeout=20)
        leader, follower = sorted(two_instances, key=lambda i: relay_role(i) != "leading")
        loads = [Load(f"load-{n}", api_for(i.config), submit_and_register, pause=0.05)
                 for n, i in enumerate((leader, follower))]
        for load in loads:
            load.start()
        time.sleep(3)
        leader.kill()
        killed_at = time.monotonic()
        eventually(lambda: relay_role(follower), lambda role: role == "leading", timeout=TAKEOVER_SECONDS)
        after_kill = submit_and_register(api_for(follower.config))
        subscriber.collect([after_kill], 2, timeout=TAKEOVER_SECONDS)
        took_over_in = time.monotonic() - killed_at
        time.sleep(2)
        for load in loads:
            load.stopping.set()
            load.join(timeout=30)

        acknowledged = [case for load in loads for case in load.acknowledged] + [after_kill]
        assert len(acknowledged) > 20 and all(not load.problems for load in loads)
        # A command the killed leader acknowledged is in the store: it has both its events.
        received = subscriber.collect(acknowledged, 2 * len(acknowledged), timeout=60)
        by_event: dict[str, set[int]] = defaultdict(set)
        order: dict[str, list[int]] = defaultdict(list)
        for envelope in received:
            by_event[envelope["event_id"]].add(envelope["position"])
            order[envelope["aggregate_id"]].append(envelope["aggregate_version"])
        assert len(by_event) == 2 * len(acknowledged)  # every event, none missing
        assert all(len(positions) == 1 for positions in by_event.values())  # a duplicate is the same event
        for versions in order.values():
            first_arrivals = list(dict.fromkeys(versions))
            assert first_arrivals == [1, 2]  # in order per aggregate
        print(f"\n{len(acknowledged)} cases acknowledged by two instances; the other instance published "
              f"{took_over_in:.1f} s after the leader was killed; {len(received) - len(by_event)} duplicates")
    finally:
        subscriber.delete()


def test_a_leader_cut_off_from_rabbitmq_hands_the_lead_to_an_instance_that_reaches_it(
        infrastructure: Infrastructure, tmp_path: Any) -> None:
    """The leader reaches RabbitMQ through a proxy the test cuts; the database it still reaches."""
    infrastructure.purge_inboxes()
    broker = urlsplit(infrastructure.amqp_uri)
    proxy = Proxy(broker.hostname or "127.0.0.1", broker.port or 5672).start()
    subscriber = EventSubscriber(infrastructure.amqp_uri, "initiatives").declare()
    with ExitStack() as stack:
        stack.callback(subscriber.delete)
        stack.callback(proxy.stop)
        schema = stack.enter_context(infrastructure.fresh_schema())
        store = infrastructure.postgres_config(schema)
        proxied = broker._replace(netloc=f"{broker.username}:{broker.password}@127.0.0.1:{proxy.port}").geturl()
        leader = ServiceProcess(service_config(proxied, store, OUTBOX_HANDOVER_SECONDS=5),
                                str(tmp_path / "leader.log")).start()
        stack.callback(leader.stop)
        eventually(lambda: relay_role(leader), lambda role: role == "leading", timeout=20)
        follower = ServiceProcess(service_config(infrastructure.amqp_uri, store, OUTBOX_HANDOVER_SECONDS=5),
                                  str(tmp_path / "follower.log")).start()
        stack.callback(follower.stop)
        eventually(lambda: relay_role(follower), lambda role: role == "standing by", timeout=20)

        proxy.cut()
        case = submit_and_register(api_for(follower.config))  # committed; the leader cannot publish it
        eventually(lambda: relay_role(follower), lambda role: role == "leading", timeout=5 + TAKEOVER_SECONDS)
        received = subscriber.collect([case], 2, timeout=TAKEOVER_SECONDS)
        assert [e["aggregate_version"] for e in received][:2] == [1, 2]
        assert relay_role(leader) == "standing by"
