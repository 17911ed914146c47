"""Diary numbers are unique even when several instances register at the same instant."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from shared.store import persistence_env
from tests.support.services import REPO_ROOT

INSTANCES = 3
EACH = 15


def test_instances_racing_on_one_store_never_share_a_diary_number(store_config: dict[str, Any]) -> None:
    """Three processes start together (creating the tables at once, too) and register at the same instant."""
    env = persistence_env(store_config, "initiatives")
    start_at = time.time() + 3
    racers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.register_many", json.dumps(env), str(EACH), str(start_at)],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(INSTANCES)
    ]
    numbers: list[str] = []
    for racer in racers:
        out, err = racer.communicate(timeout=180)
        assert racer.returncode == 0, err
        numbers += json.loads(out)

    assert len(numbers) == len(set(numbers)) == INSTANCES * EACH
    assert sorted(numbers) == [f"RUN 2025-{serial:04d}" for serial in range(1, INSTANCES * EACH + 1)]
