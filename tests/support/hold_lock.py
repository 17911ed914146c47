"""Holds the service's event table locked for a while, from a process of its own.

    python -m tests.support.hold_lock sqlite <file> <seconds>
    python -m tests.support.hold_lock postgres <conninfo> <schema> <seconds>

Prints "locked" once the lock is held, then releases it after <seconds>.
"""
from __future__ import annotations

import sys
import time


def main(argv: list[str]) -> None:
    backend = argv[0]
    if backend == "sqlite":
        import sqlite3

        path, seconds = argv[1], float(argv[2])
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("BEGIN EXCLUSIVE")
    else:
        import psycopg

        conninfo, schema, seconds = argv[1], argv[2], float(argv[3])
        connection = psycopg.connect(conninfo)
        connection.execute(f'LOCK TABLE "{schema}".initiatives_events IN ACCESS EXCLUSIVE MODE')
    print("locked", flush=True)
    time.sleep(seconds)
    connection.commit() if backend != "sqlite" else connection.execute("COMMIT")
    connection.close()


if __name__ == "__main__":
    main(sys.argv[1:])
