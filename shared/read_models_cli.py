"""`read-models`: the operator's command for a service's read model (shared.readmodel).

    read-models status  initiatives     how far the read model has read the service's log
    read-models rebuild initiatives     drop its tables and replay the whole log into them

The store is the service's own, found as the service finds it: its config.yml, with the
environment filling in `${VAR:default}` (PERSISTENCE, DATA_DIR, POSTGRES_*). A rebuild can run
beside the running service: until it is done, lists show what has been replayed so far.
"""
from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Any

import click
import yaml

from shared.store import construct_application, persistence_env

REPO_ROOT = Path(__file__).resolve().parents[1]
APPLICATIONS = {
    "initiatives": "services.initiatives.application:InitiativesApplication",
    "letters_of_intent": "services.letters_of_intent.application:LettersOfIntentApplication",
    "meetings": "services.meetings.application:MeetingsApplication",
    "evaluations": "services.evaluations.application:EvaluationsApplication",
}


def service_config(service: str) -> dict[str, Any]:
    """The service's config.yml as `nameko run` reads it (environment variables substituted)."""
    from nameko.cli.main import setup_yaml_parser

    setup_yaml_parser()
    with open(REPO_ROOT / "services" / service / "config.yml", encoding="utf-8") as config:
        return yaml.safe_load(config)


def application_of(service: str) -> Any:
    module, name = APPLICATIONS[service].split(":")
    app_class = getattr(importlib.import_module(module), name)
    app, _ = construct_application(app_class, persistence_env(service_config(service), service))
    return app


def echo_counts(app: Any) -> None:
    for table, count in app.read_model.view.count_rows().items():
        click.echo(f"  {table}: {count} rows")


service_argument = click.argument("service", type=click.Choice(sorted(APPLICATIONS)))


@click.group()
def main() -> None:
    """A service's read model: the tables its lists, look-ups and search read."""


@main.command()
@service_argument
def status(service: str) -> None:
    """How far the read model has read the service's log."""
    app = application_of(service)
    try:
        position, head = app.read_model.position, app.recorder.max_notification_id() or 0
        click.echo(f"{service}: read model at position {position} of {head} ({head - position} behind)")
        echo_counts(app)
    finally:
        app.close()


@main.command()
@service_argument
def rebuild(service: str) -> None:
    """Drop the read model's tables and replay the service's whole log into them."""
    app = application_of(service)
    try:
        started = time.monotonic()
        position = app.rebuild_read_model()
        click.echo(f"{service}: read model rebuilt to position {position} in {time.monotonic() - started:.1f} s")
        echo_counts(app)
    finally:
        app.close()
