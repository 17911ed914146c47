"""How long one long-lived aggregate takes to load and to verify, with and without the hash chain.

One LetterOfIntent, signed and then followed up through its domain methods until
it has `events` events (10,000 by default), is recorded twice in the same store
(a temporary SQLite file, or a fresh schema in PostgreSQL's `cases_test`):

- through LettersOfIntentApplication, so every event carries the chain (shared.chain);
- through RawApplication, stock eventsourcing with the same transcodings, under
  another aggregate id: the same events as plain eventsourcing stores them.

The figures, each timed `repeat` times (best = min, and median; the repetitions
of the four figures are interleaved, so the machine's drift hits them alike):

- raw_replay     select the unchained events, decode each with a stock Mapper (same
                 transcoder), mutate with eventsourcing's project_aggregate (what
                 Repository.get uses): loading without the chain. The baseline of every ratio.
- replay         `app.repository.get(id)`: our load (the chained mapper strips the chain).
- verify         select the chained events and recompute the chain (`verify_chain`).
- replay_verify  a verified load sharing one select: verify the stored events, then
                 decode and mutate the same rows (one round trip, not the sum of the two).

`x_raw_*` is a figure's time over raw_replay's in the same run on the same store.
Only sanity checks (event count, intact chain) are asserted; no thresholds.

    python -m bench.replay [--stores sqlite,postgres] [--events 10000] [--repeat 5]
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import statistics
import time
from datetime import date, timedelta
from typing import Any, Callable
from uuid import uuid4

from eventsourcing.application import project_aggregate
from eventsourcing.persistence import Mapper

from bench.stores import RawApplication, store_env
from services.letters_of_intent.application import LettersOfIntentApplication
from services.letters_of_intent.domain import FollowUpKind, LetterOfIntent
from shared.chain import Record, unseal, verify_chain

BATCH = 500  # events per save while setting up


def letter_events(events: int) -> list[list[Any]]:
    """One letter signed, then followed up (ten a day) to `events` events, in batches of BATCH."""
    signed_on = date(2020, 1, 1)
    letter = LetterOfIntent(
        title="Samverkan kring kompetensförsörjning", counterparts=[{"name": "Högskolan", "role": "part"}],
        purpose="Gemensam plan för kompetensförsörjning i regionen", areas=["kompetens", "utbildning"],
        responsible_officials=[{"name": "A. Andersson", "unit": "Regional utveckling"}],
        signed_on=signed_on, review_on=None, diary_number="RS 2020-0001", actor="bench")
    kinds = [kind.value for kind in FollowUpKind]
    batches, pending = [], 1
    for i in range(events - 1):
        letter.add_follow_up(follow_up_id=uuid4().hex, kind=kinds[i % len(kinds)],
                             on=signed_on + timedelta(days=i // 10), text=f"Uppföljning {i}: möte om läget " * 3,
                             involved=["A. Andersson", "B. Berg"], diary_number=None, actor="bench")
        pending += 1
        if pending == BATCH or i == events - 2:
            batches.append(letter.collect_events())
            pending = 0
    return batches


def timed(figures: dict[str, tuple[Callable[[], Any], Callable[[Any], None]]], repeat: int) -> dict[str, list[float]]:
    """Seconds of each figure's `repeat` calls, taken round-robin so that the machine's drift hits every
    figure alike (garbage collected before each call); each figure's check sees each of its results."""
    seconds: dict[str, list[float]] = {name: [] for name in figures}
    for _ in range(repeat):
        for name, (function, check) in figures.items():
            gc.collect()
            start = time.perf_counter()
            result = function()
            seconds[name].append(time.perf_counter() - start)
            check(result)
            del result
    return seconds


def summary(seconds: list[float], events: int, baseline: list[float]) -> dict[str, Any]:
    """Best and median, in seconds and events/s, and over the baseline's (raw_replay's) best and median."""
    best, median = min(seconds), statistics.median(seconds)
    return {"best_s": round(best, 4), "median_s": round(median, 4),
            "best_events_per_s": round(events / best), "median_events_per_s": round(events / median),
            "x_raw_best": round(best / min(baseline), 2),
            "x_raw_median": round(median / statistics.median(baseline), 2),
            "runs_s": [round(s, 4) for s in seconds]}


def measure(store: str, batches: list[list[Any]], repeat: int) -> dict[str, Any]:
    """The four figures on one store (see the module's docstring)."""
    events = sum(map(len, batches))
    letter_id, raw_id = batches[0][0].originator_id, uuid4()
    started = time.perf_counter()
    with store_env(store, "letters_of_intent") as env:
        app, raw = LettersOfIntentApplication(env=env), RawApplication(env=env)
        try:
            for batch in batches:
                app.save(*batch)
                raw.save(*(dataclasses.replace(event, originator_id=raw_id) for event in batch))
            setup_s = time.perf_counter() - started
            stock = Mapper(transcoder=app.mapper.transcoder)
            last = raw.recorder.select_events(raw_id, desc=True, limit=1)[0]
            if unseal(last.state)[2] is not None:
                raise RuntimeError("the raw copy carries a chain")

            def raw_replay() -> Any:
                return project_aggregate(None, map(stock.to_domain_event, raw.recorder.select_events(raw_id)))

            def our_replay() -> Any:
                return app.repository.get(letter_id)

            def verify() -> Any:
                stored = app.recorder.select_events(letter_id)
                return verify_chain(str(letter_id), [Record.from_stored(s) for s in stored])

            def replay_verify() -> Any:
                stored = app.recorder.select_events(letter_id)
                report = verify_chain(str(letter_id), [Record.from_stored(s) for s in stored])
                return project_aggregate(None, map(app.mapper.to_domain_event, stored)), report

            def loaded(letter: Any) -> None:
                if not isinstance(letter, LetterOfIntent) or letter.version != events \
                        or len(letter.follow_ups) != events - 1:
                    raise RuntimeError(f"replay gave {letter!r}, not the letter at version {events}")

            def intact(report: Any) -> None:
                if not report.intact or report.events != events or report.unchained:
                    raise RuntimeError(f"chain not intact over {events} chained events: {report}")

            def both(result: Any) -> None:
                loaded(result[0])
                intact(result[1])

            seconds = timed({"raw_replay": (raw_replay, loaded), "replay": (our_replay, loaded),
                             "verify": (verify, intact), "replay_verify": (replay_verify, both)}, repeat)
            figures = {name: summary(runs, events, seconds["raw_replay"]) for name, runs in seconds.items()}
        finally:
            app.close()
            raw.close()
    return {"events": events, "repeat": repeat, "setup_s": round(setup_s, 2),
            "run_s": round(time.perf_counter() - started, 2), "figures": figures}


def run(stores: tuple[str, ...] = ("sqlite", "postgres"), events: int = 10_000, repeat: int = 5) -> dict[str, Any]:
    """{"replay_10k": {store: {events, repeat, setup_s, run_s, figures: {name: {...}}}}}: JSON-serialisable."""
    if events < 2 or repeat < 1:
        raise ValueError("events >= 2 and repeat >= 1")
    batches = letter_events(events)  # the domain methods run once; every store records the same events
    key = f"replay_{events // 1000}k" if events % 1000 == 0 else f"replay_{events}"
    return {key: {store: measure(store, batches, repeat) for store in stores}}


def table(results: dict[str, Any]) -> str:
    lines = []
    for key, by_store in results.items():
        for store, result in by_store.items():
            lines.append(f"\n{key} on {store}: {result['events']} events, best/median of {result['repeat']}, "
                         f"setup {result['setup_s']} s")
            lines.append(f"  {'figure':<14}{'best s':>9}{'median s':>10}{'events/s':>11}{'x raw best':>12}"
                         f"{'x raw median':>14}")
            for name, f in result["figures"].items():
                lines.append(f"  {name:<14}{f['best_s']:>9.3f}{f['median_s']:>10.3f}{f['best_events_per_s']:>11,}"
                             f"{f['x_raw_best']:>12.2f}{f['x_raw_median']:>14.2f}")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()
    started = time.perf_counter()
    results = run(tuple(arguments.stores.split(",")), arguments.events, arguments.repeat)
    print(table(results))
    print(f"\n(total {time.perf_counter() - started:.1f} s)\n")
    print(json.dumps(results, indent=2))
