"""`make asyncapi-docs`: writes every service's AsyncAPI document to docs/asyncapi/<service>.json, as the
service generates it at GET /asyncapi.json (with config.yml's default broker address); a unit test checks
that the committed documents are what the code generates."""
from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import click

from shared.asyncapi import for_service

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = REPO_ROOT / "docs" / "asyncapi"
# Every service that publishes or consumes events, by its module and nameko service class.
SERVICES = {"initiatives": "InitiativesService", "letters_of_intent": "LettersOfIntentService",
            "meetings": "MeetingsService", "evaluations": "EvaluationsService", "audit": "AuditService"}


def generated(service: str) -> dict[str, Any]:
    module = importlib.import_module(f"services.{service}.service")
    return for_service(getattr(module, SERVICES[service]), module.api.title)


def rendered(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


@click.command()
@click.option("--directory", type=click.Path(path_type=Path), default=DOCS, show_default=True)
def main(directory: Path) -> None:
    """Write docs/asyncapi/<service>.json for every service."""
    directory.mkdir(parents=True, exist_ok=True)
    for service in SERVICES:
        (directory / f"{service}.json").write_text(rendered(generated(service)), encoding="utf-8")
        click.echo(f"{directory / service}.json")


if __name__ == "__main__":
    main()
