"""Python's cyclic garbage collector in a long-running service process.

With the interpreter's defaults a service's process collects its young objects every 700 net
allocations and, every hundred of those, all of its objects: some 140,000 after the imports
(modules, classes, schemas, the OpenAPI document), which then survive every collection. Measured
under the propagation load of `make bench` (PostgreSQL, 100 agenda items a second, issue 17): the
initiatives service spent 2.6 s of CPU in the collector, 17 full collections of 75–113 ms each,
every one a pause in which nothing else of the service ran; with what was there at start frozen
and young objects collected every 10,000, 0.9 s, full collections under 30 ms, and the lag's p99
83 → 51 ms.

`Collector` does it when the container starts: one collection (startup garbage is not kept for
good), then `gc.freeze()` (what exists now is never scanned again), then the young generation's
threshold. Stopping the container restores both, for test processes that start and stop many.
"""
from __future__ import annotations

import gc

from nameko.extensions import DependencyProvider

# Net allocations of container objects between collections of the young generation (default 700).
YOUNG_THRESHOLD = 10_000


class Collector(DependencyProvider):
    """Freezes what the process holds at start and collects young objects less often (see above). The
    first container of a process to start does it; the last to stop restores the defaults."""

    started: list["Collector"] = []  # of the process
    defaults = gc.get_threshold()

    def start(self) -> None:
        if not Collector.started:
            gc.collect()
            gc.freeze()
            gc.set_threshold(YOUNG_THRESHOLD, *Collector.defaults[1:])
        Collector.started.append(self)

    def stop(self) -> None:
        if self in Collector.started:
            Collector.started.remove(self)
            if not Collector.started:
                gc.set_threshold(*Collector.defaults)
                gc.unfreeze()

    def kill(self) -> None:
        self.stop()
