"""Logging shared by the hub's green threads and eventlet's pool thread (shared.threads).

Each case runs in a fresh, monkey-patched interpreter: green threads on the hub and calls on the
pool thread log to one handler at once, as a service does when SQLite calls or PDF rendering log.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

BOTH_LOG = '''
import eventlet
eventlet.monkey_patch()
import logging, os, sys
from eventlet import tpool
import logging.config
if sys.argv[1] == "configured":  # nameko run's dictConfig makes the handlers; one of its factories calls us
    from shared.threads import thread_safe_logging
    logging.config.dictConfig({"version": 1, "disable_existing_loggers": False, "filters": {
        "made_while_configuring": {"()": thread_safe_logging}}})
handler = logging.FileHandler(sys.argv[2])
logging.getLogger().addHandler(handler)
logging.getLogger().setLevel(logging.INFO)
if sys.argv[1] != "plain":  # a service's store on SQLite: its gate makes logging's locks real
    from shared.store import StoreGate
    StoreGate({"PERSISTENCE_MODULE": "eventsourcing.sqlite"})
log = logging.getLogger("race")

def on_the_pool_thread(lines):
    for line in range(lines):
        log.info("from the pool thread %d", line)
    return lines

def on_the_hub(lines):
    for line in range(lines):
        if line % 10 == 0:  # a new green thread's first line (a request's, a worker's)
            eventlet.spawn(log.info, "from the hub %d", line).wait()
        else:
            log.info("from the hub %d", line)
        if line % 50 == 0:
            eventlet.sleep(0)

hub_threads = [eventlet.spawn(on_the_hub, 5000) for _ in range(4)]
written = 0
with eventlet.Timeout(10, False):
    for _ in range(40):
        written += tpool.execute(on_the_pool_thread, 500)
    for thread in hub_threads:
        thread.wait()
    print("done", written, flush=True)
    os._exit(0)
print("stuck after", written, flush=True)
os._exit(1)
'''


def run(mode: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "both_log.py"
    script.write_text(BOTH_LOG, encoding="utf-8")
    return subprocess.run([sys.executable, str(script), mode, str(tmp_path / "out.log")], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("mode", ["store", "configured"])
def test_green_threads_and_the_pool_thread_log_to_one_handler_without_getting_stuck(mode: str, tmp_path: Path) -> None:
    finished = run(mode, tmp_path)
    assert finished.returncode == 0 and "done 20000" in finished.stdout, finished.stdout + finished.stderr
    lines = (tmp_path / "out.log").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 20000 + 4 * 5000 and all(line.startswith("from the ") for line in lines)


def test_without_it_the_pool_thread_gets_stuck_on_a_green_lock(tmp_path: Path) -> None:
    """The mechanism's reason, kept in view: eventlet's green logging locks alone."""
    stuck = run("plain", tmp_path)
    assert stuck.returncode == 1 and "stuck after" in stuck.stdout, stuck.stdout + stuck.stderr
