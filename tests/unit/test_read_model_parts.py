"""The parts of the read side that need no server: cursors, search words, the merge of searches
across services, and the audit index applying each source position once."""
from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.persistence import Tracking

from services.audit.index import CaseIndex
from services.audit.search import search_everywhere
from services.initiatives.application import InitiativesApplication
from shared import clock
from shared.errors import InvalidRequest
from shared.readmodel import (
    PAGE_KEY,
    SEARCH_KEY,
    TRACKING_NAME,
    Cursors,
    PositionMoved,
    marked,
    search_words,
)
from shared.store import StoreGate, persistence_env


def test_a_cursor_round_trips_only_for_its_list_and_filters() -> None:
    cursor = Cursors.encode("initiatives", {"state": "registered", "order": "asc"}, ["2025-06-01T10:00:00", "id-1"])
    assert Cursors.decode(cursor, "initiatives", {"order": "asc", "state": "registered"}, PAGE_KEY) == [
        "2025-06-01T10:00:00", "id-1"]
    assert Cursors.decode(None, "initiatives", {}, PAGE_KEY) is None
    for scope, filters in (("meetings", {"state": "registered", "order": "asc"}),
                           ("initiatives", {"state": "closed", "order": "asc"})):
        with pytest.raises(InvalidRequest) as refused:
            Cursors.decode(cursor, scope, filters, PAGE_KEY)
        assert refused.value.errors[0]["field"] == "cursor"
    wrong_types = [Cursors.encode("initiatives", {}, key) for key in (["only one"], [1.5, "id"], ["a\x00", "id"])]
    for garbage in ("", "%%%", "bm90IGpzb24", *wrong_types):
        with pytest.raises(InvalidRequest):
            Cursors.decode(garbage, "initiatives", {}, PAGE_KEY)
    with pytest.raises(InvalidRequest):
        Cursors.decode(Cursors.encode("s", {}, ["not a score", "id"]), "s", {}, SEARCH_KEY)


def test_a_snippet_is_escaped_and_only_its_matches_are_marked() -> None:
    assert marked("<script>\ue000Samverkan\ue001 & mer</script>") == \
        "&lt;script&gt;<mark>Samverkan</mark> &amp; mer&lt;/script&gt;"


def test_search_takes_words_and_refuses_search_syntax() -> None:
    assert search_words("  samverkan  RUN 2025-0042 Umeå-regionen ") == ["samverkan", "RUN", "2025-0042", "Umeå-regionen"]
    for query in ('"fras"', "ord*", "-ord", "a AND b", "a NEAR b", "(a)", "a:b", "^a", "", "x" * 201,
                  " ".join(["ord"] * 13)):
        with pytest.raises(InvalidRequest) as refused:
            search_words(query)
        assert refused.value.errors[0]["field"] == "q"


class FakeService:
    """A service's /search over a fixed list of hits (a unit-test stand-in for the HTTP client)."""

    def __init__(self, name: str, scores: list[float]):
        self.hits = [{"service": name, "aggregate": "X", "aggregate_id": f"{name}-{i}", "diary_number": None,
                      "title": None, "snippet": "", "score": score, "cursor": str(i)}
                     for i, score in enumerate(sorted(scores, reverse=True))]
        self.requests = 0

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        self.requests += 1
        start = int(params["cursor"]) + 1 if "cursor" in params else 0
        page = self.hits[start:start + params["limit"]]
        more = start + params["limit"] < len(self.hits)
        return {"hits": [dict(hit) for hit in page], "next": page[-1]["cursor"] if more else None}


def test_a_search_across_services_shows_every_hit_once_best_first() -> None:
    services = {"a": FakeService("a", [0.9, 0.5, 0.4, 0.1]), "b": FakeService("b", [0.8, 0.7, 0.2]),
                "c": FakeService("c", [])}
    seen, cursor = [], None
    while True:
        page = search_everywhere(services, {"q": "samverkan", "limit": 2, "cursor": cursor})
        assert len(page.items) <= 2
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [hit["score"] for hit in seen] == [0.9, 0.8, 0.7, 0.5, 0.4, 0.2, 0.1]
    assert len({hit["aggregate_id"] for hit in seen}) == 7
    with pytest.raises(InvalidRequest):
        search_everywhere(services, {"q": "samverkan", "limit": 2, "cursor": None, "services": "a,archive"})


class FakeFeed:
    """A source's GET /events over a list of envelopes (a unit-test stand-in for the HTTP client)."""

    def __init__(self, envelopes: list[dict[str, Any]]):
        self.envelopes = envelopes

    def get(self, path: str, after: int, limit: int) -> dict[str, Any]:
        events = [e for e in self.envelopes if e["position"] > after][:limit]
        return {"events": events, "last_position": events[-1]["position"] if events else after}


def envelope(position: int, diary_number: str | None, aggregate_id: str = "c1") -> dict[str, Any]:
    return {"position": position, "type": "Initiative.Registered", "aggregate_id": aggregate_id,
            "diary_number": diary_number, "payload": {}}


def test_the_audit_index_applies_each_source_position_once_and_in_order(tmp_path: Any) -> None:
    env = persistence_env({"PERSISTENCE": "sqlite", "DATA_DIR": str(tmp_path)}, "audit")
    published_before_its_queue = [envelope(1, None), envelope(2, "RUN 2025-0007", "c7")]
    index = CaseIndex(env, {"initiatives": FakeFeed(published_before_its_queue)}, StoreGate(env))  # type: ignore[dict-item]
    try:
        # the first message: the feed first, so what came before the queue is not passed over
        assert index.apply_inbound("initiatives", envelope(3, "RUN 2025-0001")) == "applied"
        assert index.aggregates_of("RUN 2025-0007") == [("initiatives", "c7", "Initiative")]
        assert index.apply_inbound("initiatives", envelope(3, "RUN 2025-0001")) == "duplicate"
        assert index.apply_inbound("initiatives", envelope(2, "RUN 2025-0009", "c9")) == "duplicate"
        assert index.apply_inbound("initiatives", envelope(4, "RUN 2025-0001")) == "applied"
        assert index.apply_inbound("initiatives", envelope(5, None, "c5")) == "ignored"
        assert index.apply_inbound("initiatives", {"not": "an envelope"}) == "rejected"
        assert index.aggregates_of("RUN 2025-0001") == [("initiatives", "c1", "Initiative")]  # once
        assert index.aggregates_of("RUN 2025-0009") == []
        assert index.positions() == {"initiatives": 5}
    finally:
        index.close()


def test_the_audit_index_applies_a_run_of_messages_in_one_transaction_skipping_those_it_has(tmp_path: Any) -> None:
    env = persistence_env({"PERSISTENCE": "sqlite", "DATA_DIR": str(tmp_path)}, "audit")
    index = CaseIndex(env, {"initiatives": FakeFeed([envelope(1, "RUN 2025-0007", "c7")])}, StoreGate(env))  # type: ignore[dict-item]
    transactions: list[int] = []
    apply = index.view.apply
    index.view.apply = lambda entries, *args, **kwargs: transactions.append(len(entries)) or apply(  # type: ignore[method-assign]
        entries, *args, **kwargs)
    try:
        run = [envelope(1, "RUN 2025-0007", "c7"), envelope(2, "RUN 2025-0001", "c1"), envelope(3, None, "c3"),
               envelope(4, "RUN 2025-0002", "c2"), envelope(5, "RUN 2025-0001", "c1")]
        assert index.apply_inbound_run("initiatives", run) == ["duplicate", "applied", "ignored", "applied", "applied"]
        assert transactions == [1, 3]  # the feed before the first message (position 1), then the run at once
        assert index.aggregates_of("RUN 2025-0001") == [("initiatives", "c1", "Initiative")]
        assert index.aggregates_of("RUN 2025-0002") == [("initiatives", "c2", "Initiative")]
        assert index.positions() == {"initiatives": 5}
        assert index.apply_inbound_run("initiatives", [envelope(4, "RUN 2025-0009", "c9"), envelope(5, None)]) == [
            "duplicate", "duplicate"]
        assert index.apply_inbound_run("elsewhere", [envelope(6, None), envelope(7, None)]) is None  # not followed
        assert index.aggregates_of("RUN 2025-0009") == [] and index.positions() == {"initiatives": 5}
    finally:
        index.close()


def test_a_read_model_on_the_in_memory_store_lists_what_was_saved() -> None:
    app = InitiativesApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    from services.initiatives.demo import seed_000
    from services.initiatives.schemas import SubmitInitiative

    submission = SubmitInitiative().load(seed_000()["submission"])
    ids = [str(app.submit_initiative(actor="x", **submission).id) for _ in range(3)]
    page = app.list_initiatives({"limit": 2}, today=clock.today())
    assert [case["id"] for case in page.items] == ids[:2] and page.next_cursor
    rest = app.list_initiatives({"limit": 2, "cursor": page.next_cursor}, today=clock.today())
    assert [case["id"] for case in rest.items] == ids[2:] and rest.next_cursor is None


def test_a_rebuild_beside_a_running_instance_skips_nothing(tmp_path: Any) -> None:
    """One instance has read a batch when another begins a rebuild: the batch finds the position moved
    and writes nothing (with a position that only had to grow, it would have jumped past the rebuild's
    second batch), and both go on from the rebuilt position."""
    from bench.fill import fill_initiatives

    env = persistence_env({"PERSISTENCE": "sqlite", "DATA_DIR": str(tmp_path)}, "initiatives")
    running, rebuilding = InitiativesApplication(env), InitiativesApplication(env)
    try:
        fill_initiatives(running, 60, per_save=10)
        view = running.read_model.view
        view.drop()  # behind the log, as after a restore (its own saves kept it current: ReadModel.write_within)
        running.read_model.batch_size = 50
        assert running.read_model.catch_up_batch()
        start = running.read_model.position  # the running instance reads its next batch ...
        batch = running.recorder.select_notifications(start=start, limit=50, inclusive_of_start=False)
        rows = running.read_model.rows_for(batch)
        rebuilding.read_model.batch_size = 20  # its first batch ends before the running one's began
        rebuilding.read_model.view.drop()  # ... a rebuild begins, and applies its first batch ...
        assert rebuilding.read_model.catch_up_batch() and rebuilding.read_model.position < start
        with pytest.raises(PositionMoved):  # ... so the running one's batch, read before, writes nothing
            view.apply(rows, Tracking(application_name=TRACKING_NAME, notification_id=batch[-1].id), start=start)
        head = running.recorder.max_notification_id()
        assert running.read_model.catch_up() == rebuilding.read_model.catch_up() == head
        caught_up = view.dump_rows()
        assert len(caught_up["initiatives_rm_initiatives"]) == 60
        rebuilding.rebuild_read_model()
        assert rebuilding.read_model.view.dump_rows() == caught_up
    finally:
        running.close()
        rebuilding.close()


def test_what_an_instance_saves_is_listed_from_memory_and_matches_a_rebuild(tmp_path: Any) -> None:
    """A save's rows come from the aggregates in memory, without a catch-up, when the read model stands
    right before it; when it does not (behind, as after a restore), the save is left to the catch-up,
    which takes the aggregates this instance saved last from memory. Either way the tables are what
    another instance's replay of the log makes of them."""
    from bench.fill import fill_initiatives

    env = persistence_env({"PERSISTENCE": "sqlite", "DATA_DIR": str(tmp_path)}, "initiatives")
    app, other = InitiativesApplication(env), InitiativesApplication(env)

    def replayed() -> dict[str, Any]:
        """The tables as an instance that saved nothing (so remembers no aggregate) rebuilds them."""
        fresh = InitiativesApplication(env)
        try:
            fresh.rebuild_read_model()
            return fresh.read_model.view.dump_rows()
        finally:
            fresh.close()

    try:
        fill_initiatives(app, 30, per_save=10)
        fill_initiatives(other, 5, per_save=1, year=2026)  # another instance, between this one's saves
        fill_initiatives(app, 10, per_save=5, year=2027)
        head = app.recorder.max_notification_id()
        assert app.read_model.position == head  # no catch-up was asked for
        listed = app.read_model.view.dump_rows()
        assert len(listed["initiatives_rm_initiatives"]) == 45
        assert replayed() == listed

        app.read_model.view.drop()  # behind the log: the next save cannot be applied on its own
        fill_initiatives(app, 1, per_save=1, year=2028)
        assert app.read_model.position == 0
        assert app.read_model.catch_up() == app.recorder.max_notification_id()
        caught_up = app.read_model.view.dump_rows()
        assert len(caught_up["initiatives_rm_initiatives"]) == 46

        assert replayed() == caught_up
    finally:
        app.close()
        other.close()


def test_a_save_that_failed_leaves_nothing_for_the_catch_up_to_list(tmp_path: Any) -> None:
    """An instance changes a case another has just registered, from the version before: its save fails
    (someone else saved that version first). The read model, behind the log (as after a restore), catches
    up: the case's row is the registration that was saved, not the one that failed in memory."""
    from eventsourcing.persistence import IntegrityError

    from services.initiatives.demo import seed_000
    from services.initiatives.domain import Initiative
    from services.initiatives.schemas import SubmitInitiative

    env = persistence_env({"PERSISTENCE": "sqlite", "DATA_DIR": str(tmp_path)}, "initiatives")
    app, other = InitiativesApplication(env), InitiativesApplication(env)
    try:
        case = app.submit_initiative(actor="x", **SubmitInitiative().load(seed_000()["submission"]))
        stale = app.load(case.id, Initiative)
        app.read_model.view.drop()  # behind the log: no save can write its rows itself
        registered = other.register_initiative(case.id, actor="registrar")
        stale.register(diary="RUN", diary_number="RUN 1999-0001", registered_on=clock.today(), actor="x")
        with pytest.raises(IntegrityError):
            app.save(stale)
        assert app.read_model.catch_up() == app.recorder.max_notification_id()
        [row] = app.list_initiatives({"limit": 10}, today=clock.today()).items
        assert row["diary_number"] == registered.diary_number

        # The instance whose save committed remembers the case as saved: its catch-up makes the row from
        # memory, reading no event of it.
        other.read_model.view.drop()

        def not_read(*_: Any) -> Any:
            raise AssertionError("read an event of an aggregate it had saved")

        other.mapper.to_domain_event = not_read  # type: ignore[method-assign]
        assert other.read_model.catch_up() == other.recorder.max_notification_id()
        [row] = other.list_initiatives({"limit": 10}, today=clock.today()).items
        assert row["diary_number"] == registered.diary_number
    finally:
        app.close()
        other.close()


def test_text_with_a_nul_character_is_refused() -> None:
    from marshmallow import ValidationError

    from services.initiatives.demo import seed_000
    from services.initiatives.schemas import SubmitInitiative

    with pytest.raises(ValidationError) as refused:
        SubmitInitiative().load({**seed_000()["submission"], "title": "Ärende\x00"})
    assert "title" in refused.value.messages


def test_an_aggregate_whose_row_cannot_be_made_is_flagged_and_the_others_are_listed() -> None:
    from dataclasses import replace

    from services.initiatives.demo import seed_000
    from services.initiatives.read_model import INITIATIVES, initiative_row
    from services.initiatives.schemas import SubmitInitiative

    def row_or_fail(initiative: Any) -> Any:
        if initiative.title == "Trasig":
            raise ValueError("no row for this one")
        return initiative_row(initiative)

    class Fragile(InitiativesApplication):
        read_model_class = type("FragileReadModel", (InitiativesApplication.read_model_class,),
                                {"listings": (replace(INITIATIVES, row=row_or_fail),)})

    app = Fragile(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    submission = SubmitInitiative().load(seed_000()["submission"])
    fine = app.submit_initiative(actor="x", **submission)
    broken = app.submit_initiative(actor="x", **{**submission, "title": "Trasig"})
    after = app.submit_initiative(actor="x", **submission)
    listed = app.list_initiatives({"limit": 10}, today=clock.today()).items
    assert [case["id"] for case in listed] == [str(fine.id), str(after.id)]
    health = app.health()
    assert health["status"] == "degraded" and list(health["read_model_failures"]) == [str(broken.id)]
    assert health["read_model_position"] == health["log_position"]  # the read model went on


def test_a_case_registered_while_a_file_is_imported_keeps_its_number_alone(tmp_path: Any) -> None:
    """The file is checked first, then each case saved. A case registered in between, in another
    instance, is given the number an imported case has: that case is not saved (409), so no diary
    number is given twice."""
    import json
    from datetime import date
    from pathlib import Path

    from services.initiatives.demo import seed_000
    from services.initiatives.schemas import SubmitInitiative
    from shared.errors import ConcurrentChange

    data = json.loads((Path(__file__).resolve().parents[2] / "docs" / "examples" / "import-motion-2021.json").read_text())
    record = data["records"][0]
    record.update(diary_number="RUN 2024-0001", submitted_on="2024-02-01")
    record["steps"] = [{"step": "registered", "on": "2024-02-02"}]
    env = persistence_env({"PERSISTENCE": "sqlite", "DATA_DIR": str(tmp_path)}, "initiatives")
    app, other = InitiativesApplication(env), InitiativesApplication(env)
    save_imported = app._save_imported
    registered = []

    def registered_meanwhile(*args: Any) -> None:
        case = other.submit_initiative(actor="x", **SubmitInitiative().load(seed_000()["submission"]))
        registered.append(other.register_initiative(case.id, actor="registrar", registered_on=date(2024, 2, 3)))
        save_imported(*args)

    app._save_imported = registered_meanwhile  # type: ignore[method-assign]
    try:
        with pytest.raises(ConcurrentChange):
            app.import_cases(json.dumps(data).encode(), "application/json", filename="f.json", actor="registrar")
        assert registered[0].diary_number == "RUN 2024-0001"
        numbers = [case["diary_number"] for case in app.list_initiatives({"limit": 10}, today=clock.today()).items]
        assert numbers == ["RUN 2024-0001"]
    finally:
        app.close()
        other.close()
