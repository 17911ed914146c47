"""Driving a case through the HTTP API in tests, with seed 000's data."""
from __future__ import annotations

from typing import Any

from services.initiatives.demo import STEPS, seed_000
from tests.support.services import Api


def submit(api: Api, **changes: Any) -> dict[str, Any]:
    return api.command("/initiatives", "case_officer", {**seed_000()["submission"], **changes})


def drive(api: Api, initiative_id: str, through: str) -> dict[str, Any]:
    """Takes seed 000's steps, in order, up to and including `through`."""
    seed = seed_000()
    initiative: dict[str, Any] = {}
    for step, path, role in STEPS:
        initiative = api.command(f"/initiatives/{initiative_id}/{path}", role, seed[step])
        if step == through:
            return initiative
    raise ValueError(f"no step {through!r}")
