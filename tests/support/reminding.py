"""Services under test with their reminder timers on (tests/support/services.py turns them off).

A test module that imports these fixtures (they override `config`, `meetings_config` and
`letters_config` by name) runs initiatives, meetings and letters of intent with
REMINDERS_ENABLED=true, so what the seeds' long-past dates call for is raised at once.
"""
from __future__ import annotations

from typing import Any

import pytest

REMINDING = {"REMINDERS_ENABLED": "true"}


@pytest.fixture(name="config")
def reminding_initiatives(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, **REMINDING}


@pytest.fixture(name="meetings_config")
def reminding_meetings(meetings_config: dict[str, Any]) -> dict[str, Any]:
    return {**meetings_config, **REMINDING}


@pytest.fixture(name="letters_config")
def reminding_letters(letters_config: dict[str, Any]) -> dict[str, Any]:
    return {**letters_config, **REMINDING}
