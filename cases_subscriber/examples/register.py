"""A public register of decided cases: one row per decision, kept from the initiatives service's events
and the meetings service's adjusted minutes.

    python -m cases_subscriber.examples.register run    # follows the events (Ctrl-C or SIGTERM stops)
    python -m cases_subscriber.examples.register show   # prints the register (--json for JSON)

A row per `Initiative.DecisionRecorded`: diary number, the body that decided (the one the case was
scheduled before, else the body it was addressed to), paragraph, outcome, date of the decision, and the
date the minutes were adjusted. That date comes from the meetings service's `Meeting.MinutesAdjusted`
(its `decisions` name each paragraph's diary number; the meeting's `body`), for every decision,
tabled and referred back ones too; and from the case's `Initiative.Finalised` for the decision that
settled it (so a register following only the initiatives service still dates those). The two sources
are not ordered with each other: adjustments are kept in a table of their own keyed by (diary number,
body, paragraph) and a decision takes its date from there when it arrives later.

Settings by option or environment: REGISTER_INITIATIVES_URL, REGISTER_MEETINGS_URL (empty: initiatives
only), AMQP_URI, REGISTER_TOKEN (a role not cleared for secret content: the register is public),
REGISTER_DATABASE (a SQLite file) or REGISTER_POSTGRES (a libpq connection string), REGISTER_NAME (the
subscriber's name, hence its queues).

For fault tests: CASES_SUBSCRIBER_CRASH=after-handler,after-commit makes the process exit (os._exit(9))
once each, after the handler's writes of a decision but before the commit, and after a queue message's
commit but before its ack; CASES_SUBSCRIBER_CRASH_MARKER is the path prefix of the files that say it did.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import sys
from typing import Any

import click

from cases_subscriber import LogMismatch, PostgresStore, Source, SQLiteStore, Store, Subscriber, Transaction

ROUTING_KEYS = ["Initiative.Submitted", "Initiative.ScheduledForDecision", "Initiative.Unscheduled",
                "Initiative.ProposalRecorded", "Initiative.DecisionRecorded", "Initiative.Finalised"]
MEETING_KEYS = ["Meeting.MinutesAdjusted"]
COLUMNS = ["diary_number", "body", "paragraph", "outcome", "decided_on", "adjusted_on"]
SCHEMA = [
    # what a decision needs to know of its case: the body it was addressed to, the one it is scheduled before
    """CREATE TABLE IF NOT EXISTS register_cases (
        aggregate_id TEXT PRIMARY KEY, addressed_to TEXT, scheduled_body TEXT)""",
    # no unique key: the kit applies each event once (a second application would show as a second row)
    """CREATE TABLE IF NOT EXISTS register_decisions (
        source TEXT NOT NULL, position BIGINT NOT NULL, aggregate_id TEXT NOT NULL, diary_number TEXT,
        body TEXT, paragraph TEXT, outcome TEXT NOT NULL, decided_on TEXT, adjusted_on TEXT)""",
    # the adjusted minutes' decisions, whichever source's event comes first
    """CREATE TABLE IF NOT EXISTS register_adjustments (
        diary_number TEXT NOT NULL, body TEXT NOT NULL, paragraph TEXT NOT NULL, adjusted_on TEXT NOT NULL,
        PRIMARY KEY (diary_number, body, paragraph))""",
]


def create_tables(store: Store) -> None:
    with store.transaction() as tx:
        for statement in SCHEMA:
            tx.execute(statement)


def apply(envelope: dict[str, Any], tx: Transaction) -> None:
    """The handler: one event's effect on the register, in the subscriber's transaction."""
    kind, case, payload = envelope["type"], envelope["aggregate_id"], envelope.get("payload") or {}
    if kind == "Meeting.MinutesAdjusted":
        for decision in payload.get("decisions") or []:
            key = (decision.get("diary_number"), payload.get("body"), decision.get("paragraph"))
            if None in key:
                continue
            tx.execute("INSERT INTO register_adjustments (diary_number, body, paragraph, adjusted_on) "
                       "VALUES (?, ?, ?, ?) ON CONFLICT (diary_number, body, paragraph) DO UPDATE "
                       "SET adjusted_on = excluded.adjusted_on", (*key, payload["adjusted_on"]))
            tx.execute("UPDATE register_decisions SET adjusted_on = ? WHERE diary_number = ? AND body = ? "
                       "AND paragraph = ?", (payload["adjusted_on"], *key))
    elif kind == "Initiative.Submitted":
        tx.execute("INSERT INTO register_cases (aggregate_id, addressed_to) VALUES (?, ?) "
                   "ON CONFLICT (aggregate_id) DO UPDATE SET addressed_to = excluded.addressed_to",
                   (case, payload.get("addressed_to")))
    elif kind in ("Initiative.ScheduledForDecision", "Initiative.Unscheduled", "Initiative.ProposalRecorded"):
        # as the case keeps it: a proposal (a preparing body's decision) ends the case's schedule too
        body = payload.get("body") if kind == "Initiative.ScheduledForDecision" else None
        tx.execute("INSERT INTO register_cases (aggregate_id, scheduled_body) VALUES (?, ?) "
                   "ON CONFLICT (aggregate_id) DO UPDATE SET scheduled_body = excluded.scheduled_body", (case, body))
    elif kind == "Initiative.DecisionRecorded":
        known = tx.execute("SELECT scheduled_body, addressed_to FROM register_cases WHERE aggregate_id = ?",
                           (case,)).fetchone()
        body = (known[0] or known[1]) if known else None
        adjusted = tx.execute("SELECT adjusted_on FROM register_adjustments WHERE diary_number = ? AND body = ? "
                              "AND paragraph = ?", (envelope.get("diary_number"), body,
                                                    payload.get("paragraph"))).fetchone()
        tx.execute("INSERT INTO register_decisions (source, position, aggregate_id, diary_number, body, paragraph, "
                   "outcome, decided_on, adjusted_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (envelope["source"], envelope["position"], case, envelope.get("diary_number"), body,
                    payload.get("paragraph"), payload["outcome"], payload.get("decided_on"),
                    adjusted[0] if adjusted else None))
        if payload["outcome"] == "referred_back":  # prepared anew, and scheduled anew
            tx.execute("UPDATE register_cases SET scheduled_body = NULL WHERE aggregate_id = ?", (case,))
    elif kind == "Initiative.Finalised":  # the minutes of the decision that settled the case were adjusted
        tx.execute("UPDATE register_decisions SET adjusted_on = ? WHERE aggregate_id = ? AND position = "
                   "(SELECT MAX(position) FROM register_decisions WHERE aggregate_id = ?)",
                   (payload.get("minutes_adjusted_on"), case, case))


def rows(store: Store) -> list[dict[str, Any]]:
    """The register, oldest decision first (read only: no lock, no table made; empty before the
    subscriber first started)."""
    try:
        with store.transaction(write=False) as tx:
            found = tx.execute(f"SELECT {', '.join(COLUMNS)} FROM register_decisions "
                               "ORDER BY source, position").fetchall()
    except Exception as error:  # noqa: BLE001 - sqlite3's or psycopg's "no such table"
        if "register_decisions" not in str(error):
            raise
        return []
    return [dict(zip(COLUMNS, row)) for row in found]


def store_for(database: str | None, postgres: str | None) -> Store:
    if postgres:
        return PostgresStore(postgres)
    return SQLiteStore(database or "register.sqlite")


def subscriber_for(name: str, initiatives_url: str, broker: str, token: str | None, store: Store,
                   meetings_url: str | None = None, handler: Any = apply, **options: Any) -> Subscriber:
    """The register's subscriber; its tables are made when it starts (retried while the store is down)."""
    sources = [Source("initiatives", initiatives_url, ROUTING_KEYS, token)]
    if meetings_url:
        sources.append(Source("meetings", meetings_url, MEETING_KEYS, token))
    return Subscriber(name, broker, sources, store, handler, schema=SCHEMA, **options)


class CrashOnce:
    """The fault tests' crash points (CASES_SUBSCRIBER_CRASH): the process exits without any shutdown,
    once per point (a marker file remembers it)."""

    def __init__(self, points: str, marker: str):
        self.points = {point.strip() for point in points.split(",") if point.strip()}
        self.marker = marker

    def crash(self, point: str, position: Any) -> None:
        if point not in self.points or os.path.exists(f"{self.marker}.{point}"):
            return
        with open(f"{self.marker}.{point}", "w", encoding="utf-8") as done:
            done.write(str(position))
        print(f"crashing {point} at position {position}", file=sys.stderr, flush=True)
        os._exit(9)

    def handler(self, envelope: dict[str, Any], tx: Transaction) -> None:
        apply(envelope, tx)
        if envelope["type"] == "Initiative.DecisionRecorded":
            self.crash("after-handler", envelope["position"])  # its row written, not committed

    def before_ack(self, source: str, outcome: str, envelope: dict[str, Any]) -> None:
        if outcome == "applied":
            self.crash("after-commit", envelope["position"])  # committed, not acknowledged


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
@click.option("--meetings-url", envvar="REGISTER_MEETINGS_URL", default="http://127.0.0.1:8003",
              show_default=True, help="the meetings service (the adjusted minutes); empty: initiatives only")
@click.option("--broker", envvar="AMQP_URI", default="amqp://guest:guest@127.0.0.1:5672/", show_default=True)
@click.option("--token", envvar="REGISTER_TOKEN", default=None, help="bearer token for the feed (environment only, "
              "preferably: REGISTER_TOKEN)")
@click.option("--name", envvar="REGISTER_NAME", default="public-register", show_default=True)
@with_store_options
def run(initiatives_url: str, meetings_url: str, broker: str, token: str | None, name: str, database: str,
        postgres: str | None) -> None:
    """Follows the initiatives and meetings services' events into the register until stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    options: dict[str, Any] = {}
    if os.environ.get("CASES_SUBSCRIBER_CRASH"):
        crash = CrashOnce(os.environ["CASES_SUBSCRIBER_CRASH"],
                          os.environ.get("CASES_SUBSCRIBER_CRASH_MARKER", f"{database}.crashed"))
        options = {"handler": crash.handler, "before_ack": crash.before_ack}
    if os.environ.get("REGISTER_CATCH_UP_INTERVAL"):
        options["catch_up_interval"] = float(os.environ["REGISTER_CATCH_UP_INTERVAL"])
    subscriber = subscriber_for(name, initiatives_url, broker, token, store_for(database, postgres), meetings_url,
                                **options)
    signal.signal(signal.SIGTERM, lambda *_: subscriber.stop())
    try:
        subscriber.run()
    except KeyboardInterrupt:
        subscriber.stop()
    except LogMismatch as error:
        click.echo(f"stopped: {error}", err=True)
        sys.exit(3)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="one JSON array instead of a table")
@with_store_options
def show(as_json: bool, database: str, postgres: str | None) -> None:
    """Prints the register: one line per decision."""
    found = rows(store_for(database, postgres))
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
