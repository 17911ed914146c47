"""`cases`: the auditors' command line.

    cases timeline "RUN 2025-0001" [--as-of 2025-11-12] [--json] [--archive case.zip]
    cases state    "RUN 2025-0001" [--as-of 2025-11-12] [--json] [--archive case.zip]
    cases verify   "RUN 2025-0001" [--against case.zip]  |  cases verify --whole-service meetings
    cases export   "RUN 2025-0001" --output case.zip
    cases check-archive case.zip

Everything is read over the services' HTTP APIs with a read-only token and
recomputed here; an archive package is read without any service. A case's aggregates are
found by reading every service's whole feed, or, with `--index <audit service URL>`
(CASES_INDEX), asked of the audit service's case index, so that only they are read.
"""
from __future__ import annotations

import functools
import json
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import click

from shared.archive import Archive, export_case, read_archive
from shared.audit import (
    LOCAL_SERVICES, AuditError, Case, ServiceClient, Verification, case_states, clients_for, read_case,
    read_indexed_case, verify_case, verify_service,
)
from shared.chain import verify_against_heads
from shared.schemas import parse_moment
from shared.timeline import case_timeline, describe_entry


def as_moment(context: click.Context, parameter: click.Parameter, value: str | None) -> datetime | None:
    """As the services read `as_of`: ISO 8601; a bare date means the end of that day, Swedish time."""
    if value is None:
        return None
    try:
        return parse_moment(value)
    except ValueError:
        raise click.BadParameter("expected an ISO 8601 date or timestamp") from None


def reading_services(command: Callable[..., Any]) -> Callable[..., Any]:
    """--token and --service for every command that reads the services; passes `clients`
    (which connect only when used: a command reading a package never does)."""

    @click.option("--token", envvar="CASES_TOKEN", default="dev-auditor", show_default=True,
                  help="a bearer token with the auditor role (CASES_TOKEN)")
    @click.option("--service", "services", multiple=True, metavar="NAME=URL",
                  help="a service's URL (default: the four on localhost); repeat for each")
    @click.option("--index", envvar="CASES_INDEX", metavar="URL",
                  help="the audit service, whose case index says which aggregates to read (CASES_INDEX); "
                       "without it every service's whole feed is read")
    @functools.wraps(command)
    def with_clients(token: str, services: tuple[str, ...], index: str | None, **arguments: Any) -> Any:
        urls = dict(entry.split("=", 1) for entry in services) if services else dict(LOCAL_SERVICES)
        click.get_current_context().meta["index"] = ServiceClient("audit", index, token) if index else None
        try:
            return command(clients=clients_for(urls, token), **arguments)
        except AuditError as error:
            raise click.ClickException(str(error)) from None

    return with_clients


def case_of(clients: dict[str, ServiceClient], diary_number: str, as_of: datetime | None = None) -> Case:
    """The case, its aggregates found through the audit service's index when one was named."""
    from urllib.parse import quote

    index: ServiceClient | None = click.get_current_context().meta.get("index")
    if index is None:
        return read_case(clients, diary_number, as_of)
    found = index.get(f"/cases/{quote(diary_number)}/aggregates")["aggregates"]
    aggregates = [(a["service"], a["aggregate_id"], a["type"]) for a in found if a["service"] in clients]
    return read_indexed_case(clients, diary_number, aggregates, as_of)


def as_of_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--as-of", "as_of", callback=as_moment,
                        help="as it was then (ISO date or timestamp; a date means the end of that day)")(command)


archive_option = click.option("--archive", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                              help="read an exported package instead of the services")


@click.group()
def main() -> None:
    """Read-only tools for auditors: a case's history across the services, and proof it is unchanged."""


@main.command()
@click.argument("diary_number")
@as_of_option
@click.option("--json", "as_json", is_flag=True, help="the envelopes as JSON, for machines")
@archive_option
@reading_services
def timeline(clients: dict[str, ServiceClient], diary_number: str, as_of: datetime | None, as_json: bool,
             archive: Path | None) -> None:
    """Every event about DIARY_NUMBER, from every service, in the order it happened."""
    if archive is not None:
        entries = case_timeline({"archive": _checked(archive).timeline}, diary_number, as_of)
    else:
        entries = case_of(clients, diary_number, as_of).timeline
    if as_json:
        click.echo(json.dumps(entries, ensure_ascii=False, indent=2))
        return
    if not entries:
        raise click.ClickException(f"no events about {diary_number}")
    click.echo(f"{diary_number}: {len(entries)} events from {', '.join(sorted({e['source'] for e in entries}))}")
    for envelope in entries:
        click.echo(describe_entry(envelope))


@main.command()
@click.argument("diary_number")
@as_of_option
@click.option("--json", "as_json", is_flag=True, help="the states as JSON, for machines")
@archive_option
@reading_services
def state(clients: dict[str, ServiceClient], diary_number: str, as_of: datetime | None, as_json: bool,
          archive: Path | None) -> None:
    """The case and every aggregate it involves (meetings, agreements, evaluations) as they were."""
    if archive is not None:
        states = _checked(archive).states_as_of(as_of)
    else:
        states = case_states(clients, case_of(clients, diary_number, as_of), as_of)
    if not states:
        raise click.ClickException(f"no aggregate involved in {diary_number}" + (f" by {as_of}" if as_of else ""))
    if as_json:
        click.echo(json.dumps(states, ensure_ascii=False, indent=2))
        return
    for found in states:
        click.echo(f"{found['service']} {found['type']} {found['aggregate_id']} (version {found['version']})")
        for name, value in found["state"].items():
            click.echo(f"    {name}: {json.dumps(value, ensure_ascii=False)[:160]}")


@main.command()
@click.argument("diary_number", required=False)
@click.option("--whole-service", "whole_service", metavar="NAME",
              help="verify every aggregate of one service's log instead of a case")
@click.option("--against", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="also check that the chains still reach the heads an exported package recorded")
@click.option("--json", "as_json", is_flag=True, help="the report as JSON")
@reading_services
def verify(clients: dict[str, ServiceClient], diary_number: str | None, whole_service: str | None,
           against: Path | None, as_json: bool) -> None:
    """Recompute the hash chains of a case's aggregates (or of a whole service) from the events as stored.

    Exits 1 and names the first event whose content, order or link no longer matches."""
    if (diary_number is None) == (whole_service is None):
        raise click.UsageError("give a DIARY_NUMBER or --whole-service NAME")
    if whole_service is not None:
        if whole_service not in clients:
            raise click.UsageError(f"no service named {whole_service!r}: {', '.join(clients)}")
        verification = verify_service(clients[whole_service])
        scope = whole_service
    else:
        case = case_of(clients, diary_number)  # type: ignore[arg-type]
        if not case.timeline:
            raise click.ClickException(f"no events about {diary_number}")
        verification = verify_case(clients, case)
        scope = diary_number
    if against is not None:
        heads = _checked(against).heads()
        reports = [report for _, report in verification.reports]
        verification.log_problems += [("archive", p) for p in verify_against_heads(reports, heads)]
    _report(verification, scope, as_json)


@main.command()
@click.argument("diary_number")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True,
              help="the package to write (a .zip)")
@reading_services
def export(clients: dict[str, ServiceClient], diary_number: str, output: Path) -> None:
    """Write DIARY_NUMBER's events, states and a manifest with checksums into one archive package."""
    case = case_of(clients, diary_number)
    if not case.timeline:
        raise click.ClickException(f"no events about {diary_number}")
    verification = export_case(clients, case, output, exported_by="cases export")
    click.echo(f"{output}: {len(case.timeline)} events, {len(case.aggregates)} aggregates")
    if not verification.intact:
        _report(verification, diary_number, as_json=False)


@main.command("check-archive")
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check_archive(package: Path) -> None:
    """Check a package without the system: every checksum, every chain up to its recorded head."""
    archive = _checked(package)
    click.echo(f"{package}: intact — {archive.manifest['diary_number']}, {len(archive.timeline)} events, "
               f"{len(archive.manifest['aggregates'])} aggregates, exported {archive.manifest['exported_at']}")


def _checked(path: Path) -> Archive:
    try:
        archive = read_archive(path)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    if archive.problems:
        click.echo("\n".join(archive.problems), err=True)
        raise click.ClickException(f"{path} is not intact: {len(archive.problems)} problems")
    return archive


def _report(verification: Verification, scope: str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(verification.to_json(), ensure_ascii=False, indent=2))
    else:
        events = sum(report.events for _, report in verification.reports)
        for line in verification.problems():
            click.echo(f"TAMPERED {line}")
        if verification.intact:
            click.echo(f"{scope}: intact — {len(verification.reports)} aggregates, {events} events verified")
    if not verification.intact:
        raise SystemExit(1)
