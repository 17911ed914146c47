"""The demo across the services: seed 000's initiative decided in a held meeting, its letters of intent, seed 001's agreement.

In the initiatives service the initiative is submitted, registered, referred and
answered; in the meetings service regionala utvecklingsnämnden (with members)
holds a meeting that puts it on the agenda, decides it "considered answered" in a
numbered paragraph, and has the minutes adjusted by two adjusters. The initiative
follows over RabbitMQ and ends "final", ready to be dispatched. In the letters of
intent service: the letters with Samforma and Youth Up North with their follow-ups
and interim reports, and the collaboration agreement 2023–2026 signed by fifteen
municipalities, with its consultation and reviews.
"""
from __future__ import annotations

import time
from typing import Any

import click

from services.initiatives.demo import Client, load_seed_000
from services.letters_of_intent import demo as letters_demo
from services.meetings import demo as meetings_demo


def load_demo(initiatives_url: str, meetings_url: str, letters_url: str, timeout: float = 60.0) -> dict[str, Any]:
    initiatives = Client(initiatives_url)
    initiative = load_seed_000(initiatives, through="answer")
    meetings = Client(meetings_url)

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        return meetings.post(path, "secretary", body)

    committee = meetings_demo.establish_body(post)
    meeting = meetings_demo.hold_meeting(post, committee["id"], initiative["diary_number"])
    letters = Client(letters_url)

    def post_letters(path: str, body: dict[str, Any]) -> dict[str, Any]:
        return letters.post(path, "strategist", body)

    letters_demo.load_letters(post_letters)
    agreement = letters_demo.load_agreement(post_letters)
    deadline = time.monotonic() + timeout
    while initiative["state"] != "final":
        if time.monotonic() > deadline:
            raise click.ClickException(f"the initiative did not follow the meeting: {initiative['state']}")
        time.sleep(0.3)
        initiative = initiatives.get(f"/initiatives/{initiative['id']}")
    return {"initiative": initiative, "meeting": meeting, "agreement": agreement}


@click.command()
@click.option("--initiatives-url", default="http://127.0.0.1:8001", show_default=True)
@click.option("--meetings-url", default="http://127.0.0.1:8003", show_default=True)
@click.option("--letters-url", default="http://127.0.0.1:8002", show_default=True)
def main(initiatives_url: str, meetings_url: str, letters_url: str) -> None:
    """Loads the demo into running services."""
    loaded = load_demo(initiatives_url, meetings_url, letters_url)
    initiative, meeting = loaded["initiative"], loaded["meeting"]
    click.echo(
        f"demo loaded: {initiative['diary_number']} {initiative['title']} ({initiative['state']})\n"
        f"  decided in {meeting['title']}, {meeting['paragraphs'][0]['paragraph']}: "
        f"{meeting['paragraphs'][0]['outcome']}; minutes adjusted {meeting['adjusted_on']}\n"
        f"  {initiatives_url}/initiatives/{initiative['id']}/history\n"
        f"  {meetings_url}/meetings/{meeting['id']}\n"
        f"  {letters_url}/agreements/{loaded['agreement']['id']}"
    )


if __name__ == "__main__":
    main()
