"""Seed 000's letters of intent and seed 001's collaboration agreement, over HTTP.

Used by `make run` and by the tests: both letters with their follow-ups and an
interim report; the agreement with fifteen municipalities signing over time, a
consultation with replies (one late) and its reviews.
"""
from __future__ import annotations

import json
from datetime import date, timedelta
from importlib import resources
from typing import Any, Callable

Post = Callable[[str, dict[str, Any]], dict[str, Any]]


def seed(name: str) -> dict[str, Any]:
    return json.loads(resources.files(__package__).joinpath(f"seeds/{name}.json").read_text("utf-8"))


def load_letters(post: Post) -> list[dict[str, Any]]:
    letters = []
    for entry in seed("seed_000_letters")["letters"]:
        letter = post("/letters", entry["letter"])
        for follow_up in entry["follow_ups"]:
            letter = post(f"/letters/{letter['id']}/follow-ups", follow_up)
        letters.append(post(f"/letters/{letter['id']}/reports", entry["report"]))
    return letters


def load_agreement(post: Post, signing: int | None = None) -> dict[str, Any]:
    """The agreement; `signing` parties sign (all by default), a week apart, in the seed's order."""
    data = seed("seed_001_agreement")
    agreement = post("/agreements", data["agreement"])
    path = f"/agreements/{agreement['id']}"
    agreement = post(f"{path}/consultations", data["consultation"])
    consultation = agreement["consultations"][0]
    reply_by = date.fromisoformat(consultation["reply_by"])
    for party in data["replies_on_time"]:
        post(f"{path}/consultations/{consultation['consultation_id']}/replies",
             {"party": party, "received_on": (reply_by - timedelta(days=3)).isoformat(),
              "diary_number": consultation["diary_number"], "summary": "Tillstyrker."})
    post(f"{path}/consultations/{consultation['consultation_id']}/replies",
         {"party": data["late_reply"], "received_on": (reply_by + timedelta(days=10)).isoformat(),
          "diary_number": consultation["diary_number"]})
    first = date.fromisoformat(data["first_signature_on"])
    parties = data["agreement"]["parties"]
    for week, party in enumerate(parties[: len(parties) if signing is None else signing]):
        agreement = post(f"{path}/signatures", {
            "party": party, "signed_by": f"Kommunstyrelsens ordförande, {party}",
            "signed_on": (first + timedelta(weeks=week)).isoformat(), "decided_by": data["decided_by"]})
    for review in data["reviews"]:
        agreement = post(f"{path}/reviews", review)
    return agreement
