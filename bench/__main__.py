"""`make bench`: every figure beside the raw limit measured in the same run, on SQLite and PostgreSQL.

    python -m bench [--stores sqlite,postgres] [--quick] [--sizes 1000,100000] [--only reads]

Prints a table and writes bench/results/latest.json (not committed). The figures'
definitions are in bench/broker.py, bench/stores.py, bench/services.py and
bench/replay.py. Nothing here asserts a timing; a run fails only if the system
misbehaves (a command refused, an event lost, a chain broken).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench import broker, reads, replay, services, stores

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
FULL = {"broker_messages": 10_000, "saves": 2000, "http_seconds": 8.0, "propagation_seconds": 20.0,
        "replay_events": 10_000, "replay_repeat": 5, "catch_up_events": 100_000,
        "read_sizes": [1000, 100_000], "read_repeat": 200}
QUICK = {"broker_messages": 2000, "saves": 300, "http_seconds": 3.0, "propagation_seconds": 3.0,
         "replay_events": 2000, "replay_repeat": 2, "catch_up_events": 5000,
         "read_sizes": [200, 2000], "read_repeat": 40}
RATE = 100.0


def machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    memory_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))
    return {"cpu": model, "cores": os.cpu_count(), "memory_gib": round(memory_kib / 2**20, 1),
            "python": platform.python_version(), "kernel": platform.release()}


def run(store_names: list[str], settings: dict[str, Any], only_reads: bool = False) -> dict[str, Any]:
    results: dict[str, Any] = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                               "machine": machine(), "settings": settings}
    started = time.perf_counter()
    results["reads"] = reads.run(store_names, settings["read_sizes"], settings["read_repeat"])
    if only_reads:
        results["run_s"] = round(time.perf_counter() - started, 1)
        return results
    results["broker"] = broker.run(settings["broker_messages"])
    results["stores"] = {name: stores.run(name, settings["saves"]) for name in store_names}
    results["replay"] = replay.run(tuple(store_names), settings["replay_events"], settings["replay_repeat"])
    for section, measure in (
        ("http", lambda store: services.http(store, settings["http_seconds"])),
        ("propagation", lambda store: services.propagation(store, RATE, settings["propagation_seconds"])),
        ("catch_up", lambda store: services.catch_up(store, settings["catch_up_events"])),
    ):
        results[section] = {}
        for name in store_names:
            with stores.store_config(name) as store:
                results[section][name] = measure(store)
    results["ratios"] = ratios(results, store_names)
    results["run_s"] = round(time.perf_counter() - started, 1)
    return results


def ratios(results: dict[str, Any], store_names: list[str]) -> dict[str, Any]:
    """Each figure over its raw limit from the same run."""
    broker_limits = results["broker"]
    found: dict[str, Any] = {}
    for name in store_names:
        raw_save = results["stores"][name]["raw_save"]["per_second"]
        http = results["http"][name]["initiatives"]
        replay_figures = next(iter(results["replay"].values()))[name]["figures"]
        propagation = results["propagation"][name]
        found[name] = {
            "chained_save_over_raw_save": results["stores"][name]["chained_save"]["x_raw"],
            "http_1_client_over_raw_save": round(http["one_client"]["per_second"] / raw_save, 2),
            "http_8_clients_over_raw_save": round(http["eight_clients"]["per_second"] / raw_save, 2),
            "http_8_clients_over_1_client": http["x_eight_over_one"],
            "propagation_p50_over_broker_p50": round(
                propagation["lag"]["p50_ms"] / broker_limits["latency_at_100_per_s"]["p50_ms"], 1),
            "replay_time_over_raw_replay": replay_figures["replay"]["x_raw_median"],
            "replay_and_verify_time_over_raw_replay": replay_figures["replay_verify"]["x_raw_median"],
            "feed_catch_up_over_raw_consume_prefetch_500": round(
                results["catch_up"][name]["feed_read"]["per_second"] / broker_limits["consume_prefetch_500"]["per_second"], 2),
        }
    return found


def table(results: dict[str, Any], store_names: list[str]) -> str:
    read_lines = reads.table(results["reads"], store_names, results["settings"]["read_sizes"])
    if "broker" not in results:
        return "\n".join([f"Benchmarks {results['date']} on {results['machine']['cpu']}, run {results['run_s']} s",
                          *read_lines])
    b = results["broker"]
    lines = [f"Benchmarks {results['date']} on {results['machine']['cpu']} ({results['machine']['cores']} cores), "
             f"run {results['run_s']} s",
             "",
             f"RabbitMQ (raw): confirmed publish {b['publish_confirmed']['per_second']}/s, consume prefetch 1 "
             f"{b['consume_prefetch_1']['per_second']}/s, prefetch 500 {b['consume_prefetch_500']['per_second']}/s, "
             f"latency at 100/s p50 {b['latency_at_100_per_s']['p50_ms']} ms p99 {b['latency_at_100_per_s']['p99_ms']} ms",
             "",
             f"{'figure':<52}" + "".join(f"{name:>14}" for name in store_names)]

    def row(label: str, value: Any) -> None:
        lines.append(f"{label:<52}" + "".join(f"{value(name)!s:>14}" for name in store_names))

    row("raw eventsourcing save /s (the store's limit)", lambda n: results["stores"][n]["raw_save"]["per_second"])
    row("chained save /s (x raw)", lambda n: f"{results['stores'][n]['chained_save']['per_second']} "
        f"({results['stores'][n]['chained_save']['x_raw']})")
    row("HTTP submit, 1 client /s", lambda n: results["http"][n]["initiatives"]["one_client"]["per_second"])
    row("HTTP submit, 8 clients /s", lambda n: results["http"][n]["initiatives"]["eight_clients"]["per_second"])
    row("  8 clients over 1", lambda n: results["http"][n]["initiatives"]["x_eight_over_one"])
    row("  8 clients over raw save", lambda n: results["ratios"][n]["http_8_clients_over_raw_save"])
    row(f"propagation at {RATE:.0f}/s: achieved /s", lambda n: results["propagation"][n]["sent"]["achieved_per_second"])
    row("  lag p50 ms", lambda n: results["propagation"][n]["lag"]["p50_ms"])
    row("  lag p99 ms", lambda n: results["propagation"][n]["lag"]["p99_ms"])
    row("  p50 over the broker's own p50", lambda n: results["ratios"][n]["propagation_p50_over_broker_p50"])
    replay_key = next(iter(results["replay"]))
    for figure in ("raw_replay", "replay", "verify", "replay_verify"):
        row(f"{replay_key}: {figure} s (x raw replay)", lambda n, f=figure: (
            f"{results['replay'][replay_key][n]['figures'][f]['median_s']} "
            f"({results['replay'][replay_key][n]['figures'][f].get('x_raw_median', 1.0)})"))
    row("catch-up: feed read events/s", lambda n: results["catch_up"][n]["feed_read"]["per_second"])
    row("  over raw consume (prefetch 500)", lambda n: results["ratios"][n]["feed_catch_up_over_raw_consume_prefetch_500"])
    for service in results["http"][store_names[0]]:
        row(f"RSS MiB {service}: idle / peak under 8 clients", lambda n, s=service: (
            f"{results['http'][n][s]['rss_idle_mib']:.0f} / {results['http'][n][s]['rss_peak_under_load_mib']:.0f}"))
    return "\n".join(lines + read_lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--quick", action="store_true", help="small numbers: checks the harness, not the system")
    parser.add_argument("--sizes", help="comma-separated numbers of cases the reads are measured at "
                                        "(default 1000,100000; --quick 200,2000)")
    parser.add_argument("--only", choices=["reads"], help="run only the reads as the history grows")
    arguments = parser.parse_args()
    store_names = arguments.stores.split(",")
    settings = dict(QUICK if arguments.quick else FULL)
    if arguments.sizes:
        settings["read_sizes"] = [int(size) for size in arguments.sizes.split(",")]
    results = run(store_names, settings, only_reads=arguments.only == "reads")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(table(results, store_names))
    print(f"\nwritten to {RESULTS}")


if __name__ == "__main__":
    main()
