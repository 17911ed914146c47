"""A pytest plugin: a test that hangs ends the run, saying where, instead of holding it until CI
cuts it off; and a failure is written out when it happens, so that what went wrong before a
hang is on the terminal even though the run's summary is never printed.

A hang cannot be bounded from inside a green thread when the hub itself is stuck, so the
watchdog is a real OS thread: when one test (its setup, call and teardown together) has run
longer than CASES_TEST_LIMIT_SECONDS it writes every green thread's stack and every OS thread's
stack to stderr and ends the process with status 3. (Imports only what is safe before
eventlet's monkey-patching: `-p tests.support.watchdog` loads it before any conftest.)
"""
from __future__ import annotations

import faulthandler
import os
import sys
import traceback
import warnings
from typing import Any, Iterator

import pytest

warnings.filterwarnings("ignore", message="\\s*Eventlet is deprecated")  # as tests/conftest.py
from eventlet import patcher  # noqa: E402

real_threading = patcher.original("threading")
real_time = patcher.original("time")

EXIT_STATUS = 3
# The terminal's stderr, taken before pytest's capture redirects file descriptor 2 during each test
# (`-p` imports this module first).
TERMINAL_FD = os.dup(2)


class Watchdog:
    def __init__(self, limit: float):
        self.limit = limit
        self.test: str | None = None
        self.began = 0.0
        self.thread = real_threading.Thread(target=self._watch, name="test-watchdog", daemon=True)
        self.green_stacks: Any = list  # set in pytest_configure, imported there rather than while hung
        self.where_stuck: Any = list

    def begin(self, test: str) -> None:
        self.began = real_time.monotonic()
        self.test = test

    def end(self) -> None:
        self.test = None

    def _watch(self) -> None:
        while True:
            real_time.sleep(min(5.0, self.limit / 4))
            test = self.test
            if test is not None and real_time.monotonic() - self.began > self.limit:
                self._give_up(test)

    def _give_up(self, test: str) -> None:
        try:
            err = os.fdopen(TERMINAL_FD, "w", encoding="utf-8", errors="replace")
            err.write(f"\n\nWATCHDOG: {test} has run for more than {self.limit:g} s; the run ends here.\n")
            err.flush()
            try:
                stacks = self.green_stacks()
                err.write(f"stuck at: {'; '.join(self.where_stuck(stacks)) or 'no frame of ours'}\n\n")
                for stack in stacks:
                    err.write("--- green thread\n" + "".join(traceback.format_list(stack)) + "\n")
            finally:
                err.write("--- OS threads\n")
                err.flush()
                faulthandler.dump_traceback(file=err, all_threads=True)
                err.flush()
        finally:
            os._exit(EXIT_STATUS)


WATCHDOG = pytest.StashKey[Watchdog]()


def pytest_configure(config: pytest.Config) -> None:
    from tests.support.stopping import green_stacks, where_stuck  # after the conftest's monkey-patching

    watchdog = config.stash[WATCHDOG] = Watchdog(float(os.environ.get("CASES_TEST_LIMIT_SECONDS", "900")))
    watchdog.green_stacks, watchdog.where_stuck = green_stacks, where_stuck
    watchdog.thread.start()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: Any) -> Iterator[None]:
    watchdog = item.config.stash[WATCHDOG]
    watchdog.begin(item.nodeid)
    yield
    watchdog.end()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.failed:
        sys.stderr.write(f"\n--- {report.nodeid} failed in {report.when}:\n{report.longreprtext}\n")
        sys.stderr.flush()
