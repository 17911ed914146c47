"""`cases`: the auditors' command line. `cases timeline "RUN 2025-0001"` prints a case's history across the services."""
from __future__ import annotations

import json
from datetime import datetime

import click
import requests

from shared.schemas import parse_moment
from shared.timeline import case_timeline, describe_entry, read_feed

SERVICES = {
    "initiatives": "http://127.0.0.1:8001",
    "letters_of_intent": "http://127.0.0.1:8002",
    "meetings": "http://127.0.0.1:8003",
    "evaluations": "http://127.0.0.1:8004",
}


def as_of_moment(text: str) -> datetime:
    """As the services read `as_of`: a bare date means the end of that day, Swedish time."""
    try:
        return parse_moment(text)
    except ValueError:
        raise click.BadParameter("expected an ISO 8601 date or timestamp") from None


@click.group()
def main() -> None:
    """Read-only tools for auditors."""


@main.command()
@click.argument("diary_number")
@click.option("--as-of", "as_of", help="only what had happened by then (ISO date or timestamp)")
@click.option("--json", "as_json", is_flag=True, help="the envelopes as JSON, for machines")
@click.option("--token", envvar="CASES_TOKEN", default="dev-auditor", show_default=True,
              help="a bearer token with read access (CASES_TOKEN)")
@click.option("--service", "services", multiple=True, metavar="NAME=URL",
              help="a service's URL (default: the four on localhost); repeat for each")
def timeline(diary_number: str, as_of: str | None, as_json: bool, token: str, services: tuple[str, ...]) -> None:
    """Every event about DIARY_NUMBER, from every service, in the order it happened."""
    urls = dict(SERVICES)
    if services:
        urls = dict(entry.split("=", 1) for entry in services)
    feeds = {}
    for name, url in urls.items():
        try:
            feeds[name] = list(read_feed(url, token))
        except requests.RequestException as error:
            raise click.ClickException(f"{name} ({url}) could not be read: {error}") from None
    entries = case_timeline(feeds, diary_number, as_of_moment(as_of) if as_of else None)
    if as_json:
        click.echo(json.dumps(entries, ensure_ascii=False, indent=2))
        return
    if not entries:
        raise click.ClickException(f"no events about {diary_number} in {', '.join(urls)}")
    click.echo(f"{diary_number}: {len(entries)} events from {', '.join(sorted({e['source'] for e in entries}))}")
    for envelope in entries:
        click.echo(describe_entry(envelope))
