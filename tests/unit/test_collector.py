"""The garbage collector of a service process (shared.collector): what the process holds at start is
frozen and young objects are collected every YOUNG_THRESHOLD allocations while a container runs; the
defaults come back when the last container of the process stops."""
from __future__ import annotations

import gc
import importlib

import pytest

from shared.collector import YOUNG_THRESHOLD, Collector

SERVICES = {
    "services.initiatives.service": "InitiativesService",
    "services.meetings.service": "MeetingsService",
    "services.letters_of_intent.service": "LettersOfIntentService",
    "services.evaluations.service": "EvaluationsService",
    "services.audit.service": "AuditService",
    "services.web.service": "WebService",
}


@pytest.fixture
def defaults():
    found = gc.get_threshold()
    yield found
    gc.set_threshold(*found)
    gc.unfreeze()
    Collector.started.clear()


def test_a_started_container_freezes_what_exists_and_collects_young_objects_less_often(defaults):
    assert gc.get_freeze_count() == 0
    collector = Collector()
    collector.start()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, *defaults[1:])
    frozen = gc.get_freeze_count()
    assert frozen > 1000  # the modules, classes and functions imported so far
    made_after = [[] for _ in range(100)]
    assert gc.get_freeze_count() == frozen  # what is made after the start is not frozen
    collector.stop()
    assert gc.get_threshold() == defaults
    assert gc.get_freeze_count() == 0
    del made_after


def test_the_defaults_come_back_only_when_the_last_container_of_the_process_stops(defaults):
    first, second = Collector(), Collector()
    first.start()
    frozen = gc.get_freeze_count()
    second.start()  # not frozen again: what the first froze stays, nothing new is frozen for good
    assert gc.get_freeze_count() == frozen
    first.stop()
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD and gc.get_freeze_count() == frozen
    second.kill()
    assert gc.get_threshold() == defaults and gc.get_freeze_count() == 0
    second.stop()  # stopped twice (kill, then stop): nothing changes
    assert gc.get_threshold() == defaults


@pytest.mark.parametrize("module, name", SERVICES.items())
def test_every_service_runs_with_the_collector(module, name):
    service = getattr(importlib.import_module(module), name)
    assert any(isinstance(value, Collector) for base in service.__mro__ for value in vars(base).values())
