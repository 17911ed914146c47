"""`cases`: the auditors' command line.

    cases timeline "RUN 2025-0001" [--as-of 2025-11-12 | --in-effect-on 2025-11-12] [--json] [--archive case.zip]
    cases state    "RUN 2025-0001" [--as-of 2025-11-12 | --in-effect-on 2025-11-12] [--json] [--archive case.zip]
    cases verify   "RUN 2025-0001" [--against case.zip]  |  cases verify --whole-service meetings
    cases export   "RUN 2025-0001" --output case.zip [--signing-key private.pem]
    cases check-archive case.zip [--public-key public.pem] [--json]
    cases keygen --private-key private.pem --public-key public.pem

Everything is read over the services' HTTP APIs with a read-only token and
recomputed here; an archive package is read without any service. A case's aggregates are
found by reading every service's whole feed, or, with `--index <audit service URL>`
(CASES_INDEX), asked of the audit service's case index, so that only they are read.

Exit codes: 0 intact / done; 1 tampered, not intact, or nothing found; 2 usage (click's own: a
missing token, a malformed option); 3 a service, a package or a file could not be read (or
written) at all — a package that was read but is wrong is 1.
"""
from __future__ import annotations

import functools
import io
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable

import click
import requests

from shared.archive import Archive, PackageUnreadable, export_case, read_archive
from shared.audit import (
    LOCAL_SERVICES, AuditError, Case, ServiceClient, Verification, case_states, clients_for, read_case,
    read_indexed_case, verify_case, verify_service,
)
from shared.chain import verify_against_heads
from shared.fields import load_day
from shared.schemas import parse_moment
from shared.signing import (
    Ed25519PrivateKey, Ed25519PublicKey, KeyFileError, fingerprint, read_private_key, read_public_key, write_key_pair,
)
from shared.envelope import read_basis
from shared.timeline import case_timeline, describe_entry

EXIT_CODES = """\b
Exit codes:
  0  intact / done
  1  tampered, not intact, or nothing found
  2  usage: a missing token, a malformed option (NAME=URL), a bad key file
  3  a service, a package or a file could not be read (or written) at all
     (a package that was read but whose content is wrong is 1)"""


class Unavailable(click.ClickException):
    """A service, a package or a file could not be read or written at all: nothing is known about it."""

    exit_code = 3


def as_moment(context: click.Context, parameter: click.Parameter, value: str | None) -> datetime | None:
    """As the services read `as_of`: ISO 8601; a bare date means the end of that day, Swedish time."""
    if value is None:
        return None
    try:
        return parse_moment(value)
    except ValueError:
        raise click.BadParameter("expected an ISO 8601 date or timestamp") from None


def service_urls(context: click.Context, parameter: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    urls = {}
    for entry in values:
        name, separator, url = entry.partition("=")
        if not (separator and name and url):
            raise click.BadParameter(f"{entry!r}: expected NAME=URL, e.g. initiatives=http://127.0.0.1:8001")
        urls[name] = url
    return urls


def reading_services(command: Callable[..., Any]) -> Callable[..., Any]:
    """--token and --service for every command that reads the services; passes `clients`
    (which connect only when used: a command reading a package never does, nor needs a token)."""

    @click.option("--token", envvar="CASES_TOKEN",
                  help="a bearer token with the auditor role (CASES_TOKEN); needed to read the services")
    @click.option("--service", "services", multiple=True, metavar="NAME=URL", callback=service_urls,
                  help="a service's URL (default: the four on localhost); repeat for each")
    @click.option("--index", envvar="CASES_INDEX", metavar="URL",
                  help="the audit service, whose case index says which aggregates to read (CASES_INDEX); "
                       "without it every service's whole feed is read")
    @functools.wraps(command)
    def with_clients(token: str | None, services: dict[str, str], index: str | None, **arguments: Any) -> Any:
        if not token and arguments.get("archive") is None:
            raise click.UsageError("no token to read the services with: set CASES_TOKEN or pass --token "
                                   "(a token with the auditor role)")
        urls = services or dict(LOCAL_SERVICES)
        click.get_current_context().meta["index"] = ServiceClient("audit", index, token or "") if index else None
        try:
            return command(clients=clients_for(urls, token or ""), **arguments)
        except (AuditError, requests.RequestException) as error:
            raise Unavailable(str(error)) from None

    return with_clients


def case_of(
    clients: dict[str, ServiceClient], diary_number: str, as_of: datetime | None = None,
    in_effect_on: date | None = None,
) -> Case:
    """The case, its aggregates found through the audit service's index when one was named."""
    from urllib.parse import quote

    index: ServiceClient | None = click.get_current_context().meta.get("index")
    if index is None:
        return read_case(clients, diary_number, as_of, in_effect_on)
    found = index.get(f"/cases/{quote(diary_number)}/aggregates")["aggregates"]
    aggregates = [(a["service"], a["aggregate_id"], a["type"]) for a in found if a["service"] in clients]
    return read_indexed_case(clients, diary_number, aggregates, as_of, in_effect_on)


def as_day(context: click.Context, parameter: click.Parameter, value: str | None) -> date | None:
    """A day for --in-effect-on: ISO 8601 (YYYY-MM-DD), within the years a case can concern."""
    if value is None:
        return None
    try:
        return load_day(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def as_of_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """--as-of (as recorded by a moment) and --in-effect-on (as in effect on a day), never both."""
    command = click.option("--in-effect-on", "in_effect_on", callback=as_day, metavar="DATE",
                           help="as in effect on that day, by the business dates the events carry "
                                "(registered_on, decided_on, ...; docs/events.md)")(command)
    return click.option("--as-of", "as_of", callback=as_moment,
                        help="as recorded by then (ISO date or timestamp; a date means the end of that day)")(command)


def basis_line(as_of: datetime | None, in_effect_on: date | None) -> str:
    """Which question a read answers, for a person."""
    if as_of is not None and in_effect_on is not None:
        raise click.UsageError("give either --as-of (as recorded) or --in-effect-on (as in effect), not both")
    if in_effect_on is not None:
        return f"as in effect on {in_effect_on.isoformat()} (by the events' business dates)"
    return f"as recorded by {as_of.isoformat()}" if as_of is not None else "as recorded now"


archive_option = click.option("--archive", type=click.Path(path_type=Path),
                              help="read an exported package instead of the services (checked first)")


def public_key(context: click.Context, parameter: click.Parameter, value: Path | None) -> Ed25519PublicKey | None:
    try:
        return None if value is None else read_public_key(value)
    except (KeyFileError, OSError) as error:
        raise click.BadParameter(str(error)) from None


def package_key_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """--public-key for the commands that read a package: with it, an unsigned or re-signed one is refused."""
    return click.option("--public-key", "package_key", envvar="CASES_PUBLIC_KEY", callback=public_key,
                        type=click.Path(exists=True, dir_okay=False, path_type=Path),
                        help="check the package's signature with this Ed25519 public key (CASES_PUBLIC_KEY)"
                        )(command)


@click.group(epilog=EXIT_CODES)
@click.version_option(package_name="regional-cases", prog_name="cases")
def main() -> None:
    """Read-only tools for auditors: a case's history across the services, and proof it is unchanged."""


@main.command()
@click.argument("diary_number")
@as_of_option
@click.option("--json", "as_json", is_flag=True, help="the envelopes as JSON, for machines")
@archive_option
@package_key_option
@reading_services
def timeline(clients: dict[str, ServiceClient], diary_number: str, as_of: datetime | None,
             in_effect_on: date | None, as_json: bool, archive: Path | None,
             package_key: Ed25519PublicKey | None) -> None:
    """Every event about DIARY_NUMBER, from every service, in the order it happened (--in-effect-on: those in
    effect on a day, in the order they took effect)."""
    basis = basis_line(as_of, in_effect_on)
    if archive is not None:
        entries = case_timeline({"archive": _checked(archive, package_key).timeline}, diary_number, as_of,
                                in_effect_on)
    else:
        entries = case_of(clients, diary_number, as_of, in_effect_on).timeline
    if as_json:  # a list of envelopes, as before; read as of or in effect, each says which question it answers
        answered = read_basis(in_effect_on) if as_of or in_effect_on else {}
        click.echo(json.dumps([{**entry, **answered} for entry in entries], ensure_ascii=False, indent=2))
        return
    if not entries:
        raise click.ClickException(f"no events about {diary_number}" + (f", {basis}" if as_of or in_effect_on else ""))
    click.echo(f"{diary_number}: {len(entries)} events from {', '.join(sorted({e['source'] for e in entries}))}")
    click.echo(f"  {basis}")
    for envelope in entries:
        click.echo(describe_entry(envelope))


@main.command()
@click.argument("diary_number")
@as_of_option
@click.option("--json", "as_json", is_flag=True, help="the states as JSON, for machines")
@archive_option
@package_key_option
@reading_services
def state(clients: dict[str, ServiceClient], diary_number: str, as_of: datetime | None,
          in_effect_on: date | None, as_json: bool, archive: Path | None,
          package_key: Ed25519PublicKey | None) -> None:
    """The case and every aggregate it involves (meetings, agreements, evaluations) as they were (or as in
    effect on a day)."""
    basis = basis_line(as_of, in_effect_on)
    if archive is not None:
        if in_effect_on is not None:
            raise click.UsageError("--in-effect-on reads the services; a package keeps the states as recorded "
                                   "(use `timeline --archive --in-effect-on`)")
        states = _checked(archive, package_key).states_as_of(as_of)
    else:
        states = case_states(clients, case_of(clients, diary_number, as_of, in_effect_on), as_of, in_effect_on)
    if not states:
        raise click.ClickException(f"no aggregate involved in {diary_number}" + (f", {basis}" if as_of or in_effect_on else ""))
    if as_json:
        click.echo(json.dumps(states, ensure_ascii=False, indent=2))
        return
    click.echo(f"{diary_number}: {basis}")
    for found in states:
        click.echo(f"{found['service']} {found['type']} {found['aggregate_id']} (version {found['version']})")
        for name, value in found["state"].items():
            click.echo(f"    {name}: {json.dumps(value, ensure_ascii=False)[:160]}")


@main.command()
@click.argument("diary_number", required=False)
@click.option("--whole-service", "whole_service", metavar="NAME",
              help="verify every aggregate of one service's log instead of a case")
@click.option("--against", type=click.Path(path_type=Path),
              help="also check that the chains still reach the heads an exported package recorded")
@click.option("--json", "as_json", is_flag=True, help="the report as JSON")
@package_key_option
@reading_services
def verify(clients: dict[str, ServiceClient], diary_number: str | None, whole_service: str | None,
           against: Path | None, as_json: bool, package_key: Ed25519PublicKey | None) -> None:
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
        heads = _checked(against, package_key).heads()
        reports = [report for _, report in verification.reports]
        verification.log_problems += [("archive", p) for p in verify_against_heads(reports, heads)]
    _report(verification, scope, as_json)


def signing_key(context: click.Context, parameter: click.Parameter, value: Path | None) -> Ed25519PrivateKey | None:
    try:
        return None if value is None else read_private_key(value)
    except (KeyFileError, OSError) as error:
        raise click.BadParameter(str(error)) from None


@main.command()
@click.argument("diary_number")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True,
              help="the package to write (a .zip)")
@click.option("--signing-key", envvar="CASES_SIGNING_KEY", callback=signing_key,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="sign the manifest with this Ed25519 private key (PEM, PKCS8; CASES_SIGNING_KEY)")
@click.option("--public", "public", is_flag=True,
              help="a package made for the public: content marked secret (OSL) withheld and named with its "
                   "provision, the stored events (whose hash chains cannot be redacted) left out")
@reading_services
def export(clients: dict[str, ServiceClient], diary_number: str, output: Path,
           signing_key: Ed25519PrivateKey | None, public: bool) -> None:
    """Write DIARY_NUMBER's events, states and a manifest with checksums into one archive package.

    The auditor's package keeps every content, secret or not (its README says so); --public makes one
    for the public. With --signing-key the package holds manifest.json.sig, an Ed25519 signature of
    manifest.json: `cases check-archive --public-key` then finds a package rewritten as a whole."""
    case = case_of(clients, diary_number)
    if not case.timeline:
        raise click.ClickException(f"no events about {diary_number}")
    package = io.BytesIO()
    verification = export_case(clients, case, package, exported_by="cases export", signing_key=signing_key,
                               audience="public" if public else "auditor")
    try:
        output.write_bytes(package.getvalue())
    except OSError as error:
        raise Unavailable(f"{output} cannot be written: {error.strerror or error}") from None
    signed = f", signed by key {fingerprint(signing_key.public_key())}" if signing_key else ", not signed"
    made_for = ", for the public (secret content withheld, stored events left out)" if public else ""
    click.echo(f"{output}: {len(case.timeline)} events, {len(case.aggregates)} aggregates{signed}{made_for}")
    if not verification.intact:
        _report(verification, diary_number, as_json=False)


@main.command("check-archive", epilog=EXIT_CODES)
@click.argument("package", type=click.Path(path_type=Path))
@click.option("--public-key", envvar="CASES_PUBLIC_KEY", callback=public_key,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="check the manifest's signature with this Ed25519 public key (PEM; CASES_PUBLIC_KEY); "
                   "without it the signature is not checked")
@click.option("--json", "as_json", is_flag=True, help="the result as JSON")
def check_archive(package: Path, public_key: Ed25519PublicKey | None, as_json: bool) -> None:
    """Check a package without the system: every file the manifest lists (present, SHA-256, size) and
    nothing else, SHA256SUMS, every chain up to its recorded head, and, with --public-key, the signature.

    Exits 1 naming each problem when it is not intact; 3 when the file cannot be read at all."""
    try:
        archive = read_archive(package, public_key)
    except PackageUnreadable as error:
        raise Unavailable(str(error)) from None
    click.echo(_archive_json(package, archive) if as_json else _archive_text(package, archive))
    if not archive.intact:
        raise SystemExit(1)


@main.command()
@click.option("--private-key", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="where to write the private key (PEM, PKCS8, mode 0600); keep it with whoever exports")
@click.option("--public-key", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="where to write the public key (PEM); give it to whoever checks packages")
def keygen(private_key: Path, public_key: Path) -> None:
    """Make an Ed25519 key pair for signing packages (`export --signing-key`, `check-archive --public-key`).

    Never overwrites a file."""
    for option, path in (("--private-key", private_key), ("--public-key", public_key)):
        if path.exists():
            raise click.BadParameter(f"{path} exists; it is not overwritten", param_hint=option)
    try:
        key = write_key_pair(private_key, public_key)
    except FileExistsError as error:
        raise click.UsageError(f"{error}; it is not overwritten") from None
    except OSError as error:
        raise Unavailable(f"the keys cannot be written: {error}") from None
    click.echo(f"{private_key}: private key (mode 0600); {public_key}: public key {fingerprint(key)}")


def _archive_json(package: Path, archive: Archive) -> str:
    return json.dumps({
        "package": str(package), "intact": archive.intact, "problems": archive.problems,
        "signature": archive.signature, "signed": archive.signed,
        "diary_number": archive.manifest.get("diary_number"), "exported_at": archive.manifest.get("exported_at"),
        "audience": archive.manifest.get("audience", "auditor") if archive.manifest else None,
    }, ensure_ascii=False, indent=2)


def _archive_text(package: Path, archive: Archive) -> str:
    manifest = archive.manifest
    if archive.intact:
        lines = [f"{package}: intact — {manifest['diary_number']}, {len(archive.timeline)} events, "
                 f"{len(manifest['aggregates'])} aggregates, exported {manifest['exported_at']}"]
        if manifest.get("audience") == "public":
            lines.append("public package: secret content withheld and the stored events left out, so no hash "
                         "chain could be recomputed (compare its heads with the live chains: cases verify --against)")
    else:
        lines = [f"NOT INTACT {problem}" for problem in archive.problems]
        lines.append(f"{package}: not intact — {len(archive.problems)} problems")
    return "\n".join([*lines, _signature_line(archive)])


def _signature_line(archive: Archive) -> str:
    if archive.signature == "verified":
        return "signature: verified with the given public key"
    if archive.signature == "not checked":
        held = "the package holds a signature" if archive.signed else "the package holds no signature"
        return f"signature: not checked ({held}; give --public-key to check it)"
    return f"signature: {archive.signature}"


def _checked(path: Path, key: Ed25519PublicKey | None) -> Archive:
    try:
        archive = read_archive(path, key)
    except PackageUnreadable as error:
        raise Unavailable(str(error)) from None
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
