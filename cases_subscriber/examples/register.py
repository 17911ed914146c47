"""A public register of decided cases: one row per decision, kept from the initiatives service's events.

    python -m cases_subscriber.examples.register run    # follows the events (Ctrl-C or SIGTERM stops)
    python -m cases_subscriber.examples.register show   # prints the register (--json for JSON)

A row per `Initiative.DecisionRecorded`: diary number, the body that decided (the one the case was
scheduled before, else the body it was addressed to), paragraph, outcome, date of the decision, and the
date the minutes were adjusted, filled in by the case's `Initiative.Finalised` (which names the
adjustment of the decision that settled the case). A decision that tabled the case or referred it back
gets no adjustment date from the initiatives service (the meetings service's `Meeting.MinutesAdjusted`
has it; this example does not read it).

Settings by option or environment: REGISTER_INITIATIVES_URL, AMQP_URI, REGISTER_TOKEN (a role not cleared
for secret content: the register is public), REGISTER_DATABASE (a SQLite file) or REGISTER_POSTGRES
(a libpq connection string), REGISTER_NAME (the subscriber's name, hence its queue).
"""
from __future__ import annotations

import json
import logging
import signal
import sys
from typing import Any

import click

from cases_subscriber import PostgresStore, Source, SQLiteStore, Store, Subscriber, Transaction

ROUTING_KEYS = ["Initiative.Submitted", "Initiative.ScheduledForDecision", "Initiative.Unscheduled",
                "Initiative.DecisionRecorded", "Initiative.Finalised"]
COLUMNS = ["diary_number", "body", "paragraph", "outcome", "decided_on", "adjusted_on"]
SCHEMA = [
    # what a decision needs to know of its case: the body it was addressed to, the one it is scheduled before
    """CREATE TABLE IF NOT EXISTS register_cases (
        aggregate_id TEXT PRIMARY KEY, addressed_to TEXT, scheduled_body TEXT)""",
    """CREATE TABLE IF NOT EXISTS register_decisions (
        source TEXT NOT NULL, position BIGINT NOT NULL, aggregate_id TEXT NOT NULL, diary_number TEXT,
        body TEXT, paragraph TEXT, outcome TEXT NOT NULL, decided_on TEXT, adjusted_on TEXT,
        PRIMARY KEY (source, position))""",
]


def create_tables(store: Store) -> None:
    with store.transaction() as tx:
        for statement in SCHEMA:
            tx.execute(statement)


def apply(envelope: dict[str, Any], tx: Transaction) -> None:
    """The handler: one event's effect on the register, in the subscriber's transaction."""
    kind, case, payload = envelope["type"], envelope["aggregate_id"], envelope.get("payload") or {}
    if kind == "Initiative.Submitted":
        tx.execute("INSERT INTO register_cases (aggregate_id, addressed_to) VALUES (?, ?) "
                   "ON CONFLICT (aggregate_id) DO UPDATE SET addressed_to = excluded.addressed_to",
                   (case, payload.get("addressed_to")))
    elif kind in ("Initiative.ScheduledForDecision", "Initiative.Unscheduled"):
        body = payload.get("body") if kind == "Initiative.ScheduledForDecision" else None
        tx.execute("INSERT INTO register_cases (aggregate_id, scheduled_body) VALUES (?, ?) "
                   "ON CONFLICT (aggregate_id) DO UPDATE SET scheduled_body = excluded.scheduled_body", (case, body))
    elif kind == "Initiative.DecisionRecorded":
        known = tx.execute("SELECT scheduled_body, addressed_to FROM register_cases WHERE aggregate_id = ?",
                           (case,)).fetchone()
        body = (known[0] or known[1]) if known else None
        tx.execute("INSERT INTO register_decisions (source, position, aggregate_id, diary_number, body, paragraph, "
                   "outcome, decided_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (envelope["source"], envelope["position"], case, envelope.get("diary_number"), body,
                    payload.get("paragraph"), payload["outcome"], payload.get("decided_on")))
        if payload["outcome"] == "referred_back":  # prepared anew, and scheduled anew
            tx.execute("UPDATE register_cases SET scheduled_body = NULL WHERE aggregate_id = ?", (case,))
    elif kind == "Initiative.Finalised":  # the minutes of the decision that settled the case were adjusted
        tx.execute("UPDATE register_decisions SET adjusted_on = ? WHERE aggregate_id = ? AND position = "
                   "(SELECT MAX(position) FROM register_decisions WHERE aggregate_id = ?)",
                   (payload.get("minutes_adjusted_on"), case, case))


def rows(store: Store) -> list[dict[str, Any]]:
    """The register, oldest decision first."""
    with store.transaction() as tx:
        found = tx.execute(f"SELECT {', '.join(COLUMNS)} FROM register_decisions ORDER BY source, position").fetchall()
    return [dict(zip(COLUMNS, row)) for row in found]


def store_for(database: str | None, postgres: str | None) -> Store:
    if postgres:
        return PostgresStore(postgres)
    return SQLiteStore(database or "register.sqlite")


def subscriber_for(name: str, initiatives_url: str, broker: str, token: str | None, store: Store) -> Subscriber:
    create_tables(store)
    return Subscriber(name, broker, [Source("initiatives", initiatives_url, ROUTING_KEYS, token)], store, apply)


store_options = [
    click.option("--database", envvar="REGISTER_DATABASE", default="register.sqlite", show_default=True,
                 help="the register's SQLite file"),
    click.option("--postgres", envvar="REGISTER_POSTGRES", default=None,
                 help="a PostgreSQL connection string instead (libpq: 'dbname=register host=127.0.0.1')"),
]


def with_store_options(command: Any) -> Any:
    for option in reversed(store_options):
        command = option(command)
    return command


@click.group()
def main() -> None:
    """A public register of decided cases, kept from the initiatives service's events."""


@main.command()
@click.option("--initiatives-url", envvar="REGISTER_INITIATIVES_URL", default="http://127.0.0.1:8001",
              show_default=True)
@click.option("--broker", envvar="AMQP_URI", default="amqp://guest:guest@127.0.0.1:5672/", show_default=True)
@click.option("--token", envvar="REGISTER_TOKEN", default=None, help="bearer token for the feed (environment only, "
              "preferably: REGISTER_TOKEN)")
@click.option("--name", envvar="REGISTER_NAME", default="public-register", show_default=True)
@with_store_options
def run(initiatives_url: str, broker: str, token: str | None, name: str, database: str, postgres: str | None) -> None:
    """Follows the initiatives service's events into the register until stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    subscriber = subscriber_for(name, initiatives_url, broker, token, store_for(database, postgres))
    signal.signal(signal.SIGTERM, lambda *_: subscriber.stop())
    try:
        subscriber.run()
    except KeyboardInterrupt:
        subscriber.stop()


@main.command()
@click.option("--json", "as_json", is_flag=True, help="one JSON array instead of a table")
@with_store_options
def show(as_json: bool, database: str, postgres: str | None) -> None:
    """Prints the register: one line per decision."""
    store = store_for(database, postgres)
    create_tables(store)
    found = rows(store)
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    headings = ["Diarienummer", "Organ", "Paragraf", "Beslut", "Beslutsdag", "Justerat"]
    table = [headings] + [[str(row[column] or "–") for column in COLUMNS] for row in found]
    widths = [max(len(line[index]) for line in table) for index in range(len(COLUMNS))]
    for line in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
    if not found:
        click.echo("(no decision yet)", err=True)


if __name__ == "__main__":
    sys.exit(main())
