"""Where the CPU of a measured stretch went, read from /proc (Linux): each named service process,
PostgreSQL's processes, RabbitMQ's (beam), this process (the load and the feed readers) and the
whole machine. Divided by the work done it is a budget: on this machine's cores, `ceiling_per_second`
is the most work per second the measured mix could reach if nothing else ran and every core were
busy, which bounds what any rate or latency target can expect here."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

TICKS = os.sysconf("SC_CLK_TCK")
GROUPS = {"postgres": ("postgres",), "rabbitmq": ("beam.smp", "beam", "erl_child_setup", "epmd")}


def _process_seconds(pid: int | str) -> tuple[str, float] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    return name, (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _machine_busy_seconds() -> float:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]  # guest is in user
    return (sum(values) - values[3] - values[4]) / TICKS  # all but idle and iowait


def sample(services: dict[str, int]) -> dict[str, Any]:
    """CPU seconds so far: each service (by pid), each group's processes (by pid), this process, the machine."""
    seconds: dict[str, Any] = {name: (_process_seconds(pid) or ("", 0.0))[1] for name, pid in services.items()}
    groups: dict[str, dict[str, float]] = {group: {} for group in GROUPS}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            found = _process_seconds(entry)
            if found is not None:
                for group, names in GROUPS.items():
                    if found[0].startswith(names):
                        groups[group][entry] = found[1]
    return {**seconds, **groups, "load": (_process_seconds(os.getpid()) or ("", 0.0))[1],
            "machine": _machine_busy_seconds()}


def _spent(before: Any, after: Any) -> float:
    """Seconds between two samples: of one process, or of a group's processes (one that started in
    between counts in full; one that ended in between is not seen after, and counts nothing)."""
    if isinstance(after, dict):
        return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
    return after - before


def budget(before: dict[str, Any], after: dict[str, Any], items: int) -> dict[str, Any]:
    """CPU ms per item by where it went, and the rate all cores could carry at that cost."""
    per_item = {name: round(1000 * _spent(before[name], after[name]) / max(items, 1), 1) for name in before}
    machine = per_item["machine"]
    cores = os.cpu_count() or 1
    return {"cpu_ms_per_item": per_item, "cores": cores,
            "ceiling_per_second": round(cores * 1000 / machine, 1) if machine > 0 else None}
