"""Filling a store with many cases fast: through the application and its aggregates, many cases a transaction.

Each case lives seed 000's whole life (submitted, registered, referred, answered, scheduled,
decided, finalised, dispatched, closed: nine events), or stops earlier, so every state is
listed. Its diary number comes from the diary's counter exactly as a registration takes it;
one case in `marked_every` carries a word no other case has (twenty cases, by default, at any
size), so a search finds the same cases, as many, at every size.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Callable, Iterator

from eventsourcing.application import AggregateNotFoundError

from services.initiatives.application import InitiativesApplication
from services.initiatives.demo import STEPS, seed_000
from services.initiatives.domain import Initiative, format_diary_number
from services.initiatives.schemas import SubmitInitiative
from shared.serials import Serial

MARKER = "kapitalförsörjning"
LIFE = [step for step, _, _ in STEPS]  # registration ... closure
PARTIES = ["KD", "S", "M", "C", "V", "L", "SD", "MP"]
ACTOR = "Bulk (benchmark)"


def cases(count: int, marked_every: int) -> Iterator[tuple[int, dict[str, Any], int]]:
    """(number, submission, how many of the life's steps it takes) for each case."""
    submission = SubmitInitiative().load(seed_000()["submission"])
    for number in range(count):
        title = f"Ärende {number}: samverkan med civilsamhället"
        if number % marked_every == 0:
            title += f" och {MARKER}"
        submitters = [{"name": f"Ledamot {number % 97}", "party": PARTIES[number % len(PARTIES)]}]
        yield number, {**submission, "title": title, "submitters": submitters}, number % (len(LIFE) + 1)


def live(initiative: Initiative, steps: int, serial: Serial, diary: str, number_format: str, on: date) -> None:
    """Takes the first `steps` steps of seed 000's life, on the aggregate (the rules checked as ever)."""
    seed = seed_000()
    for step in LIFE[:steps]:
        if step == "registration":
            serial.issue()
            initiative.register(diary=diary, registered_on=on, actor=ACTOR,
                                diary_number=format_diary_number(number_format, diary=diary, year=serial.year,
                                                                 serial=serial.last))
        elif step == "referral":
            initiative.refer_for_preparation(preparers=seed["referral"]["preparers"], due_date=on + timedelta(90),
                                             referred_on=on, actor=ACTOR)
        elif step == "answer":
            initiative.draft_answer(answer={**seed["answer"], "basis_documents": []}, actor=ACTOR)
        elif step == "schedule":
            initiative.schedule_for_decision(body=seed["schedule"]["body"], meeting=seed["schedule"]["meeting"],
                                             meeting_date=on + timedelta(30), actor=ACTOR)
        elif step == "decision":
            initiative.record_decision(outcome="considered_answered", paragraph="§ 1", text=seed["decision"]["text"],
                                       decided_on=on + timedelta(30), actor=ACTOR)
        elif step == "finalisation":
            initiative.finalise(minutes_adjusted_on=on + timedelta(35), actor=ACTOR)
        elif step == "dispatch":
            initiative.dispatch(recipients=seed["dispatch"]["recipients"], dispatched_on=on + timedelta(36), actor=ACTOR)
        elif step == "closure":
            initiative.close(closed_on=on + timedelta(40), actor=ACTOR)


def fill_initiatives(app: InitiativesApplication, count: int, *, marked_every: int | None = None, per_save: int = 200,
                     year: int = 2025, progress: Callable[[int], None] = lambda done: None) -> int:
    """Saves `count` cases, `per_save` in one transaction with the diary's counter; returns the events written.
    By default twenty cases carry the marked word, whatever the count."""
    marked_every = marked_every or max(1, count // 20)
    scope = f"diary/{app.diary}"
    try:
        serial = app.repository.get(Serial.create_id(scope, year))
    except AggregateNotFoundError:
        serial = Serial(scope, year)
    written, batch = 0, []
    on = date(year, 6, 1)  # after seed 000's submission
    for number, submission, steps in cases(count, marked_every):
        initiative = Initiative(actor=ACTOR, **submission)
        live(initiative, steps, serial, app.diary, app.diary_number_format, on + timedelta(number % 180))
        batch.append(initiative)
        if len(batch) == per_save or number == count - 1:
            recordings = app.save(serial, *batch)
            written += len(recordings)
            batch = []
            progress(number + 1)
    return written
