"""Loads seed 000's initiative into a running initiatives service, over HTTP.

`make run` calls it: the initiative is submitted, registered and referred for
preparation, so there is something to look at. `--through-closure` drives it on
to a "considered answered" decision, dispatched and closed.
"""
from __future__ import annotations

import json
from importlib import resources
from typing import Any

import click
import requests

DEV_TOKENS = {
    "registrar": "dev-registrar",
    "case_officer": "dev-case-officer",
    "secretary": "dev-secretary",
}

# (step in the seed file, path under /initiatives/<id>, role that may take it)
STEPS = [
    ("registration", "register", "registrar"),
    ("referral", "referral", "registrar"),
    ("answer", "answer", "case_officer"),
    ("schedule", "schedule", "secretary"),
    ("decision", "decision", "secretary"),
    ("finalisation", "finalisation", "secretary"),
    ("dispatch", "dispatch", "registrar"),
    ("closure", "closure", "registrar"),
]


def seed_000() -> dict[str, Any]:
    return json.loads(resources.files(__package__).joinpath("seeds/seed_000.json").read_text("utf-8"))


class Client:
    def __init__(self, base_url: str, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()

    def post(self, path: str, role: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.session.post(
            f"{self.base_url}{path}", json=body,
            headers={"Authorization": f"Bearer {DEV_TOKENS[role]}"}, timeout=30,
        )
        if response.status_code >= 400:
            raise click.ClickException(f"POST {path}: {response.status_code} {response.text}")
        return response.json()


def load_seed_000(client: Client, through: str = "referral") -> dict[str, Any]:
    """Drives seed 000 up to and including the step named `through`; returns the initiative."""
    seed = seed_000()
    initiative = client.post("/initiatives", "case_officer", seed["submission"])
    for step, path, role in STEPS:
        initiative = client.post(f"/initiatives/{initiative['id']}/{path}", role, seed[step])
        if step == through:
            break
    return initiative


@click.command()
@click.option("--url", default="http://127.0.0.1:8001", show_default=True, help="the service's base URL")
@click.option("--through-closure", is_flag=True, help="drive the case all the way to closure")
def main(url: str, through_closure: bool) -> None:
    initiative = load_seed_000(Client(url), "closure" if through_closure else "referral")
    click.echo(
        f"{initiative['diary_number']}: {initiative['title']} ({initiative['state']})\n"
        f"  {url}/initiatives/{initiative['id']}/history"
    )


if __name__ == "__main__":
    main()
