"""nameko's RPC entrypoint, stopping promptly.

nameko's queue consumer (kombu's ConsumerMixin) waits up to a second on the broker between looks at
whether a consumer is to be cancelled and whether it is to stop, so a service with an RPC
entrypoint took about two seconds to stop gracefully, with nothing left to do (a rolling restart
waits that long for each instance; the tests for each service they start). Here it looks every
STOP_CHECK_SECONDS; messages are taken as before, without waiting for the look.
"""
from __future__ import annotations

from typing import Any

from nameko.messaging import QueueConsumer
from nameko.rpc import Rpc, RpcConsumer

from shared.amqp import STOP_CHECK_SECONDS


class PromptQueueConsumer(QueueConsumer):
    def consume(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["safety_interval"] = STOP_CHECK_SECONDS
        return super().consume(*args, **kwargs)


class PromptRpcConsumer(RpcConsumer):
    queue_consumer = PromptQueueConsumer()


class PromptRpc(Rpc):
    rpc_consumer = PromptRpcConsumer()


rpc = PromptRpc.decorator
