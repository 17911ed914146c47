"""The demo across the four services: seed 000's case, its letters of intent, seed 001's agreement and its evaluation.

The letters of intent service records seed 000's letters and seed 001's
agreement, whose review of relevance 2024 has fallen due; the evaluations service
plans its evaluation, which is carried out with seed 003's findings, completed and
published. In the initiatives service the initiative is submitted, registered,
referred and answered, citing that evaluation; in the meetings service regionala utvecklingsnämnden (with members)
holds a meeting that puts it on the agenda, decides it "considered answered" in a
numbered paragraph, and has the minutes adjusted by two adjusters. The initiative
follows over RabbitMQ and ends "final", ready to be dispatched.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import click
import requests

from services.evaluations import demo as evaluations_demo
from services.initiatives.demo import Client, load_seed_000, seed_000
from services.letters_of_intent import demo as letters_demo
from services.meetings import demo as meetings_demo


def load_demo(urls: dict[str, str], timeout: float = 60.0, session: requests.Session | None = None) -> dict[str, Any]:
    """`urls` by service name: initiatives, letters_of_intent, meetings, evaluations. Every request goes
    through `session` when one is given (the benchmark times them). It may be loaded again into services
    that hold it already: each time is a case, letters, an agreement, an evaluation and a meeting of their own."""
    initiatives = Client(urls["initiatives"], session)
    initiative = load_seed_000(initiatives, through="referral")
    meetings = Client(urls["meetings"], session)

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        return meetings.post(path, "secretary", body)

    letters = Client(urls["letters_of_intent"], session)

    def post_letters(path: str, body: dict[str, Any]) -> dict[str, Any]:
        return letters.post(path, "strategist", body)

    letters_demo.load_letters(post_letters)
    agreement = letters_demo.load_agreement(post_letters)  # its reviews have fallen due: evaluations are planned
    evaluations = Client(urls["evaluations"], session)
    review_2024 = next(r for r in agreement["reviews"] if r["due_on"].startswith("2024"))
    planned = wait_for(lambda: evaluations.get(f"/evaluations?review_id={review_2024['review_id']}")["evaluations"],
                       lambda found: bool(found), timeout)  # by its review: the first page of all holds others
    evaluation = planned[0]
    evaluation = evaluations_demo.carry_out(lambda path, body: evaluations.post(path, "strategist", body),
                                            evaluation["id"])
    answer = {**seed_000()["answer"]}
    answer["basis_documents"] = [*answer["basis_documents"],
                                 {"title": evaluation["title"], "evaluation_id": evaluation["id"]}]
    initiative = wait_for(
        lambda: initiatives.post_unless_field_refused(
            f"/initiatives/{initiative['id']}/answer", "case_officer", answer, "basis_documents."),
        lambda answered: answered is not None, timeout)  # until the completed evaluation has reached initiatives

    committee = meetings_demo.establish_body(post)
    meeting = meetings_demo.hold_meeting(post, committee["id"], initiative["diary_number"])
    deadline = time.monotonic() + timeout
    while initiative["state"] != "final":
        if time.monotonic() > deadline:
            raise click.ClickException(f"the initiative did not follow the meeting: {initiative['state']}")
        time.sleep(0.3)
        initiative = initiatives.get(f"/initiatives/{initiative['id']}")
    return {"initiative": initiative, "meeting": meeting, "agreement": agreement, "evaluation": evaluation}


def wait_for(read: Callable[[], Any], condition: Callable[[Any], bool], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if condition(value):
            return value
        if time.monotonic() > deadline:
            raise click.ClickException("the services did not pass the demo's events on in time")
        time.sleep(0.3)


@click.command()
@click.option("--initiatives-url", default="http://127.0.0.1:8001", show_default=True)
@click.option("--meetings-url", default="http://127.0.0.1:8003", show_default=True)
@click.option("--letters-url", default="http://127.0.0.1:8002", show_default=True)
@click.option("--evaluations-url", default="http://127.0.0.1:8004", show_default=True)
def main(initiatives_url: str, meetings_url: str, letters_url: str, evaluations_url: str) -> None:
    """Loads the demo into running services."""
    loaded = load_demo({"initiatives": initiatives_url, "meetings": meetings_url,
                        "letters_of_intent": letters_url, "evaluations": evaluations_url})
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
