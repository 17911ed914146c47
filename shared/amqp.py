"""How this suite's own AMQP connections (the outbox relay, the inboxes) reach RabbitMQ: with the
same TLS, heartbeat and login settings nameko's own connections take from the config, and with
the queue type the operator chose for the inbox queues.

- `AMQP_SSL` (nameko's key): true, or kombu's ssl options (ca_certs, certfile, keyfile,
  cert_reqs …); use an `amqps://` URI with it.
- `HEARTBEAT` (nameko's key, default 60 s): a broker or load balancer that went away is
  noticed in about two heartbeats, not at the next TCP timeout.
- `LOGIN_METHOD` (nameko's key): e.g. EXTERNAL with client certificates.
- `AMQP_QUORUM_QUEUES` (default false): the inbox queues as quorum queues, replicated over
  a RabbitMQ cluster (docs/operations.md). An inbox requeues an event its store cannot take
  for as long as the outage lasts, and every requeue counts as a delivery: the delivery
  limit is set far above any outage (QUORUM_DELIVERY_LIMIT), so no event is ever dropped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from kombu import Connection

from shared.settings import env_flag

DEFAULT_HEARTBEAT_SECONDS = 60
# One requeue a second (shared.inbox.RETRY_PAUSE_SECONDS) for more than 30 years.
QUORUM_DELIVERY_LIMIT = 1_000_000_000
# How long a consuming loop waits on the broker before it looks whether it is to stop (a message
# wakes it at once): a service stops within about this much.
STOP_CHECK_SECONDS = 0.2


@dataclass(frozen=True)
class BrokerSettings:
    amqp_uri: str
    ssl: Any = None
    heartbeat: float = DEFAULT_HEARTBEAT_SECONDS
    login_method: str | None = None
    quorum_queues: bool = False
    transport_options: Mapping[str, Any] = field(default_factory=dict)

    def connection(self, **transport_options: Any) -> Connection:
        return Connection(self.amqp_uri, ssl=self.ssl or False, heartbeat=self.heartbeat,
                          login_method=self.login_method,
                          transport_options={**self.transport_options, **transport_options})


class Stopped(Exception):
    """Raised from kombu's callback between attempts to connect when the relay or inbox that is
    connecting has been stopped meanwhile: a service stopping during an outage stops."""


def broker_settings(config: Mapping[str, Any]) -> BrokerSettings:
    return BrokerSettings(
        amqp_uri=str(config["AMQP_URI"]),
        ssl=config.get("AMQP_SSL") or None,
        heartbeat=float(config.get("HEARTBEAT") or DEFAULT_HEARTBEAT_SECONDS),
        login_method=config.get("LOGIN_METHOD") or None,
        quorum_queues=env_flag(config, "AMQP_QUORUM_QUEUES", False),
    )
