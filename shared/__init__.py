"""The shared kernel of the case-management services.

Imported before psycopg anywhere in the suite, so psycopg's wait function is the
select()-based one that eventlet's monkey-patching turns green (TECH-NOTES: the C
wait function freezes the hub for the length of every query).
"""
from __future__ import annotations

import os

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")
# SQLite's C calls block the hub; they run on eventlet's thread pool, and one OS
# thread keeps eventsourcing's (green) locks uncontended. See shared.store.
# Set outright: a larger pool would let two OS threads share SQLite and green locks.
os.environ["EVENTLET_THREADPOOL_SIZE"] = "1"
