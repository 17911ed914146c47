"""Lists, look-ups and search read persisted read models (shared.readmodel), on both stores:
pages with cursors and Link headers, filters, diary look-ups, Swedish full-text search, bad
input refused, a rebuild equal to the live tables, a restart that needs no replay."""
from __future__ import annotations

from contextlib import ExitStack
from datetime import timedelta
from typing import Any, Iterator
from urllib.parse import parse_qs, urlparse

import pytest
from click.testing import CliRunner

from services.initiatives.application import InitiativesApplication
from services.initiatives.demo import seed_000
from services.initiatives.service import InitiativesService
from shared import clock
from shared.read_models_cli import main as read_models
from shared.readmodel import Cursors
from shared.recorders import store_of
from shared.store import persistence_env
from tests.integration.conftest import running
from tests.support.cases import drive, submit
from tests.support.services import Api, api_for, assert_problem


def submitted(api: Api, **changes: Any) -> dict[str, Any]:
    return api.command("/initiatives", "case_officer", {**seed_000()["submission"], **changes})


def registered(api: Api, **changes: Any) -> dict[str, Any]:
    case = submitted(api, **changes)
    return api.command(f"/initiatives/{case['id']}/register", "registrar", {})


def store_env(config: dict[str, Any]) -> dict[str, str]:
    return persistence_env(config, "initiatives")


def test_every_list_pages_with_a_cursor_and_a_link_in_a_stable_order(api: Api) -> None:
    cases = [registered(api, title=f"Ärende {number}") for number in range(7)]
    first = api.get("/initiatives", params={"limit": 3, "state": "registered"})
    assert first.status_code == 200
    page = first.json()
    assert [c["id"] for c in page["initiatives"]] == [c["id"] for c in cases[:3]]
    link = first.headers["Link"]
    assert link.endswith('>; rel="next"')
    linked = parse_qs(urlparse(link[1:link.index(">")]).query)
    assert linked == {"limit": ["3"], "state": ["registered"], "cursor": [page["next"]]}

    seen, cursor = [], None
    while True:
        response = api.get("/initiatives", params={"limit": 3, "state": "registered", **({"cursor": cursor} if cursor else {})})
        seen += [c["id"] for c in response.json()["initiatives"]]
        cursor = response.json()["next"]
        if cursor is None:
            assert "Link" not in response.headers
            break
    assert seen == [c["id"] for c in cases]  # each once, in the order registered, across pages
    newest_first = api.get("/initiatives", params={"limit": 500, "order": "desc"}).json()
    assert [c["id"] for c in newest_first["initiatives"]] == [c["id"] for c in reversed(cases)]
    assert newest_first["next"] is None
    assert len(api.get("/initiatives").json()["initiatives"]) == 7  # default page of 50


def test_filters_a_registrar_expects(api: Api) -> None:
    kerr = registered(api, kind="motion", submitters=[{"name": "Veronica Kerr", "party": "KD"}])
    lind = registered(api, submitters=[{"name": "Anna Lind", "party": "S"}])
    referred = drive(api, submit(api)["id"], "referral")  # seed 000: registered 2025-05-19, four preparers
    api.command(f"/initiatives/{referred['id']}/referral", "registrar", {
        "preparers": seed_000()["referral"]["preparers"], "due_date": (clock.today() + timedelta(days=30)).isoformat()})
    overdue = drive(api, submit(api)["id"], "referral")
    api.command(f"/initiatives/{overdue['id']}/referral", "registrar", {
        "preparers": [{"name": "Karin Berglund"}], "due_date": (clock.today() - timedelta(days=1)).isoformat(),
        "referred_on": (clock.today() - timedelta(days=30)).isoformat()})

    def ids(**params: Any) -> list[str]:
        response = api.get("/initiatives", params=params)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["initiatives"]]

    assert ids(kind="motion") == [kerr["id"]]
    assert ids(party="kd") == [kerr["id"], referred["id"], overdue["id"]]  # seed 000's submitters are KD
    assert ids(submitter="anna lind") == [lind["id"]]
    assert ids(preparer="Karin Berglund") == [overdue["id"]]
    assert ids(preparer="kerstin hamre") == [referred["id"]]
    assert ids(overdue="true") == [overdue["id"]]
    assert ids(state="in_preparation", party="KD") == [referred["id"], overdue["id"]]
    today = clock.today().isoformat()
    assert ids(registered_from=today, registered_to=today) == [kerr["id"], lind["id"]]
    assert ids(registered_from="2025-05-01", registered_to="2025-05-31") == [referred["id"], overdue["id"]]
    assert ids(decided_from="2000-01-01") == []

    found = api.get("/initiatives", params={"diary_number": lind["diary_number"]}).json()
    assert [c["id"] for c in found["initiatives"]] == [lind["id"]] and found["next"] is None
    unknown = assert_problem(api.get("/initiatives", params={"diary_number": "RUN 1999-0001"}), 404)
    assert "RUN 1999-0001" in unknown["detail"]


def test_a_decided_case_is_found_by_its_decision_date(api: Api) -> None:
    case = drive(api, submit(api)["id"], "decision")
    decided_on = case["decision"]["decided_on"]
    found = api.get("/initiatives", params={"decided_from": decided_on, "decided_to": decided_on}).json()
    assert [c["id"] for c in found["initiatives"]] == [case["id"]]


def test_search_finds_swedish_words_and_marks_them(api: Api) -> None:
    genitive = registered(api, title="Regionens roll", text="Om samverkans former med kommunerna.",
                          proposal_clauses=["att utreda formerna"])
    registered(api, title="Något annat", text="Kollektivtrafik i inlandet.", proposal_clauses=[])
    response = api.get("/search", params={"q": "samverkan"})
    assert response.status_code == 200, response.text
    hits = response.json()["hits"]
    assert [h["aggregate_id"] for h in hits] == [genitive["id"]]  # "samverkan" finds "samverkans"
    [hit] = hits
    assert hit["service"] == "initiatives" and hit["aggregate"] == "Initiative"
    assert hit["diary_number"] == genitive["diary_number"] and hit["title"] == "Regionens roll"
    assert "<mark>samverkans</mark>" in hit["snippet"].lower()
    both = api.get("/search", params={"q": "samverkan kommunerna"}).json()["hits"]
    assert [h["aggregate_id"] for h in both] == [genitive["id"]]  # every word must match
    assert api.get("/search", params={"q": "samverkan kollektivtrafik"}).json()["hits"] == []


def test_search_pages_best_match_first(api: Api) -> None:
    cases = [registered(api, title=f"Samverkan {'samverkan ' * n}", text="Text.", proposal_clauses=[])
             for n in range(5)]
    seen, cursor = [], None
    while True:
        page = api.get("/search", params={"q": "samverkan", "limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += page["hits"]
        cursor = page["next"]
        if cursor is None:
            break
    assert sorted(h["aggregate_id"] for h in seen) == sorted(c["id"] for c in cases)
    assert len({h["aggregate_id"] for h in seen}) == 5
    scores = [h["score"] for h in seen]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("params, field", [
    ({"limit": 0}, "limit"), ({"limit": 10000}, "limit"), ({"limit": "many"}, "limit"),
    ({"cursor": "not a cursor"}, "cursor"), ({"cursor": "eyJ2IjogMX0"}, "cursor"), ({"order": "sideways"}, "order"),
    ({"registered_from": "2025-13-01"}, "registered_from"), ({"overdue": "maybe"}, "overdue"),
])
def test_bad_paging_and_filters_are_refused_naming_the_field(api: Api, params: dict[str, Any], field: str) -> None:
    problem = assert_problem(api.get("/initiatives", params=params), 400)
    assert [error["field"] for error in problem["errors"]] == [field]


def test_a_cursor_only_continues_the_list_and_filters_that_gave_it(api: Api) -> None:
    for number in range(3):
        registered(api, title=f"Ärende {number}")
    cursor = api.get("/initiatives", params={"limit": 1, "state": "registered"}).json()["next"]
    assert cursor
    for path, params in (("/initiatives", {"state": "submitted"}), ("/initiatives", {}), ("/incidents", {}),
                         ("/search", {"q": "ärende"})):
        problem = assert_problem(api.get(path, params={**params, "cursor": cursor}), 400)
        assert problem["errors"][0]["field"] == "cursor"
    forged = Cursors.encode("initiatives", {"order": "asc", "state": "registered"}, [{"x": 1}, "id"])
    assert assert_problem(api.get("/initiatives", params={"state": "registered", "cursor": forged}), 400)


@pytest.mark.parametrize("query", [
    "x" * 10_240, '"samverkan"', "samverk*", "samverkan NEAR kommun", "-samverkan", "samverkan AND kommun",
    "title:samverkan", "(samverkan)", "samverkan OR kommun", "^samverkan", "   ",
])
def test_a_search_that_is_too_long_or_search_syntax_is_refused(api: Api, query: str) -> None:
    problem = assert_problem(api.get("/search", params={"q": query}), 400)
    assert problem["errors"][0]["field"] == "q"


def test_hyphenated_words_and_diary_numbers_are_searched_as_words(api: Api) -> None:
    case = registered(api, title="Kultursamverkansmodellen och Umeå-regionen", proposal_clauses=[])
    assert [h["aggregate_id"] for h in api.get("/search", params={"q": "Umeå-regionen"}).json()["hits"]] == [case["id"]]


def test_a_restarted_service_answers_from_its_read_model_without_replaying(
    container_factory: Any, config: dict[str, Any]
) -> None:
    first = running(container_factory, InitiativesService, config)
    next(first)
    api = api_for(config)
    numbers = [registered(api)["diary_number"] for _ in range(3)]
    assert len(api.get("/initiatives").json()["initiatives"]) == 3  # a read catches the read model up
    health = api.get("/health", None).json()
    assert health["read_model_position"] == health["log_position"]
    next(first, None)  # stopped

    restarted = running(container_factory, InitiativesService, config)
    next(restarted)
    # the position was kept with the tables: nothing to replay before the first answer
    assert api.get("/health", None).json()["read_model_position"] == health["log_position"]
    listed = api.get("/initiatives").json()["initiatives"]
    assert [c["diary_number"] for c in listed] == numbers
    next(restarted, None)


def test_rebuilt_read_model_equals_the_live_one(api: Api, config: dict[str, Any], monkeypatch: Any) -> None:
    drive(api, submit(api)["id"], "closure")
    registered(api, kind="motion")
    withdrawn = submitted(api)
    api.command(f"/initiatives/{withdrawn['id']}/withdrawal", "registrar", {"reason": "Återkallad"})
    app = InitiativesApplication(store_env(config))
    try:
        app.read_model.catch_up()
        live = app.read_model.view.dump_rows()
        assert len(live["initiatives_rm_initiatives"]) == 3 and len(live["initiatives_rm_search"]) == 3
        for name in ("PERSISTENCE", "DATA_DIR", "POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DBNAME", "POSTGRES_SCHEMA"):
            if name in config:
                monkeypatch.setenv(name, str(config[name]))
        result = CliRunner().invoke(read_models, ["rebuild", "initiatives"])
        assert result.exit_code == 0, result.output
        assert "initiatives_rm_initiatives: 3 rows" in result.output
        assert app.read_model.view.dump_rows() == live
    finally:
        app.close()
    listed = api.get("/initiatives").json()["initiatives"]  # the service reads the rebuilt tables
    assert {c["state"] for c in listed} == {"closed", "registered", "withdrawn"}


def test_two_instances_catching_up_at_once_apply_each_batch_once(api: Api, config: dict[str, Any]) -> None:
    import eventlet

    for _ in range(6):
        registered(api)
    first, second = InitiativesApplication(store_env(config)), InitiativesApplication(store_env(config))
    try:
        first.read_model.view.drop()  # both start from position 0 with small batches, racing
        first.read_model.batch_size = second.read_model.batch_size = 2
        racers = [eventlet.spawn(app.read_model.catch_up) for app in (first, second)]
        reached = [racer.wait() for racer in racers]
        head = first.recorder.max_notification_id()
        assert reached == [head, head]
        raced = first.read_model.view.dump_rows()
        first.rebuild_read_model()
        assert first.read_model.view.dump_rows() == raced
    finally:
        first.close()
        second.close()



def test_a_batch_read_before_a_rebuild_began_writes_nothing_on_postgres(infrastructure: Any) -> None:
    """A running instance has read a batch when a rebuild begins: applying it finds the position moved
    and writes nothing; PostgreSQL sends the position and the rows as one pipeline and reads the
    position's answer last. (SQLite: tests/unit/test_read_model_parts.py.) No service runs here, so
    nothing else writes the tables."""
    from eventsourcing.persistence import Tracking

    from bench.fill import fill_initiatives
    from shared.readmodel import TRACKING_NAME, PositionMoved

    with infrastructure.fresh_schema() as schema:
        env = store_env(infrastructure.postgres_config(schema))
        running, rebuilding = InitiativesApplication(env), InitiativesApplication(env)
        try:
            fill_initiatives(running, 60, per_save=10)
            view = running.read_model.view
            view.drop()
            running.read_model.batch_size = 50
            assert running.read_model.catch_up_batch()
            start = running.read_model.position
            batch = running.recorder.select_notifications(start=start, limit=50, inclusive_of_start=False)
            rows = running.read_model.rows_for(batch)
            rebuilding.read_model.batch_size = 20
            rebuilding.read_model.view.drop()
            assert rebuilding.read_model.catch_up_batch() and rebuilding.read_model.position < start
            before = view.dump_rows()
            with pytest.raises(PositionMoved):
                view.apply(rows, Tracking(application_name=TRACKING_NAME, notification_id=batch[-1].id), start=start)
            assert view.dump_rows() == before
            head = running.recorder.max_notification_id()
            assert running.read_model.catch_up() == rebuilding.read_model.catch_up() == head
            assert len(view.dump_rows()["initiatives_rm_initiatives"]) == 60
        finally:
            running.close()
            rebuilding.close()


@pytest.fixture(params=["sqlite", "postgres"])
def initiatives_app(request: Any, infrastructure: Any, tmp_path: Any) -> Iterator[InitiativesApplication]:
    """The initiatives application (no service around it) on an empty store of each kind."""
    with ExitStack() as stack:
        if request.param == "postgres":
            env = store_env(infrastructure.postgres_config(stack.enter_context(infrastructure.fresh_schema())))
        else:
            env = store_env({"PERSISTENCE": "sqlite", "DATA_DIR": str(tmp_path)})
        app = InitiativesApplication(env)
        stack.callback(app.close)
        yield app


def test_a_saves_rows_are_committed_with_its_events_or_not_at_all(initiatives_app: InitiativesApplication,
                                                                 monkeypatch: Any) -> None:
    """A save's rows and the read model's position are written in the events' own transaction
    (shared.recorders): a save that commits is listed with no catch-up, and rows that cannot be
    written take the events with them, so the log never holds what the lists cannot show."""
    from services.initiatives.schemas import SubmitInitiative

    app = initiatives_app
    submission = SubmitInitiative().load(seed_000()["submission"])
    for _ in range(3):
        app.submit_initiative(actor="case-officer", **submission)
    head = app.recorder.max_notification_id()
    assert app.read_model.position == head  # written with the events: no catch-up was asked for
    listed = app.read_model.view.dump_rows()
    assert len(listed["initiatives_rm_initiatives"]) == 3

    def full(*_: Any, **__: Any) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(app.read_model.view, "_write_all", full)
    with pytest.raises(RuntimeError, match="disk is full"):
        app.submit_initiative(actor="case-officer", **submission)
    assert app.recorder.max_notification_id() == head  # the events went with the rows
    assert app.read_model.position == head
    monkeypatch.undo()
    assert app.read_model.view.dump_rows() == listed
    app.submit_initiative(actor="case-officer", **submission)
    assert app.read_model.position == app.recorder.max_notification_id() > head
    assert len(app.read_model.view.dump_rows()["initiatives_rm_initiatives"]) == 4


def test_a_save_writes_no_row_where_the_read_model_stands_elsewhere(initiatives_app: InitiativesApplication) -> None:
    """A save's rows go with the statement that moves the read model's position over its events, from
    the event before them, sent behind it without waiting for its answer (on PostgreSQL a round trip
    fewer), each guarded by the position. Where the position stands elsewhere
    (behind, as after a save whose rows were left to the catch-up), the events are saved, no row is
    written, not even in part, the position stays, and the catch-up makes the rows after."""
    from services.initiatives.schemas import SubmitInitiative
    from shared.readmodel import TRACKING_NAME

    app = initiatives_app
    view = app.read_model.view
    submission = SubmitInitiative().load(seed_000()["submission"])
    app.submit_initiative(actor="case-officer", **submission)
    first = app.submit_initiative(actor="case-officer", **submission)
    head = app.recorder.max_notification_id()
    assert app.read_model.position == head
    before = view.dump_rows()
    behind = head - 1  # (at least 1: a position of 0 is no row at all)
    with view.transaction(commit=True) as cursor:
        cursor.execute(view.sql(f"UPDATE {view.tracking_table()} SET notification_id = ? WHERE application_name = ?"),
                       [behind, TRACKING_NAME])
    changed = app.change(first.id, type(first), "withdraw", actor="case-officer", reason="Ändrat sig",
                         withdrawn_on=clock.today())
    second = app.submit_initiative(actor="case-officer", **{**submission, "title": "Ett ärende till"})
    assert app.recorder.max_notification_id() > head  # the events were saved
    assert app.read_model.position == behind  # and the position stayed where it stood
    assert view.dump_rows() == before  # no row, tag or document of either save
    app.read_model.catch_up()
    assert app.read_model.position == app.recorder.max_notification_id()
    rows = {row[0]: row for row in view.dump_rows()["initiatives_rm_initiatives"]}  # (id, sort_key, version, ...)
    assert str(second.id) in rows and rows[str(first.id)][2] == changed.version


def test_a_save_that_leaves_no_reminder_where_none_was_stored_writes_nothing_to_their_list(
        initiatives_app: InitiativesApplication, monkeypatch: Any) -> None:
    """A listing per item (the reminders) is replaced by deleting the aggregate's rows and writing its
    present ones. A save whose aggregate has no reminder and had none stored (this instance left it
    with none at the version the save follows on from) sends nothing there. One that follows on from
    a version another instance saved, with reminders, deletes them: the case withdrawn, its
    reminders leave the list."""
    from services.initiatives.application import InitiativesApplication as Application
    from services.initiatives.schemas import SubmitInitiative

    app = initiatives_app
    other = Application(app.env)  # a second instance on the same store
    try:
        replaced: list[str] = []
        replace_items = app.read_model.view._replace_items
        monkeypatch.setattr(app.read_model.view, "_replace_items", lambda cursor, listing, aggregate_id, *rest: (
            replaced.append(aggregate_id), replace_items(cursor, listing, aggregate_id, *rest)))
        submission = SubmitInitiative().load(seed_000()["submission"])
        quiet = app.submit_initiative(actor="case-officer", **submission)
        app.register_initiative(quiet.id, actor="registrar")
        assert replaced == [str(quiet.id)]  # submitted: its (no) reminders written; registered: nothing sent
        app.rebuild_read_model()  # forgotten: what a rebuild stores is its own
        replaced.clear()
        app.change(quiet.id, type(quiet), "withdraw", actor="case-officer", reason="Ändrat sig",
                   withdrawn_on=clock.today())
        unmade = app.submit_initiative(actor="case-officer", **submission)
        app.read_model.failures[str(unmade.id)] = "reminders: could not be made"  # what is stored may be older
        app.register_initiative(unmade.id, actor="registrar")
        assert replaced == [str(quiet.id), str(unmade.id), str(unmade.id)]

        overdue = app.submit_initiative(actor="case-officer", **{
            **submission, "kind": "motion", "submitted_on": clock.today() - timedelta(days=800)})
        assert other.raise_due_reminders(clock.today()) == 2  # saved by the other instance, with their rows
        assert len(app.list_reminders({}).items) == 2
        replaced.clear()
        app.change(overdue.id, type(overdue), "withdraw", actor="case-officer", reason="Ändrat sig",
                   withdrawn_on=clock.today())
        assert replaced == [str(overdue.id)]
        assert app.read_model.position == app.recorder.max_notification_id()  # written with the save
        assert app.list_reminders({}).items == []
    finally:
        other.close()


def test_a_read_of_lists_already_caught_up_reads_no_events_and_a_diary_number_is_looked_up_once(
        initiatives_app: InitiativesApplication, monkeypatch: Any) -> None:
    """A list read asks the store how far the log goes with the read model's own position and reads
    events only when the log holds more; that question goes with the page's query
    (ReadModelTables.page, unless_behind: one round trip on PostgreSQL), not before it. The case a
    diary number names is looked up in the read model once. A read after events that were not
    written with their rows (another instance's, say) still catches them up."""
    from services.initiatives.schemas import SubmitInitiative

    app = initiatives_app
    submission = SubmitInitiative().load(seed_000()["submission"])
    case = app.submit_initiative(actor="case-officer", **submission)
    case = app.register_initiative(case.id, actor="registrar")
    read_events, asked_apart = [], []
    select_notifications = app.recorder.select_notifications
    monkeypatch.setattr(app.recorder, "select_notifications",
                        lambda *a, **k: read_events.append(1) or select_notifications(*a, **k))
    standing = app.read_model.view.standing
    monkeypatch.setattr(app.read_model.view, "standing", lambda *a: asked_apart.append(1) or standing(*a))
    assert app.list_initiatives({"limit": 10}, today=clock.today()).items[0]["id"] == str(case.id)
    assert asked_apart == []  # the position was read with the page
    assert app.read_model.catch_up() == app.recorder.max_notification_id()
    assert read_events == []  # caught up: nothing read from the log

    looked_up = []
    list_page = app.list_page
    monkeypatch.setattr(app, "list_page", lambda *a, **k: looked_up.append(1) or list_page(*a, **k))
    assert app.find_by_diary_number(case.diary_number).id == case.id
    assert app.find_by_diary_number(case.diary_number).id == case.id
    assert looked_up == [1]

    monkeypatch.setattr(app.read_model, "rows_of_save", lambda *_: None)  # left to the catch-up
    app.submit_initiative(actor="case-officer", **submission)
    assert len(app.list_initiatives({"limit": 10}, today=clock.today()).items) == 2
    assert read_events  # the log held more than the lists: read, and caught up
    assert app.read_model.position == app.recorder.max_notification_id()


class RecordingCursor:
    """A cursor that notes each statement it is given before the store's own cursor runs it."""

    def __init__(self, cursor: Any, statements: list[tuple[str, int]]):
        self.cursor, self.statements = cursor, statements

    def execute(self, statement: str, parameters: Any = ()) -> Any:
        self.statements.append((statement, len(parameters)))
        return self.cursor.execute(statement, parameters)

    def executemany(self, statement: str, rows: Any) -> Any:
        self.statements.append((statement, -1))
        return self.cursor.executemany(statement, rows)


def test_a_rows_tags_are_written_and_replaced_whatever_their_number(initiatives_app: InitiativesApplication) -> None:
    """A row's tags are written with one statement, 300 as one, found by each and replaced when the
    row is written again. On PostgreSQL the statements are the same text however many tags a row has
    (arrays, not a placeholder per value): converted once by psycopg and prepared once by the server."""
    from shared.readmodel import Row, Tag

    view = initiatives_app.read_model.view
    listing = next(listing for listing in view.listings if listing.name == "initiatives")

    def write(row_id: str, parties: list[str]) -> list[tuple[str, int]]:
        statements: list[tuple[str, int]] = []
        with view.transaction(commit=True) as cursor:
            view._write_rows(RecordingCursor(cursor, statements), listing,
                             [(row_id, 1, Row(sort_key=row_id, view={"id": row_id}, tags={"party": parties}))])
        return [(statement, parameters) for statement, parameters in statements if "_tags" in statement]

    def tagged_with(party: str) -> list[str]:
        return [row["id"] for row in view.page(listing, tags=[Tag("party", party)])[0]]

    one = write("row-1", ["S"])
    many = write("row-2", [f"P{number}" for number in range(300)])
    assert tagged_with("S") == ["row-1"] and tagged_with("P0") == ["row-2"] and tagged_with("P299") == ["row-2"]
    write("row-2", ["S", "P7"])
    assert tagged_with("S") == ["row-1", "row-2"] and tagged_with("P7") == ["row-2"] and tagged_with("P299") == []
    if store_of(initiatives_app.recorder) == "postgres":
        assert one == many and all(parameters <= 3 for _, parameters in many)


class CountingCursor(RecordingCursor):
    """A cursor that also notes how many rows each statement changed (its rowcount)."""

    def __init__(self, cursor: Any, statements: list[tuple[str, int]], changed: list[tuple[str, int]]):
        super().__init__(cursor, statements)
        self.changed = changed

    def execute(self, statement: str, parameters: Any = ()) -> Any:
        result = super().execute(statement, parameters)
        self.changed.append((statement.split()[0] + (" tags" if "_tags" in statement else " search" if "_search"
                                                     in statement else " row"), self.rowcount))
        return result

    def executemany(self, statement: str, rows: Any) -> Any:
        result = super().executemany(statement, rows)
        self.changed.append((statement.split()[0] + (" search" if "_search" in statement else " row"),
                             self.rowcount))
        return result

    @property
    def rowcount(self) -> int:
        return getattr(self.cursor, "sqlite_cursor", self.cursor).rowcount  # eventsourcing's SQLite cursor wraps one


def test_a_rows_tags_and_search_document_are_written_only_where_they_changed(
        initiatives_app: InitiativesApplication) -> None:
    """Written again unchanged, a row's search document is not written (its full-text index entries
    made anew) and of its tags none is deleted or inserted; changed, the document is written and
    only the tags gained and lost are; a tag or a word is found where it now is, and only there."""
    from shared.readmodel import Row, SearchDocument, Tag

    view = initiatives_app.read_model.view
    listing = next(listing for listing in view.listings if listing.name == "initiatives")

    def write(parties: list[str], text: str) -> dict[str, int]:
        changed: list[tuple[str, int]] = []
        with view.transaction(commit=True) as cursor:
            view._write_rows(CountingCursor(cursor, [], changed), listing, [(
                "row-1", 1, Row(sort_key="row-1", view={"id": "row-1"}, tags={"party": parties},
                                document=SearchDocument(title="Motion", texts=[text], diary_number="RUN 2026-0001")))])
        return {what: count for what, count in changed if what != "INSERT row"}

    def tagged_with(party: str) -> list[str]:
        return [row["id"] for row in view.page(listing, tags=[Tag("party", party)])[0]]

    def found(word: str) -> list[str]:
        return [hit["aggregate_id"] for hit in view.search([word], limit=10)[0]]

    assert write(["S", "M"], "kollektivtrafik i glesbygd") == {"DELETE tags": 0, "INSERT tags": 2, "INSERT search": 1}
    assert write(["S", "M"], "kollektivtrafik i glesbygd") == {"DELETE tags": 0, "INSERT tags": 0, "INSERT search": 0}
    assert write(["S", "V"], "cykelvägar i glesbygd") == {"DELETE tags": 1, "INSERT tags": 1, "INSERT search": 1}
    assert tagged_with("S") == tagged_with("V") == ["row-1"] and tagged_with("M") == []
    assert found("cykelvägar") == ["row-1"] and found("kollektivtrafik") == []
    assert write([], "cykelvägar i glesbygd") == {"DELETE tags": 2, "INSERT search": 0}
    assert tagged_with("S") == []


def test_a_save_on_postgresql_sends_no_notify(infrastructure: Any) -> None:
    """Nothing LISTENs to the events table; a NOTIFY would take a lock of the whole database while
    each save commits (shared.recorders.PostgresRecorder)."""
    import psycopg

    from services.initiatives.schemas import SubmitInitiative

    with infrastructure.fresh_schema() as schema:
        config = infrastructure.postgres_config(schema)
        app = InitiativesApplication(store_env(config))
        try:
            settings = dict(host=config["POSTGRES_HOST"], port=config["POSTGRES_PORT"], user=config["POSTGRES_USER"],
                            password=config.get("POSTGRES_PASSWORD") or "", dbname=config["POSTGRES_DBNAME"])
            with psycopg.connect(autocommit=True, **settings) as listener:
                listener.execute(f"LISTEN {app.recorder.channel_name}")
                app.submit_initiative(actor="case-officer", **SubmitInitiative().load(seed_000()["submission"]))
                assert app.recorder.max_notification_id() == 1
                assert list(listener.notifies(timeout=1.0)) == []
        finally:
            app.close()


def test_reads_on_postgresql_run_outside_a_transaction(infrastructure: Any) -> None:
    """A read in BEGIN … ROLLBACK would cost psycopg every statement it had prepared on the connection
    (a ROLLBACK makes it send DEALLOCATE ALL): reads run in autocommit (shared.recorders.reading)."""
    from psycopg.pq import TransactionStatus

    from shared.recorders import reading

    with infrastructure.fresh_schema() as schema:
        app = InitiativesApplication(store_env(infrastructure.postgres_config(schema)))
        try:
            with reading(app.recorder.datastore) as cursor:
                cursor.execute("SELECT 1")
                assert cursor.connection.info.transaction_status == TransactionStatus.IDLE
        finally:
            app.close()
