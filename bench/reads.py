"""Reads as the history grows: the same reads at 1,000 and at 100,000 cases, on one store.

For each size the initiatives store is filled through the application (bench/fill.py: seed
000's life, nine events for a closed case, about 4.5 a case on average), its read model caught
up, then the initiatives and audit services are started under `nameko run` and read over HTTP,
one request after another (p50 and p99 of each):

- list page          GET /initiatives?limit=50 (the first page)
- deep page          the page after twenty pages of 50 (following `next`)
- filtered page      GET /initiatives?state=closed&party=KD&limit=50
- diary look-up      GET /initiatives?diary_number=<a random case>
- search             GET /search?q=kapitalförsörjning (a word twenty cases carry at every size: the
                     same answer, so what grows is only what the history costs)
- audit timeline     GET /cases/<random case>/timeline on the audit service
- audit verification GET /cases/<random case>/verification

and the raw limit the same run measures: the list page read straight from the read model's
table in this process (no HTTP, no service). Also: the time the read model took to catch up
from nothing, the audit index's catch-up from the feed, restart to the first answered list
request (the service stopped and started again), and each service's RSS after the reads.
"""
from __future__ import annotations

import random
import time
from typing import Any, Callable

from bench.fill import MARKER, fill_initiatives
from bench.services import latency_figures, rss_mib, running
from bench.stores import store_config
from services.initiatives.application import InitiativesApplication
from shared.store import persistence_env
from tests.support.infrastructure import local_infrastructure
from tests.support.services import Api, ServiceProcess

AUDITOR = {"Authorization": "Bearer test-auditor"}


def timed(read: Callable[[], Any], repeat: int) -> dict[str, float]:
    latencies = []
    for _ in range(repeat):
        started = time.perf_counter()
        read()
        latencies.append(time.perf_counter() - started)
    return latency_figures(latencies)


def ok(api: Api, path: str, **params: Any) -> dict[str, Any]:
    response = api.get(path, None, headers=AUDITOR, params=params)
    if response.status_code != 200:
        raise RuntimeError(f"{path} {params}: {response.status_code} {response.text[:300]}")
    return response.json()


def ready_after_start(process: ServiceProcess, api: Api) -> float:
    """Seconds from starting the process to the first answered list request."""
    started = time.perf_counter()
    process.start()
    ok(api, "/initiatives", limit=50)
    return round(time.perf_counter() - started, 2)


def measure(store_name: str, cases: int, repeat: int) -> dict[str, Any]:
    with store_config(store_name) as store:
        env = persistence_env(store, "initiatives")
        app = InitiativesApplication(env)
        try:
            started = time.perf_counter()
            events = fill_initiatives(app, cases)
            fill_s = time.perf_counter() - started
            started = time.perf_counter()
            app.rebuild_read_model()  # from nothing (filling wrote the rows with its saves: ReadModel.write_within)
            read_model_s = time.perf_counter() - started
            listing = app.read_model.listing("initiatives")
            raw = timed(lambda: app.read_model.view.page(listing, limit=50), repeat)
            numbers = [row["diary_number"] for row in app.read_model.view.page(
                listing, limit=500, descending=True)[0] if row["diary_number"]]
            head = app.recorder.max_notification_id()
        finally:
            app.close()
        figures: dict[str, Any] = {
            "cases": cases, "events": events, "fill_s": round(fill_s, 1),
            "fill_events_per_s": round(events / fill_s), "read_model_catch_up_s": round(read_model_s, 1),
            "raw_list_page": raw,
        }
        # The relay held off: the audit index reads the feed, and the service does nothing but answer.
        # Its queues emptied first: events other runs left there are of other stores.
        local_infrastructure().purge_inboxes()
        with running(["initiatives", "audit"], store, AUDIT_CATCH_UP_SECONDS=3600,
                     OUTBOX_RELAY_ENABLED="false") as services:
            initiatives, initiatives_process = services["initiatives"]
            audit, audit_process = services["audit"]
            started = time.perf_counter()
            while ok(audit, "/health")["indexed_positions"]["initiatives"] < head:
                time.sleep(0.2)
            figures["audit_index_catch_up_s"] = round(time.perf_counter() - started, 1)
            pick = random.Random(cases)

            def deep_page() -> None:
                cursor = None
                for _ in range(21):
                    cursor = ok(initiatives, "/initiatives", limit=50, **({"cursor": cursor} if cursor else {}))["next"]

            figures["list_page"] = timed(lambda: ok(initiatives, "/initiatives", limit=50), repeat)
            figures["deep_page_21_pages"] = timed(deep_page, max(3, repeat // 20))
            figures["filtered_page"] = timed(
                lambda: ok(initiatives, "/initiatives", state="closed", party="KD", limit=50), repeat)
            figures["diary_look_up"] = timed(
                lambda: ok(initiatives, "/initiatives", diary_number=pick.choice(numbers)), repeat)
            figures["search"] = timed(lambda: ok(initiatives, "/search", q=MARKER, limit=50), repeat)
            figures["search_hits_on_page"] = len(ok(initiatives, "/search", q=MARKER, limit=50)["hits"])
            figures["audit_timeline"] = timed(
                lambda: ok(audit, f"/cases/{pick.choice(numbers)}/timeline"), max(5, repeat // 4))
            figures["audit_verification"] = timed(
                lambda: ok(audit, f"/cases/{pick.choice(numbers)}/verification"), max(5, repeat // 4))
            figures["rss_mib"] = {"initiatives": rss_mib(initiatives_process), "audit": rss_mib(audit_process)}
            initiatives_process.stop()
            figures["restart_to_first_answer_s"] = ready_after_start(initiatives_process, initiatives)
        return figures


def run(store_names: list[str], sizes: list[int], repeat: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for store_name in store_names:
        results[store_name] = {str(size): measure(store_name, size, repeat) for size in sizes}
        small, large = str(min(sizes)), str(max(sizes))
        results[store_name]["growth_p50"] = {
            read: round(results[store_name][large][read]["p50_ms"] / results[store_name][small][read]["p50_ms"], 2)
            for read in ("list_page", "deep_page_21_pages", "filtered_page", "diary_look_up", "search",
                         "audit_timeline", "audit_verification", "raw_list_page")
        }
    return results


def table(results: dict[str, Any], store_names: list[str], sizes: list[int]) -> list[str]:
    columns = [(store, str(size)) for store in store_names for size in sizes]
    lines = ["", "Reads as the history grows (p50 / p99 ms; one request at a time)",
             f"{'read':<34}" + "".join(f"{store + ' ' + size:>22}" for store, size in columns)]

    def row(label: str, value: Callable[[dict[str, Any]], Any]) -> None:
        lines.append(f"{label:<34}" + "".join(f"{value(results[store][size])!s:>22}" for store, size in columns))

    row("events in the store", lambda r: r["events"])
    row("fill events/s (through the app)", lambda r: r["fill_events_per_s"])
    row("read model catch-up from 0 s", lambda r: r["read_model_catch_up_s"])
    row("audit index catch-up from 0 s", lambda r: r["audit_index_catch_up_s"])
    for read in ("raw_list_page", "list_page", "deep_page_21_pages", "filtered_page", "diary_look_up", "search",
                 "audit_timeline", "audit_verification"):
        row(read.replace("_", " "), lambda r, read=read: f"{r[read]['p50_ms']} / {r[read]['p99_ms']}")
    row("restart to first answer s", lambda r: r["restart_to_first_answer_s"])
    row("RSS MiB initiatives / audit", lambda r: f"{r['rss_mib']['initiatives']:.0f} / {r['rss_mib']['audit']:.0f}")
    for store in store_names:
        growth = ", ".join(f"{read} {ratio}x" for read, ratio in results[store]["growth_p50"].items())
        lines.append(f"{store}: p50 at {max(sizes)} over p50 at {min(sizes)}: {growth}")
    return lines
