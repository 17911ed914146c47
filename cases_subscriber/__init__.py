"""A subscriber kit for other systems of the region: a service's events, each applied once and in order.

Given a service's feed URL (`GET /events`) and the broker, a `Subscriber` catches up from the feed,
switches to a durable queue of its own with no gap and no duplicate, and calls the handler once per
`(source, position)`, in order, in the same transaction of the subscriber's own store (SQLite or
PostgreSQL) that records the position. README.md beside this file says how, and its limits.

It depends on kombu and requests (and psycopg for a PostgreSQL store) only: never on the suite's code.
"""
from cases_subscriber.feed import Feed, FeedError
from cases_subscriber.follower import FeedBehind, Follower, InvalidEnvelope, LogMismatch, topic_matches
from cases_subscriber.store import PositionMoved, PostgresStore, SQLiteStore, Store, Transaction
from cases_subscriber.subscriber import Source, Subscriber

__all__ = [
    "Feed", "FeedBehind", "FeedError", "Follower", "InvalidEnvelope", "LogMismatch", "PositionMoved", "PostgresStore",
    "SQLiteStore", "Source", "Store", "Subscriber", "Transaction", "topic_matches",
]
