"""One source followed: catch-up from the feed, the queue's messages, gaps filled from the feed.

The position stored is a watermark: every event of the source at or below it was handed to the handler,
or does not concern this subscriber (another type, or a position the feed does not show: positions are
increasing, with gaps). So a message at `position + 1` follows on at once; a message further on is
preceded by what the feed holds between the two, read and applied first; a message at or below it
was applied already (a redelivery, a republication, or what the catch-up took) and has no effect.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

from cases_subscriber.feed import MAX_LIMIT
from cases_subscriber.store import Store, Transaction

log = logging.getLogger("cases_subscriber")

Handler = Callable[[dict[str, Any], Transaction], None]


class InvalidEnvelope(ValueError):
    """A message that is not an event envelope of this source (docs/events.md): it cannot be placed."""


class FeedBehind(Exception):
    """The queue holds an event the feed does not show yet (or a different log): tried again later."""


def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching, as the broker binds: `*` is one word, `#` zero or more words."""
    def match(words: list[str], keys: list[str]) -> bool:
        if not words:
            return not keys
        head, rest = words[0], words[1:]
        if head == "#":
            return any(match(rest, keys[index:]) for index in range(len(keys) + 1))
        if not keys:
            return False
        return (head == "*" or head == keys[0]) and match(rest, keys[1:])

    return match(pattern.split("."), routing_key.split("."))


class Follower:
    """The subscriber's progress in one source; `feed` has `events(after, limit)` (cases_subscriber.Feed)."""

    def __init__(self, subscriber: str, source: str, routing_keys: Iterable[str], feed: Any, store: Store,
                 handler: Handler, page_size: int = 500):
        self.subscriber = subscriber
        self.source = source
        self.routing_keys = list(routing_keys)
        self.feed = feed
        self.store = store
        self.handler = handler
        self.page_size = min(page_size, MAX_LIMIT)
        self.counts = {"feed": 0, "queue": 0, "duplicate": 0}  # how the events applied arrived (for /metrics, tests)

    def wants(self, event_type: str) -> bool:
        return any(topic_matches(pattern, event_type) for pattern in self.routing_keys)

    def position(self) -> int:
        return self.store.position(self.subscriber, self.source)

    def catch_up(self) -> int:
        """Everything the feed holds after the stored position, to its end; returns the position reached."""
        return self._fill(below=None)

    def receive(self, envelope: Any) -> str:
        """A message of the queue: "applied" (after what the feed holds before it), "duplicate", or
        "not wanted" (a type the routing keys no longer ask for: passed over, as the catch-up does)."""
        position = self._checked(envelope)
        stored = self.position()
        if position <= stored:
            self.counts["duplicate"] += 1
            return "duplicate"
        if position > stored + 1:  # something may lie between: the feed says what
            stored = self._fill(below=position)
        if not self.wants(envelope["type"]):  # a binding no longer asked for: passed over
            self._advance(stored, position)
            self.counts["duplicate"] += 1
            return "not wanted"
        self._apply(envelope, stored)
        self.counts["queue"] += 1
        return "applied"

    def _fill(self, below: int | None) -> int:
        """Applies what the feed holds after the stored position (and before `below`, when given); moves
        the watermark over what it passed. Returns the stored position it reached."""
        stored = after = self.position()
        while True:
            page = self.feed.events(after=after, limit=self.page_size if below is None
                                    else min(self.page_size, below - after))
            last = int(page["last_position"])
            for envelope in page["events"]:
                position = self._checked(envelope)
                if below is not None and position >= below:
                    return self._advance(stored, below - 1)
                if position > stored and self.wants(envelope["type"]):
                    self._apply(envelope, stored)
                    self.counts["feed"] += 1
                    stored = position
            if below is not None and last >= below - 1:
                return self._advance(stored, below - 1)
            if last <= after:  # the feed's end
                if below is not None:
                    raise FeedBehind(f"{self.source}'s feed ends at {last}, before the message at {below}")
                return stored
            stored = self._advance(stored, last)
            after = last

    def _apply(self, envelope: dict[str, Any], expected: int) -> None:
        """The handler's writes, the position and the applied row: one transaction, or nothing."""
        with self.store.transaction() as tx:
            self.store.advance(tx, self.subscriber, self.source, expected, envelope["position"], envelope)
            self.handler(envelope, tx)
        log.info("%s applied %s %s at position %s", self.subscriber, self.source, envelope["type"],
                 envelope["position"])

    def _advance(self, stored: int, position: int) -> int:
        if position <= stored:
            return stored
        with self.store.transaction() as tx:
            self.store.advance(tx, self.subscriber, self.source, stored, position)
        return position

    def _checked(self, envelope: Any) -> int:
        if not isinstance(envelope, dict):
            raise InvalidEnvelope(f"not an event envelope: {type(envelope).__name__}")
        position = envelope.get("position")
        if not isinstance(position, int) or isinstance(position, bool) or position < 1 \
                or not isinstance(envelope.get("type"), str):
            raise InvalidEnvelope(f"no position or type: {str(envelope)[:200]}")
        if envelope.get("source", self.source) != self.source:
            raise InvalidEnvelope(f"an event of {envelope.get('source')!r}, not of {self.source!r}")
        return position
