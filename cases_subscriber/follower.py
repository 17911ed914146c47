"""One source followed: catch-up from the feed, the queue's messages, gaps filled from the feed.

The position stored is a watermark: every event of the source at or below it was handed to the handler,
or does not concern this subscriber (another type, or a position the feed does not show: positions are
increasing, with gaps). The queue says *when* there is something new; the feed says *what*: a message
after the watermark makes the follower read the feed from the watermark up to and including the
message's position and apply the feed's copies, and the message must be the event the feed holds at
its position (the same `event_id`). A message the feed does not hold there is foreign (another log: a
source's data deleted while the queue was kept, a restored database, another instance of the service
publishing to the same exchange): it has no effect (acknowledged, logged as a warning); whatever the
feed gets later is read by the next catch-up. A message at or below the watermark was applied already
(a redelivery, a republication, or what the catch-up took) and has no effect either.

The last event applied (its position and `event_id`) is stored with the watermark: each catch-up first
checks that the feed still holds that event there, and stops loudly (`LogMismatch`) if not.
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
    """Kept for compatibility: the follower no longer raises it (a message the feed does not hold is
    foreign, and the next catch-up reads what the feed gets later)."""


class LogMismatch(Exception):
    """The source's feed no longer holds the last event this subscriber applied at its position: the
    source's log was replaced (deleted, restored from a backup, another instance). Nothing is applied
    until a person decides (reset the subscriber's position, or point it at the right source)."""


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
        # how the events applied arrived, and the messages without effect (for logs, metrics, tests)
        self.counts = {"feed": 0, "queue": 0, "duplicate": 0, "foreign": 0, "not wanted": 0}

    def wants(self, event_type: str) -> bool:
        return any(topic_matches(pattern, event_type) for pattern in self.routing_keys)

    def position(self) -> int:
        return self.store.position(self.subscriber, self.source)

    def verify(self) -> None:
        """Checks that the feed still holds the last event applied, at its position (one small read)."""
        _, at, event_id = self.store.progress(self.subscriber, self.source)
        if at is None or event_id is None:
            return
        page = self.feed.events(after=at - 1, limit=1)
        held = [e for e in page["events"] if isinstance(e, dict) and e.get("position") == at]
        if not held or held[0].get("event_id") != event_id:
            found = held[0].get("event_id") if held else "nothing"
            raise LogMismatch(f"the source's log does not match this subscriber's position: {self.subscriber} "
                              f"applied {event_id} at {self.source} position {at}, the feed holds {found} there")

    def catch_up(self, between_pages: Callable[[], None] | None = None,
                 queued: Callable[[], bool] | None = None) -> int:
        """Everything the feed holds after the stored position, to its end; returns the position reached.
        Raises LogMismatch if the feed is not the log this subscriber followed.

        `queued` (asked before each page but the first): whether the queue has delivered a message of this
        source meanwhile. From that message on the queue holds everything that follows, and each message
        fills what the feed holds before it (`receive`), so the catch-up stops there: a feed written as
        fast as it is read would otherwise be chased without end, the queue waiting."""
        self.verify()
        return self._fill(upto=None, between_pages=between_pages, queued=queued)[0]

    def receive(self, envelope: Any) -> str:
        """A message of the queue: "applied" (with what the feed holds before it), "duplicate", "foreign"
        (not the event the feed holds at its position: no effect), or "not wanted" (a type the routing
        keys no longer ask for: passed over, as the catch-up does)."""
        position = self._checked(envelope)
        stored = self.position()
        if position <= stored:
            seen, event_id = self.store.applied_event_id(self.subscriber, self.source, position)
            if seen and event_id is not None and event_id != envelope.get("event_id"):
                return self._foreign(envelope, f"{event_id} was applied at that position")
            self.counts["duplicate"] += 1
            return "duplicate"
        stored, copy = self._fill(upto=position)  # the feed's events up to and including this one
        if copy is None or copy.get("event_id") != envelope.get("event_id"):
            held = copy.get("event_id") if copy else "nothing"
            return self._foreign(envelope, f"the feed holds {held} at that position")
        if not self.wants(copy["type"]):
            self.counts["not wanted"] += 1
            return "not wanted"
        self.counts["queue"] += 1
        return "applied"

    def _foreign(self, envelope: dict[str, Any], why: str) -> str:
        self.counts["foreign"] += 1
        log.warning("%s passed over a foreign message of %s at position %s (%s %s): %s", self.subscriber,
                    self.source, envelope["position"], envelope["type"], envelope.get("event_id"), why)
        return "foreign"

    def _fill(self, upto: int | None, between_pages: Callable[[], None] | None = None,
              queued: Callable[[], bool] | None = None) -> tuple[int, dict[str, Any] | None]:
        """Applies what the feed holds after the stored position (up to and including `upto`, when given);
        moves the watermark over what it passed. Returns the stored position reached, and the feed's
        event at `upto` if it holds one there. `between_pages` is called before each read but the first
        (the subscriber keeps its broker connection alive with it during a long catch-up)."""
        stored = after = stored_at_start = self.position()
        copy = None
        while True:
            if after != stored_at_start:
                if between_pages is not None:
                    between_pages()
                if queued is not None and queued():
                    return stored, copy
            limit = self.page_size if upto is None else min(self.page_size, upto - after)
            page = self.feed.events(after=after, limit=limit)
            last = int(page["last_position"])
            for envelope in page["events"]:
                position = self._checked(envelope)
                if upto is not None and position > upto:
                    return self._advance(stored, upto), copy
                if position == upto:
                    copy = envelope
                if position > stored and self.wants(envelope["type"]):
                    self._apply(envelope, stored)
                    if upto is None or position < upto:
                        self.counts["feed"] += 1
                    stored = position
            if upto is not None and last >= upto:
                return self._advance(stored, upto), copy
            if last <= after:  # the feed's end
                return stored, copy
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
