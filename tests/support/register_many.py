"""One instance of the initiatives application registering cases, for the race test.

    python -m tests.support.register_many <env-json> <count> <start-at-epoch-seconds>

Waits until the start moment (so several instances begin at the same instant),
submits and registers <count> initiatives, prints their diary numbers as JSON.
"""
from __future__ import annotations

import json
import sys
import time
from datetime import date

from services.initiatives.application import InitiativesApplication
from services.initiatives.demo import seed_000
from services.initiatives.schemas import SubmitInitiative
from shared.store import construct_application


def main(env_json: str, count: str, start_at: str) -> None:
    app, _ = construct_application(InitiativesApplication, json.loads(env_json))
    submission = SubmitInitiative().load(seed_000()["submission"])
    ids = [app.submit_initiative(actor="race", **submission).id for _ in range(int(count))]
    time.sleep(max(0.0, float(start_at) - time.time()))
    numbers = [
        app.register_initiative(initiative_id, actor="race", registered_on=date(2025, 1, 2)).diary_number
        for initiative_id in ids
    ]
    print(json.dumps(numbers))


if __name__ == "__main__":
    main(*sys.argv[1:])
