"""The test watchdog (tests.support.watchdog): a hanging test ends the run with the stacks, and a
failure is written out at once. Run in a pytest of its own on a throwaway test file."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

HANGING = '''
import time

def test_fails_first():
    assert 1 == 2, "the failure before the hang"

def test_hangs():
    time.sleep(600)
'''


def test_a_hanging_test_ends_the_run_with_the_stacks_after_a_failure_shown_at_once(tmp_path: Path) -> None:
    (tmp_path / "test_hanging.py").write_text(HANGING, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.support.watchdog", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path / "test_hanging.py")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "CASES_TEST_LIMIT_SECONDS": "2"})
    assert run.returncode == 3, run.stdout + run.stderr
    assert "test_fails_first failed in call" in run.stderr and "the failure before the hang" in run.stderr
    assert "WATCHDOG: " in run.stderr and "test_hangs has run for more than 2 s" in run.stderr
    assert "--- OS threads" in run.stderr and 'test_hanging.py", line 8 in test_hangs' in run.stderr
