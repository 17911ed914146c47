"""`cases-admin`: the registrar's command line.

    cases-admin import FILE [--url http://127.0.0.1:8001] [--token …]

Posts an import file (JSON or CSV, docs/import.md) to the initiatives service, which checks the whole
file, records each case with its own dates, and answers per case; this prints what happened to each.
Exit codes: 0 done; 1 the service refused the file (each problem printed); 3 the service could not be read.
"""
from __future__ import annotations

from pathlib import Path

import click
import requests

from shared.cli import Unavailable


@click.group()
def main() -> None:
    """Tools for the registrar."""


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", default="http://127.0.0.1:8001", show_default=True, help="the initiatives service")
@click.option("--token", envvar="CASES_ADMIN_TOKEN", required=True,
              help="a bearer token with the registrar role (CASES_ADMIN_TOKEN)")
def import_file(file: Path, url: str, token: str) -> None:
    """Import the cases of FILE (.json or .csv) from an older diary."""
    media_type = "text/csv" if file.suffix.lower() == ".csv" else "application/json"
    try:
        response = requests.post(f"{url.rstrip('/')}/imports", params={"filename": file.name},
                                 data=file.read_bytes(), timeout=300,
                                 headers={"Content-Type": media_type, "Authorization": f"Bearer {token}"})
    except requests.RequestException as error:
        raise Unavailable(f"{url} could not be reached: {error}") from None
    body = response.json() if response.headers.get("Content-Type", "").endswith("json") else {}
    if response.status_code >= 400:
        for error in body.get("errors", []):
            click.echo(f"{error['field']}: {error['message']}", err=True)
        click.echo(f"{file.name}: refused ({response.status_code}) {body.get('detail', response.text[:200])}; "
                   "nothing was imported", err=True)
        raise SystemExit(1 if response.status_code < 500 else 3)
    for line in body["records"]:
        click.echo(f"{line['diary_number']}: {line['outcome']} ({line['events']} events) {line['id']}")
    click.echo(f"{file.name} (sha256 {body['sha256']}): {len(body['records'])} cases")


if __name__ == "__main__":
    main()
