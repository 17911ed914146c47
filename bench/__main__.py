"""`make bench`: every figure beside the raw limit measured in the same run, on SQLite and PostgreSQL.

    python -m bench [--stores sqlite,postgres] [--quick] [--sizes 1000,100000]
                    [--only reads|http|knee|backlog|commands]

Prints a table and writes bench/results/latest.json (not committed). The figures'
definitions are in bench/broker.py, bench/stores.py, bench/services.py,
bench/replay.py, bench/reads.py and bench/commands.py. Beside each HTTP command
stands its composite limit, 1 / (1/raw HTTP + 1/raw save): nameko's own HTTP round
trip (bench/raw_http.py) and the store's raw save, both measured in the run; the
knee is the rate at which propagation's lag p99 passes one second; the commands
table times every command of every service as the demo's flows send them, and
lists those no flow sent. `--only` runs one part: reads (as the history grows),
http (raw save, raw HTTP and the services' commands under load: the composite
limit), knee, backlog (an inbox's backlog after a stop, one message at a time and in runs), or
commands. Nothing here asserts a timing; a run fails only if the
system misbehaves (a command refused, an event lost, a chain broken).
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

from bench import broker, commands, reads, replay, services, stores

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
FULL = {"broker_messages": 10_000, "saves": 2000, "http_seconds": 8.0, "propagation_seconds": 20.0,
        "knee_rates": [50, 100, 200, 400, 800], "knee_seconds": 6.0, "command_rounds": 30, "backlog_events": 500,
        "replay_events": 10_000, "replay_repeat": 5, "catch_up_events": 100_000,
        "read_sizes": [1000, 100_000], "read_repeat": 200}
QUICK = {"broker_messages": 2000, "saves": 300, "http_seconds": 3.0, "propagation_seconds": 3.0,
         "knee_rates": [50, 100, 200, 400, 800], "knee_seconds": 1.5, "command_rounds": 2, "backlog_events": 50,
         "replay_events": 2000, "replay_repeat": 2, "catch_up_events": 5000,
         "read_sizes": [200, 2000], "read_repeat": 40}
# What each --only runs; a whole run runs every part.
PARTS = ("reads", "broker", "stores", "replay", "raw_http", "http", "propagation", "knee", "backlog", "catch_up",
         "commands")
ONLY = {"reads": ("reads",), "http": ("stores", "raw_http", "http"), "knee": ("knee",), "backlog": ("backlog",),
        "commands": ("commands",)}
RATE = 100.0


def machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    memory_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))
    return {"cpu": model, "cores": os.cpu_count(), "memory_gib": round(memory_kib / 2**20, 1),
            "python": platform.python_version(), "kernel": platform.release()}


def run(store_names: list[str], settings: dict[str, Any], only: str | None = None) -> dict[str, Any]:
    parts = ONLY[only] if only else PARTS
    results: dict[str, Any] = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                               "machine": machine(), "settings": settings, "parts": list(parts)}
    started = time.perf_counter()
    if "reads" in parts:
        results["reads"] = reads.run(store_names, settings["read_sizes"], settings["read_repeat"])
    if "broker" in parts:
        results["broker"] = broker.run(settings["broker_messages"])
    if "stores" in parts:
        results["stores"] = {name: stores.run(name, settings["saves"]) for name in store_names}
    if "replay" in parts:
        results["replay"] = replay.run(tuple(store_names), settings["replay_events"], settings["replay_repeat"])
    if "raw_http" in parts:
        results["raw_http"] = services.raw_http(settings["http_seconds"])
    for section, measure in (
        ("http", lambda store: services.http(store, settings["http_seconds"])),
        ("propagation", lambda store: services.propagation(store, RATE, settings["propagation_seconds"])),
        ("knee", lambda store: services.knee(store, settings["knee_rates"], settings["knee_seconds"])),
        ("backlog", lambda store: services.backlog(store, settings["backlog_events"])),
        ("catch_up", lambda store: services.catch_up(store, settings["catch_up_events"])),
        ("commands", lambda store: commands.run(store, settings["command_rounds"])),
    ):
        if section not in parts:
            continue
        results[section] = {}
        for name in store_names:
            with stores.store_config(name) as store:
                results[section][name] = measure(store)
    results["ratios"] = ratios(results, store_names)
    results["run_s"] = round(time.perf_counter() - started, 1)
    return results


def composite_limit(raw_http_per_second: float, raw_save_per_second: float) -> float:
    """What one client could reach if a command cost exactly one raw HTTP round trip plus one raw save."""
    return 1 / (1 / raw_http_per_second + 1 / raw_save_per_second)


def ratios(results: dict[str, Any], store_names: list[str]) -> dict[str, Any]:
    """Each figure over its raw limit from the same run (those whose figures this run measured)."""
    found: dict[str, Any] = {}
    for name in store_names:
        ratio: dict[str, Any] = {}
        raw_save = results["stores"][name]["raw_save"]["per_second"] if "stores" in results else None
        http = results["http"][name]["initiatives"] if "http" in results else None
        if raw_save is not None:
            ratio["chained_save_over_raw_save"] = results["stores"][name]["chained_save"]["x_raw"]
        if raw_save is not None and "raw_http" in results:
            composite = composite_limit(results["raw_http"]["one_client"]["per_second"], raw_save)
            ratio["composite_limit_per_second"] = round(composite, 1)
            if http is not None:
                ratio["http_1_client_over_composite_limit"] = round(http["one_client"]["per_second"] / composite, 2)
                ratio["http_1_client_alone_over_composite_limit"] = round(
                    http["one_client_alone"]["per_second"] / composite, 2)
            # What one client could reach if a command cost one raw HTTP round trip plus the application's
            # own submit in the process (validation, the case, its save and read-model rows), nothing else.
            in_process = results["stores"][name]["submit_in_process"]["per_second"]
            ratio["http_plus_application_limit_per_second"] = round(
                composite_limit(results["raw_http"]["one_client"]["per_second"], in_process), 1)
        if raw_save is not None and http is not None:
            ratio["http_1_client_over_raw_save"] = round(http["one_client"]["per_second"] / raw_save, 2)
            ratio["http_8_clients_over_raw_save"] = round(http["eight_clients"]["per_second"] / raw_save, 2)
        if http is not None:
            ratio["http_8_clients_over_1_client"] = http["x_eight_over_one"]
        if "broker" in results and "propagation" in results:
            ratio["propagation_p50_over_broker_p50"] = round(
                results["propagation"][name]["lag"]["p50_ms"] / results["broker"]["latency_at_100_per_s"]["p50_ms"], 1)
        if "replay" in results:
            replay_figures = next(iter(results["replay"].values()))[name]["figures"]
            ratio["replay_time_over_raw_replay"] = replay_figures["replay"]["x_raw_median"]
            ratio["replay_and_verify_time_over_raw_replay"] = replay_figures["replay_verify"]["x_raw_median"]
        if "broker" in results and "catch_up" in results:
            ratio["feed_catch_up_over_raw_consume_prefetch_500"] = round(
                results["catch_up"][name]["feed_read"]["per_second"]
                / results["broker"]["consume_prefetch_500"]["per_second"], 2)
        found[name] = ratio
    return found


def table(results: dict[str, Any], store_names: list[str]) -> str:
    lines = [f"Benchmarks {results['date']} on {results['machine']['cpu']} ({results['machine']['cores']} cores), "
             f"run {results['run_s']} s"]
    if "broker" in results:
        b = results["broker"]
        lines += ["", f"RabbitMQ (raw): confirmed publish {b['publish_confirmed']['per_second']}/s, consume prefetch 1 "
                  f"{b['consume_prefetch_1']['per_second']}/s, prefetch 500 {b['consume_prefetch_500']['per_second']}/s, "
                  f"latency at 100/s p50 {b['latency_at_100_per_s']['p50_ms']} ms p99 "
                  f"{b['latency_at_100_per_s']['p99_ms']} ms"]
    if "raw_http" in results:
        r = results["raw_http"]
        lines += ["", f"nameko HTTP (raw, bench/raw_http.py): 1 client {r['one_client']['per_second']}/s "
                  f"(p50 {r['one_client']['p50_ms']} ms, p99 {r['one_client']['p99_ms']} ms), 8 clients "
                  f"{r['eight_clients']['per_second']}/s (p50 {r['eight_clients']['p50_ms']} ms, p99 "
                  f"{r['eight_clients']['p99_ms']} ms), 8 over 1 {r['x_eight_over_one']}"]
    figures: list[str] = []

    def row(label: str, value: Any) -> None:
        figures.append(f"{label:<52}" + "".join(f" {value(name)!s:>13}" for name in store_names))

    if "stores" in results:
        row("raw eventsourcing save /s (the store's limit)", lambda n: results["stores"][n]["raw_save"]["per_second"])
        row("chained save /s (x raw)", lambda n: f"{results['stores'][n]['chained_save']['per_second']} "
            f"({results['stores'][n]['chained_save']['x_raw']})")
        row("the application's submit in the process /s (x raw)",
            lambda n: f"{results['stores'][n]['submit_in_process']['per_second']} "
            f"({results['stores'][n]['submit_in_process']['x_raw']})")
    if "composite_limit_per_second" in results["ratios"][store_names[0]]:
        row("composite limit 1/(1/raw HTTP + 1/raw save) /s", lambda n: results["ratios"][n]["composite_limit_per_second"])
        row("  1/(1/raw HTTP + 1/the submit in the process) /s",
            lambda n: results["ratios"][n]["http_plus_application_limit_per_second"])
    if "http" in results:
        row("HTTP submit, 1 client /s", lambda n: results["http"][n]["initiatives"]["one_client"]["per_second"])
        row("  p50 / p99 ms", lambda n: f"{results['http'][n]['initiatives']['one_client']['p50_ms']} / "
            f"{results['http'][n]['initiatives']['one_client']['p99_ms']}")
        if "http_1_client_over_composite_limit" in results["ratios"][store_names[0]]:
            row("  over the composite limit", lambda n: results["ratios"][n]["http_1_client_over_composite_limit"])
        row("HTTP submit, 1 client, the service alone /s",
            lambda n: results["http"][n]["initiatives"]["one_client_alone"]["per_second"])
        if "http_1_client_alone_over_composite_limit" in results["ratios"][store_names[0]]:
            row("  over the composite limit",
                lambda n: results["ratios"][n]["http_1_client_alone_over_composite_limit"])
        row("HTTP submit, 8 clients /s", lambda n: results["http"][n]["initiatives"]["eight_clients"]["per_second"])
        row("  8 clients over 1", lambda n: results["http"][n]["initiatives"]["x_eight_over_one"])
        row("  machine CPU ms per command, 1 client", lambda n: results["http"][n]["initiatives"]["one_client"]
            ["cpu"]["cpu_ms_per_item"]["machine"])
        row("  ceiling at that CPU per command, over 1 client", lambda n: round(
            (results["http"][n]["initiatives"]["one_client"]["cpu"]["ceiling_per_second"] or 0)
            / results["http"][n]["initiatives"]["one_client"]["per_second"], 2))
        if "http_8_clients_over_raw_save" in results["ratios"][store_names[0]]:
            row("  8 clients over raw save", lambda n: results["ratios"][n]["http_8_clients_over_raw_save"])
    if "propagation" in results:
        row(f"propagation at {RATE:.0f}/s: achieved /s", lambda n: results["propagation"][n]["sent"]["achieved_per_second"])
        row("  lag p50 ms", lambda n: results["propagation"][n]["lag"]["p50_ms"])
        row("  lag p99 ms", lambda n: results["propagation"][n]["lag"]["p99_ms"])
        row("  machine CPU ms per item", lambda n: results["propagation"][n]["cpu"]["cpu_ms_per_item"]["machine"])
        for part, label in (("initiatives", "initiatives"), ("meetings", "meetings"), ("postgres", "PostgreSQL"),
                            ("rabbitmq", "RabbitMQ"), ("load", "the load (this process)")):
            row(f"    of it {label}", lambda n, p=part: results["propagation"][n]["cpu"]["cpu_ms_per_item"][p])
        row("  ceiling /s (cores / CPU per item)", lambda n: results["propagation"][n]["cpu"]["ceiling_per_second"])
        if "propagation_p50_over_broker_p50" in results["ratios"][store_names[0]]:
            row("  p50 over the broker's own p50", lambda n: results["ratios"][n]["propagation_p50_over_broker_p50"])
    if "knee" in results:
        row("knee: rate where propagation lag p99 > 1 s", lambda n: results["knee"][n]["knee"])
    if "backlog" in results:
        row("inbox backlog after a stop: one at a time /s", lambda n: results["backlog"][n]["one_at_a_time_per_second"])
        row("  in runs (INBOX_RUN) /s (x one at a time)", lambda n: f"{results['backlog'][n]['in_runs_per_second']} "
            f"({results['backlog'][n]['runs_over_one_at_a_time']})")
    if "replay" in results:
        replay_key = next(iter(results["replay"]))
        for figure in ("raw_replay", "replay", "verify", "replay_verify"):
            row(f"{replay_key}: {figure} s (x raw replay)", lambda n, f=figure: (
                f"{results['replay'][replay_key][n]['figures'][f]['median_s']} "
                f"({results['replay'][replay_key][n]['figures'][f].get('x_raw_median', 1.0)})"))
    if "catch_up" in results:
        row("catch-up: feed read events/s", lambda n: results["catch_up"][n]["feed_read"]["per_second"])
        if "feed_catch_up_over_raw_consume_prefetch_500" in results["ratios"][store_names[0]]:
            row("  over raw consume (prefetch 500)",
                lambda n: results["ratios"][n]["feed_catch_up_over_raw_consume_prefetch_500"])
    if "http" in results:
        for service in results["http"][store_names[0]]:
            row(f"RSS MiB {service}: idle / peak under 8 clients", lambda n, s=service: (
                f"{results['http'][n][s]['rss_idle_mib']:.0f} / {results['http'][n][s]['rss_peak_under_load_mib']:.0f}"))
    if figures:
        lines += ["", f"{'figure':<52}" + "".join(f"{name:>14}" for name in store_names), *figures]
    if "knee" in results:
        lines += ["", knee_table(results["knee"], store_names)]
    if "commands" in results:
        lines += ["", "Every command of every service (client side, one client; p99 (samples)):", "",
                  *commands.markdown(results["commands"], store_names)]
    if "reads" in results:
        lines += reads.table(results["reads"], store_names, results["settings"]["read_sizes"])
    return "\n".join(lines)


def knee_table(knee: dict[str, Any], store_names: list[str]) -> str:
    first = knee[store_names[0]]
    lines = [f"Propagation meetings -> initiatives at rising rates ({first['seconds_per_rate']:g} s each, "
             f"{first['workers']} clients):",
             f"{'store':<10}{'target/s':>10}{'sent/s':>9}{'achieved/s':>12}{'command p50 ms':>16}{'lag p50 ms':>12}"
             f"{'lag p99 ms':>12}{'scheduled':>12}{'settle s':>10}{'CPU ms/item':>13}{'ceiling/s':>11}"]
    for name in store_names:
        for step in knee[name]["steps"]:
            lag = step["lag"] or {"p50_ms": "-", "p99_ms": "-"}
            lines.append(f"{name:<10}{step['rate']:>10g}{step['sent']['sent_per_second']:>9}"
                         f"{step['sent']['achieved_per_second']:>12}"
                         f"{step['sent']['command']['p50_ms']:>16}{lag['p50_ms']:>12}{lag['p99_ms']:>12}"
                         f"{step['scheduled']:>7}/{step['cases']:<4}{step['settle_s']:>10}"
                         f"{step['cpu']['cpu_ms_per_item']['machine']:>13}{step['cpu']['ceiling_per_second']:>11}")
        lines.append(f"  {name}: knee {knee[name]['knee']} ({knee[name]['stopped_by']})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--quick", action="store_true", help="small numbers: checks the harness, not the system")
    parser.add_argument("--sizes", help="comma-separated numbers of cases the reads are measured at "
                                        "(default 1000,100000; --quick 200,2000)")
    parser.add_argument("--only", choices=sorted(ONLY), help="run one part: reads (as the history grows); http "
                        "(raw save, raw HTTP, the services' commands under load); knee; backlog (an inbox's backlog "
                        "after a stop, one at a time and in runs); commands (every command "
                        "of every service)")
    arguments = parser.parse_args()
    store_names = arguments.stores.split(",")
    settings = dict(QUICK if arguments.quick else FULL)
    if arguments.sizes:
        settings["read_sizes"] = [int(size) for size in arguments.sizes.split(",")]
    results = run(store_names, settings, only=arguments.only)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(table(results, store_names))
    print(f"\nwritten to {RESULTS}")
    if any(figures["round_errors"] for figures in results.get("commands", {}).values()):
        raise SystemExit("a flow failed under the benchmark: see the lines FAILED above")


if __name__ == "__main__":
    main()
