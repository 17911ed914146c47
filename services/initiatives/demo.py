"""Loads seed 000's initiative into a running initiatives service, over HTTP.

services/demo.py drives it up to a drafted answer, and a meeting decides it;
the tests drive it through any step.
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
    "strategist": "dev-strategist",
    "auditor": "dev-auditor",
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
        return self._checked("POST", path, role, json=body)

    def post_unless_field_refused(
        self, path: str, role: str, body: dict[str, Any], field_prefix: str
    ) -> dict[str, Any] | None:
        """A POST that a field starting with `field_prefix` may refuse for now (None then); other refusals raise."""
        response = self.session.post(f"{self.base_url}{path}", json=body, timeout=30,
                                     headers={"Authorization": f"Bearer {DEV_TOKENS[role]}"})
        if response.status_code == 400 and all(
            error["field"].startswith(field_prefix) for error in response.json().get("errors", [])
        ):
            return None
        if response.status_code >= 400:
            raise click.ClickException(f"POST {path}: {response.status_code} {response.text}")
        return response.json()

    def get(self, path: str, role: str = "auditor") -> dict[str, Any]:
        return self._checked("GET", path, role)

    def _checked(self, method: str, path: str, role: str, **kwargs: Any) -> dict[str, Any]:
        response = self.session.request(
            method, f"{self.base_url}{path}", headers={"Authorization": f"Bearer {DEV_TOKENS[role]}"},
            timeout=30, **kwargs,
        )
        if response.status_code >= 400:
            raise click.ClickException(f"{method} {path}: {response.status_code} {response.text}")
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
