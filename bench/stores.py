"""Empty stores for a benchmark, and the store's own limit: how fast plain eventsourcing saves.

- raw_save       stock eventsourcing (no chain): one new aggregate with one event per save,
                 one save after another. The baseline of every command figure.
- chained_save   the same through CaseApplication, with the hash chain: what the chain costs a save.
- submit_in_process  the initiatives application's submit, its schema's validation included, in this
                 process: what `POST /initiatives` does apart from HTTP, the outbox and the service's
                 plumbing (the case, its save, its rows in the read model).
"""
from __future__ import annotations

import secrets
import tempfile
import time
from contextlib import contextmanager
from typing import Any, Iterator

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import JSONTranscoder

from shared.application import CaseApplication, DateAsISO
from shared.store import persistence_env

POSTGRES = {"POSTGRES_DBNAME": "cases_test", "POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": 5432,
            "POSTGRES_USER": "postgres", "POSTGRES_PASSWORD": ""}


@contextmanager
def store_config(store: str) -> Iterator[dict[str, Any]]:
    """A service's store settings (nameko config) for an empty store, removed afterwards:
    a temporary SQLite directory, or a fresh schema in PostgreSQL's `cases_test`."""
    if store == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench_") as data_dir:
            yield {"PERSISTENCE": "sqlite", "DATA_DIR": data_dir}
        return
    if store != "postgres":
        raise ValueError(f"store must be 'sqlite' or 'postgres', not {store!r}")
    import psycopg
    from psycopg import sql

    schema = f"bench_{secrets.token_hex(4)}"
    dsn = f"host={POSTGRES['POSTGRES_HOST']} port={POSTGRES['POSTGRES_PORT']} " \
          f"user={POSTGRES['POSTGRES_USER']} dbname={POSTGRES['POSTGRES_DBNAME']}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        try:
            yield {"PERSISTENCE": "postgres", "POSTGRES_SCHEMA": schema, **POSTGRES}
        finally:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@contextmanager
def store_env(store: str, service: str) -> Iterator[dict[str, str]]:
    """eventsourcing's env for an empty store of `service`."""
    with store_config(store) as config:
        yield persistence_env(config, service)


class Note(Aggregate):
    @event("Written")
    def __init__(self, text: str) -> None:
        self.text = text


class RawApplication(Application):
    """Stock eventsourcing: the same transcodings as CaseApplication, no chain."""

    name = "bench_raw"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())


class ChainedApplication(CaseApplication):
    name = "bench_chained"


def timed_saves(app: Application, saves: int) -> float:
    text = "Uppföljning: möte om läget i kompetensförsörjningen " * 4
    started = time.perf_counter()
    for _ in range(saves):
        app.save(Note(text=text))
    return time.perf_counter() - started


def timed_submissions(app: Any, submissions: int) -> float:
    """The initiatives service's command without its HTTP: the submission validated by its schema, the
    case made and saved with its rows in the read model (what `POST /initiatives` runs in the process)."""
    from services.initiatives.demo import seed_000
    from services.initiatives.schemas import SubmitInitiative

    submission = seed_000()["submission"]
    started = time.perf_counter()
    for _ in range(submissions):
        app.submit_initiative(actor="case-officer", **SubmitInitiative().load(submission))
    return time.perf_counter() - started


def run(store: str, saves: int = 2000, rounds: int = 5) -> dict[str, Any]:
    """The rates, in alternating rounds so that the machine's drift hits them alike: a raw save, a
    chained save, and the initiatives application's submit in the process (`submit_in_process`)."""
    from services.initiatives.application import InitiativesApplication

    timings = {"raw_save": timed_saves, "chained_save": timed_saves, "submit_in_process": timed_submissions}
    per_round = {"raw_save": saves // rounds, "chained_save": saves // rounds,
                 "submit_in_process": saves // rounds // 4}  # a submit costs several saves
    seconds = dict.fromkeys(timings, 0.0)
    with store_env(store, "bench") as env, store_env(store, "initiatives") as initiatives_env:
        apps = {"raw_save": RawApplication(env=env), "chained_save": ChainedApplication(env=env),
                "submit_in_process": InitiativesApplication(env=initiatives_env)}
        try:
            for name, app in apps.items():
                timings[name](app, 100)  # warm up: tables, connections, caches
            for _ in range(rounds):
                for name, app in apps.items():
                    seconds[name] += timings[name](app, per_round[name])
        finally:
            for app in apps.values():
                app.close()
    figures = {name: {"saves": rounds * per_round[name], "seconds": round(s, 3),
                      "per_second": round(rounds * per_round[name] / s)} for name, s in seconds.items()}
    for name in ("chained_save", "submit_in_process"):
        figures[name]["x_raw"] = round(figures[name]["per_second"] / figures["raw_save"]["per_second"], 2)
    return figures
