"""Persisted read models: the tables that lists, filters, look-ups and search read, in the service's own store.

A read model is an eventsourcing `Projection` of the service's own log whose view is a
`TrackingRecorder` (SQLite or PostgreSQL) holding, per listing, one row per aggregate (its
view as JSON, the columns filters need, tags for multi-valued filters) and a search
document. Rows and the log position they reflect are written in one transaction, and the
position moves only from where the batch began (compare-and-set), so a batch is never applied
twice (another instance that got there first, or a rebuild that began meanwhile, makes ours
write nothing) nor skipped (every batch starts after the recorded position).

What the library does not do, and is done here: SQLite has no subscription, and its
`ProjectionRunner` builds an application of its own and writes one transaction per event.
`ReadModel.catch_up()` reads the log after the recorded position in batches through the
service's own application, and writes each batch in one transaction (not a commit per
event); the service runs it in the background (nudged after a save whose rows it did not
write) and before every query, so a read sees every write acknowledged before it, while
costing only what was written since.

A row is derived from the aggregate as it was at the batch's last event of it (the
domain's own `mutate`, so no rule is written twice). An aggregate may be in several listings
(a case in the list of cases and, a row per reminder, in the list of reminders): a listing
`per_item` holds a row per item of the aggregate, and the aggregate's rows are replaced together.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import itertools
import json
import logging
import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterable, Mapping, Sequence

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import InterfaceError, OperationalError, Tracking
from eventsourcing.projection import Projection
from eventsourcing.utils import resolve_topic

from shared.envelope import dumps
from shared.errors import InvalidRequest
from shared.recorders import reading, store_of

log = logging.getLogger(__name__)

TRACKING_NAME = "read-model"
# Marks around matched words while a snippet is made; the snippet is escaped as HTML, then they
# become <mark> and </mark> (characters of Unicode's private use area: no text has them).
MARK_START, MARK_END = "\ue000", "\ue001"
# An aggregate's search document is cut here (PostgreSQL's tsvector holds at most 1 MB).
MAX_DOCUMENT_CHARACTERS = 200_000
# A search document's columns, as written
SEARCH_COLUMNS = ("id", "kind", "listing", "diary_number", "title", "body")
BATCH_SIZE = 500
# How many aggregates a read model keeps as this instance last saved them (ReadModel._saved).
SAVED_AGGREGATES_KEPT = 256
# How many (listing per item, aggregate) this instance remembers having left with no rows (ReadModel._empty_at).
EMPTY_ITEMS_KEPT = 10_000
DEFAULT_LIMIT = 50


# --- what a listing holds ----------------------------------------------------------------


@dataclass(frozen=True)
class SearchDocument:
    """What full-text search finds an aggregate by: its title, and every text it holds."""

    title: str
    texts: Sequence[str | None]
    diary_number: str | None = None

    @property
    def body(self) -> str:
        return "\n".join(text for text in self.texts if text)[:MAX_DOCUMENT_CHARACTERS]


@dataclass(frozen=True)
class Row:
    """One aggregate in a listing: the order it is listed in, the columns and tags filters
    read, the view a list shows, and its search document.

    In a listing `per_item`, one item of the aggregate: `key` tells it from the aggregate's other
    items (its id in the listing is `<aggregate id>/<key>`), and it has no search document."""

    sort_key: str
    view: Mapping[str, Any]
    columns: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, Iterable[str | None]] = field(default_factory=dict)
    document: SearchDocument | None = None
    key: str = ""


@dataclass(frozen=True)
class Listing:
    """A list of one kind of aggregate: `row` turns the aggregate into its row.

    `per_item`: `row` gives a sequence of rows, one per item of the aggregate (the reminders raised
    on a case), and whatever rows the aggregate had before are replaced by them."""

    name: str
    aggregate: type[Aggregate]
    row: Callable[[Any], Any]  # -> Row; per item: -> Sequence[Row]
    columns: Mapping[str, str] = field(default_factory=dict)  # column -> "text" | "integer"
    label: str = ""  # what a search hit calls it (the aggregate's type by default)
    noun: str = ""  # what a person calls one ("initiative"), in messages
    per_item: bool = False
    orders: Sequence[str] = ()  # columns a list may be ordered by besides sort_key (page's `order_by`)
    indexes: Sequence[Sequence[str]] = ()  # more indexes, each on its columns and id ((kind, modified), id)

    @property
    def kind(self) -> str:
        return self.label or self.aggregate.__name__

    @property
    def one(self) -> str:
        return self.noun or self.kind.lower()


class NoneStored(tuple):
    """A save's rows in a listing per item where the aggregate has no items and is known to have had
    none stored before the save (ReadModel.rows_of_save): there is nothing to delete or write."""


def marked(snippet: str) -> str:
    """A snippet safe to show as HTML: its text escaped, its matches in <mark>."""
    return html.escape(snippet).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


def stored(value: Any) -> Any:
    """Text as a store can keep it in a column: PostgreSQL refuses NUL characters in text."""
    return value.replace("\x00", "") if isinstance(value, str) else value


def tag_value(value: str) -> str:
    """Tags match without regard to case or surrounding spaces."""
    return " ".join(value.split()).casefold()


# --- queries -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    column: str
    operator: str  # "=", ">=", "<=", "<", ">"
    value: Any = None


@dataclass(frozen=True)
class Tag:
    tag: str
    value: str


def equal_to(query: Mapping[str, Any], *columns: str) -> list[Condition]:
    """`column = value` for each of the columns whose filter the query gives."""
    return [Condition(column, "=", str(query[column])) for column in columns if query.get(column) is not None]


def within(column: str, first: Any, last: Any) -> list[Condition]:
    """The column between two dates, either end open when not given."""
    return [Condition(column, operator, bound.isoformat())
            for operator, bound in ((">=", first), ("<=", last)) if bound is not None]


def tagged(query: Mapping[str, Any], **tags: str) -> list[Tag]:
    """A tag to match for each `tag=parameter` whose filter the query gives."""
    return [Tag(tag, query[parameter]) for tag, parameter in tags.items() if query.get(parameter)]


@dataclass
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


class Cursors:
    """Opaque cursors: the position after the last item shown, bound to one list and its filters."""

    @staticmethod
    def digest(scope: str, filters: Mapping[str, Any]) -> str:
        canonical = dumps({"scope": scope, "filters": {k: v for k, v in sorted(filters.items()) if v is not None}})
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @classmethod
    def encode(cls, scope: str, filters: Mapping[str, Any], key: Sequence[Any]) -> str:
        raw = dumps({"v": 1, "d": cls.digest(scope, filters), "k": list(key)}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str | None, scope: str, filters: Mapping[str, Any],
               kinds: Sequence[type | tuple[type, ...]]) -> list[Any] | None:
        """The key a cursor holds; `kinds` are the types of its parts (a cursor that does not fit is a 400)."""
        if cursor is None:
            return None
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            data = json.loads(raw.decode("utf-8"))
            valid = (isinstance(data, dict) and data.get("v") == 1 and isinstance(data.get("k"), list)
                     and len(data["k"]) == len(kinds))
        except (ValueError, UnicodeDecodeError):
            valid = False
        if not valid:
            raise InvalidRequest.for_field("cursor", "not a cursor this service gave out")
        if data.get("d") != cls.digest(scope, filters):
            raise InvalidRequest.for_field("cursor", "belongs to another list or other filters: "
                                                     "repeat the request that gave it, with its filters")
        for part, kind in zip(data["k"], kinds):
            fits = isinstance(part, kind) and not isinstance(part, bool)
            if not fits or (isinstance(part, str) and "\x00" in part) or (
                    isinstance(part, float) and not math.isfinite(part)):
                raise InvalidRequest.for_field("cursor", "not a cursor this service gave out")
        return data["k"]


PAGE_KEY = (str, str)  # (sort key, id)
SEARCH_KEY = ((int, float), str)  # (score, id)


# --- search queries ------------------------------------------------------------------------

MAX_QUERY_LENGTH = 200
MAX_QUERY_WORDS = 12
_WORD = re.compile(r"^\w+(?:[-.'’/]\w+)*$")
_OPERATORS = {"AND", "OR", "NOT", "NEAR"}


def search_words(query: str) -> list[str]:
    """The words of a search as people type them; anything that would be search syntax is refused.

    Each word is matched in full or as the start of a longer word (SQLite) or by its
    Swedish stem (PostgreSQL); all words must match. Operators, quotes, wildcards and
    negation are not part of the language, so neither store ever parses user syntax.
    """
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidRequest.for_field("q", f"at most {MAX_QUERY_LENGTH} characters")
    words = query.split()
    if not words:
        raise InvalidRequest.for_field("q", "give one or more words to search for")
    if len(words) > MAX_QUERY_WORDS:
        raise InvalidRequest.for_field("q", f"at most {MAX_QUERY_WORDS} words")
    for word in words:
        if word in _OPERATORS:
            raise InvalidRequest.for_field("q", f"'{word}': search operators are not supported; every word given "
                                                "must match")
        if not _WORD.match(word):
            raise InvalidRequest.for_field("q", f"'{word[:40]}': only words are searched (letters and digits, "
                                                "joined by - . ' /); quotes, *, -, (, ), : and the like are not "
                                                "search syntax here")
    return words


# --- the view: tables in the service's store ----------------------------------------------


class PositionMoved(Exception):
    """The recorded position is not where a batch began: someone else moved it."""


class ReadModelTables:
    """The SQL of a read model, for one store (SQLite or PostgreSQL); mixed into its tracking recorder."""

    placeholder = "?"
    text = "TEXT"  # compared bytewise in both stores, so keyset pages follow the index's order
    not_distinct_from = "IS"  # equal, NULL to NULL too
    # instances starting at once after an upgrade both add a new column (SQLite has one instance per file)
    add_column = "ADD COLUMN"
    listings: Sequence[Listing] = ()
    prefix = ""
    # The log's table and its position column, where the view shares the application's store (not the
    # in-memory store of unit tests): how far the log goes is then read with the view's own position.
    events_table: str | None = None
    events_position = "notification_id"

    # the store-specific parts
    def table(self, name: str) -> str:
        raise NotImplementedError

    def search_table_statements(self) -> list[str]:
        raise NotImplementedError

    def search_page_statement(self, after: bool) -> str:
        raise NotImplementedError

    def match_expression(self, words: Sequence[str]) -> str:
        raise NotImplementedError

    def snippets(self, cursor: Any, words: Sequence[str], ids: Sequence[str]) -> dict[str, str]:
        raise NotImplementedError

    def transaction(self, commit: bool) -> Any:
        return self.datastore.transaction(commit=commit)  # type: ignore[attr-defined]

    def reading(self) -> Any:
        return reading(self.datastore)  # type: ignore[attr-defined]

    # --- schema -------------------------------------------------------------------------

    def configure(self, prefix: str, listings: Sequence[Listing]) -> None:
        self.prefix = prefix
        self.listings = listings

    def name_of(self, listing: str, suffix: str = "") -> str:
        return f"{self.prefix}_rm_{listing}{suffix}"

    def column_type(self, kind: str) -> str:
        return "BIGINT" if kind == "integer" else self.text

    def existing_columns(self, cursor: Any, name: str) -> set[str]:
        """The columns a read-model table has (none: there is no such table yet)."""
        raise NotImplementedError

    def added_column_statements(self, cursor: Any) -> list[str]:
        """A column a listing gained since its table was created (a newer version of the service) is
        added, empty until `read-models rebuild` fills it, so that the lists go on meanwhile."""
        statements = []
        for listing in self.listings:
            existing = self.existing_columns(cursor, self.name_of(listing.name))
            statements += [f"ALTER TABLE {self.table(self.name_of(listing.name))} {self.add_column} {column} "
                           f"{self.column_type(kind)}" for column, kind in listing.columns.items()
                           if existing and column not in existing]
        return statements

    def read_model_statements(self) -> list[str]:
        statements = []
        for listing in self.listings:
            text = self.text
            columns = "".join(f", {column} {self.column_type(kind)}" for column, kind in listing.columns.items())
            if listing.per_item:
                columns = f", aggregate_id {text} NOT NULL{columns}"
            rows = self.table(self.name_of(listing.name))
            statements += [
                f"CREATE TABLE IF NOT EXISTS {rows} (id {text} PRIMARY KEY, sort_key {text} NOT NULL, "
                f"version BIGINT NOT NULL, view TEXT NOT NULL{columns})",
                *([f"CREATE INDEX IF NOT EXISTS {self.name_of(listing.name, '_by_aggregate')} ON {rows} (aggregate_id)"]
                  if listing.per_item else []),
                f"CREATE INDEX IF NOT EXISTS {self.name_of(listing.name, '_order')} ON {rows} (sort_key, id)",
                *(f"CREATE INDEX IF NOT EXISTS {self.name_of(listing.name, '_by_' + column)} "
                  f"ON {rows} ({column}, sort_key, id)" for column in listing.columns),
                *(f"CREATE INDEX IF NOT EXISTS {self.name_of(listing.name, '_by_' + '_'.join(columns))} "
                  f"ON {rows} ({', '.join(columns)}, id)" for columns in listing.indexes),
                f"CREATE TABLE IF NOT EXISTS {self.table(self.name_of(listing.name, '_tags'))} "
                f"(tag {text} NOT NULL, value {text} NOT NULL, id {text} NOT NULL, PRIMARY KEY (tag, value, id))",
                f"CREATE INDEX IF NOT EXISTS {self.name_of(listing.name, '_tags_by_id')} "
                f"ON {self.table(self.name_of(listing.name, '_tags'))} (id)",
            ]
        return statements + self.search_table_statements()

    def read_model_tables(self) -> list[str]:
        names = []
        for listing in self.listings:
            names += [self.name_of(listing.name), self.name_of(listing.name, "_tags")]
        return names + self.search_tables()

    def search_tables(self) -> list[str]:
        return [self.name_of("search")]

    def sql(self, statement: str) -> str:
        return statement if self.placeholder == "?" else statement.replace("?", self.placeholder)

    # --- writing ------------------------------------------------------------------------

    def apply(self, rows: Sequence[tuple[Listing, str, int, Any]], tracking: Tracking, start: int,
              also: Sequence[tuple[Tracking, int]] = ()) -> None:
        """Writes the rows of a batch read after `start`, and the position it reached, in one transaction.

        The position is moved first, and only from `start`: an instance that finds it moved (another
        instance recorded this batch, or a rebuild reset it) commits nothing and raises PositionMoved.
        Instances wait for each other on that one row, so they never lock rows in opposite orders.
        `also`: more positions moved the same way in the same transaction (after the first)."""
        with self.transaction(commit=True) as cursor:
            with self.pipelined(cursor):
                moved = [self._move_position(cursor, tracking, start),
                         *(self._move_position(cursor, other, other_start) for other, other_start in also)]
                self._write_all(cursor, rows)
            for check in moved:
                check()  # a position found moved: PositionMoved, and the transaction is rolled back

    def write_within(self, cursor: Any, rows: Sequence[tuple[Listing, str, int, Any]], tracking: Tracking,
                     first: int) -> Callable[[], bool]:
        """As `apply`, for the events the transaction that holds `cursor` has just written (the first's
        id `first`, the last's `tracking`'s): the position is moved over them from the event before
        them and, found anywhere else, nothing is written and the transaction goes on. The rows are
        sent behind the position's statement without waiting for its answer (on PostgreSQL a round
        trip fewer while the save holds the events' lock), each guarded by the position (`_guarded`).
        Returns whether they were written, to be asked once the transaction has committed."""
        moved = self._moved_over(cursor, tracking, first)
        self._write_all(cursor, rows, guard=tracking)
        return moved

    def _moved_over(self, cursor: Any, tracking: Tracking, first: int) -> Callable[[], bool]:
        """Moves the position over the events from `first` on; what says (later) whether it moved.
        SQLite's ids follow each other with no gap (a rolled-back insert's rowid is used again)."""
        return self._moved_position(cursor, tracking, first - 1)

    def _write_all(self, cursor: Any, rows: Sequence[tuple[Listing, str, int, Any]],
                   guard: Tracking | None = None) -> None:
        """`guard`: every statement changes something only where the position stands at it (see
        `_guarded`)."""
        ordered = sorted(rows, key=lambda entry: (entry[0].name, entry[1]))
        for listing, entries in itertools.groupby(ordered, key=lambda entry: entry[0]):
            if listing.per_item:
                for _, aggregate_id, version, items in entries:
                    if not isinstance(items, NoneStored):
                        self._replace_items(cursor, listing, aggregate_id, version, items, guard)
            else:
                self._write_rows(cursor, listing, [(aggregate_id, version, row)
                                                   for _, aggregate_id, version, row in entries], guard=guard)

    def _guarded(self, guard: Tracking | None) -> tuple[str, list[Any]]:
        """A condition (" AND ...") and its parameters that hold only while the position stands at
        `guard`: the rows of a save are sent together with the statement that moves the position over
        its events, without waiting for its answer, and none of them changes anything unless it moved.
        (No one else can have put the position at ids this transaction has just taken.)"""
        if guard is None:
            return "", []
        return (f" AND EXISTS (SELECT 1 FROM {self.tracking_table()} WHERE application_name = ? "
                "AND notification_id = ?)"), [guard.application_name, guard.notification_id]

    def pipelined(self, cursor: Any) -> Any:
        """Where the store can, the statements of a transaction sent together (PostgreSQL's pipeline)."""
        return contextlib.nullcontext()

    def _move_position(self, cursor: Any, tracking: Tracking, start: int) -> Callable[[], None]:
        """Moves a position from `start`; returns the check that it was still there (PositionMoved if not),
        to be made once the batch's statements have been sent (the server still moves the position
        before it writes a row, so instances wait for each other there)."""
        moved = self._moved_position(cursor, tracking, start)

        def check() -> None:
            if not moved():
                raise PositionMoved(f"{tracking.application_name} is no longer at {start}")

        return check

    def _moved_position(self, cursor: Any, tracking: Tracking, start: int) -> Callable[[], bool]:
        """Sends the statement that moves the position from `start`; what says (later) whether it moved."""
        table = self.tracking_table()
        if start == 0:
            statement, params = (f"INSERT INTO {table} (application_name, notification_id) VALUES (?, ?) "
                                 "ON CONFLICT (application_name) DO NOTHING RETURNING notification_id",
                                 [tracking.application_name, tracking.notification_id])
        else:
            statement, params = (f"UPDATE {table} SET notification_id = ? WHERE application_name = ? "
                                 "AND notification_id = ? RETURNING notification_id",
                                 [tracking.notification_id, tracking.application_name, start])
        return self.answered_later(cursor, self.sql(statement), params, lambda answered: answered.fetchone() is not None)

    def _replace_items(self, cursor: Any, listing: Listing, aggregate_id: str, version: int,
                       items: Sequence[Row], guard: Tracking | None = None) -> None:
        """The aggregate's rows in a listing per item: those it had are deleted, its present ones written."""
        rows, tags = self.table(self.name_of(listing.name)), self.table(self.name_of(listing.name, "_tags"))
        condition, params = self._guarded(guard)
        cursor.execute(self.sql(f"DELETE FROM {tags} WHERE id IN (SELECT id FROM {rows} WHERE aggregate_id = ?)"
                                + condition), [aggregate_id, *params])
        cursor.execute(self.sql(f"DELETE FROM {rows} WHERE aggregate_id = ?" + condition), [aggregate_id, *params])
        if any(item.document is not None for item in items):
            raise ValueError(f"{listing.name}: a row per item has no search document")
        self._write_rows(cursor, listing, [(f"{aggregate_id}/{item.key}", version, item) for item in items],
                         extra={"aggregate_id": aggregate_id}, tags_deleted=True, guard=guard)

    def _write_rows(self, cursor: Any, listing: Listing, rows: Sequence[tuple[str, int, Row]],
                    extra: Mapping[str, Any] | None = None, tags_deleted: bool = False,
                    guard: Tracking | None = None) -> None:
        """Rows (id, version, row) of one listing, their tags and search documents (`tags_deleted`: their
        old tags are gone already). Each kind of statement is executed for all the rows at once
        (executemany: on PostgreSQL a pipeline, not a round trip for each row and tag).

        Tags and documents are written only where they changed: of the tags, those a row gained
        (inserted) and lost (deleted); a document only when it differs from the one stored (its
        full-text index entries are made anew each time). Most events change neither (a case
        scheduled keeps its texts and its submitters), and an agenda item adds its one tag to its
        meeting, not all the meeting's again. Whoever writes rows has moved the read model's position
        first, in the same transaction, so what they are compared with is what the last writer committed."""
        if not rows:
            return
        extra = extra or {}
        condition, guard_params = self._guarded(guard)
        kinds = {"id": "text", "sort_key": "text", "version": "integer", "view": "text",
                 **{name: "text" for name in extra}, **listing.columns}
        updates = ", ".join(f"{name} = excluded.{name}" for name in list(kinds)[1:])
        cursor.executemany(self.sql(
            f"INSERT INTO {self.table(self.name_of(listing.name))} ({', '.join(kinds)}) "
            f"SELECT {', '.join(self.parameter_of(kind) for kind in kinds.values())} WHERE true{condition} "
            f"ON CONFLICT (id) DO UPDATE SET {updates}"),
            [[row_id, stored(row.sort_key), version, dumps(row.view), *extra.values(),
              *(stored(row.columns.get(column)) for column in listing.columns), *guard_params]
             for row_id, version, row in rows])
        tags = self.table(self.name_of(listing.name, "_tags"))
        triples = [(tag, value, row_id) for row_id, _, row in rows
                   for tag, value in sorted({(tag, tag_value(stored(value))) for tag, values in row.tags.items()
                                             for value in values if value})]
        if not tags_deleted:
            self._delete_tags_but(cursor, tags, [row_id for row_id, _, _ in rows], triples, guard)
        if triples:
            self._insert_tags(cursor, tags, triples, guard)
        documents = [[row_id, listing.kind, listing.name, stored(row.document.diary_number),
                      stored(row.document.title), stored(row.document.body)]
                     for row_id, _, row in rows if row.document is not None]
        if documents:
            search = self.table(self.name_of("search"))
            same = " AND ".join(f"{column} {self.not_distinct_from} ?" for column in SEARCH_COLUMNS[1:])
            cursor.executemany(self.sql(
                f"INSERT INTO {search} ({', '.join(SEARCH_COLUMNS)}) SELECT {', '.join('?' * len(SEARCH_COLUMNS))} "
                f"WHERE NOT EXISTS (SELECT 1 FROM {search} WHERE id = ? AND {same}){condition} "
                "ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, listing = excluded.listing, "
                "diary_number = excluded.diary_number, title = excluded.title, body = excluded.body"),
                [document + document + guard_params for document in documents])

    def parameter_of(self, kind: str) -> str:
        """A parameter's placeholder where a column of the kind is written from a SELECT's list."""
        return "?"

    def _delete_tags_but(self, cursor: Any, tags: str, row_ids: Sequence[str],
                         kept: Sequence[tuple[str, str, str]], guard: Tracking | None = None) -> None:
        """Deletes the tags of the rows `row_ids` but those in `kept` (tag, value, row id)."""
        condition, params = self._guarded(guard)
        cursor.execute(self.sql(
            f"DELETE FROM {tags} WHERE id IN (SELECT value FROM json_each(?)) AND (tag, value, id) NOT IN "
            "(SELECT json_extract(kept.value, '$[0]'), json_extract(kept.value, '$[1]'), "
            "json_extract(kept.value, '$[2]') FROM json_each(?) AS kept)" + condition),
            [dumps(list(row_ids)), dumps(list(kept)), *params])

    def _insert_tags(self, cursor: Any, tags: str, triples: Sequence[tuple[str, str, str]],
                     guard: Tracking | None = None) -> None:
        """(tag, value, row id) triples in one statement, not one each; those the store holds are skipped."""
        condition, params = self._guarded(guard)
        cursor.execute(self.sql(
            f"INSERT INTO {tags} (tag, value, id) SELECT json_extract(triple.value, '$[0]'), "
            "json_extract(triple.value, '$[1]'), json_extract(triple.value, '$[2]') "
            f"FROM json_each(?) AS triple WHERE true{condition} ON CONFLICT DO NOTHING"),
            [dumps(list(triples)), *params])

    def drop(self) -> None:
        """Drops every read-model table, forgets the position and creates the tables anew, in one
        transaction: the next catch-up starts from the beginning."""
        with self.transaction(commit=True) as cursor:
            for name in reversed(self.read_model_tables()):
                cursor.execute(f"DROP TABLE IF EXISTS {self.table(name)}")
            cursor.execute(self.sql(f"DELETE FROM {self.tracking_table()} WHERE application_name = ?"),
                           [TRACKING_NAME])
            for statement in self.read_model_statements():
                cursor.execute(statement)

    def tracking_table(self) -> str:
        raise NotImplementedError

    def standing(self, name: str) -> tuple[int, int | None]:
        """The position recorded under `name` and the log's head, in one statement: a view already caught
        up costs a read one round trip. The head is None where the view does not share the log's store."""
        if self.events_table is None:
            return self.max_tracking_id(name) or 0, None  # type: ignore[attr-defined]
        with self.reading() as cursor:
            return self._sent_standing(cursor, name)()

    def _sent_standing(self, cursor: Any, name: str) -> Callable[[], tuple[int, int]]:
        """Sends the statement that reads the position and the log's head; returns what reads its answer."""
        def answer(answered: Any) -> tuple[int, int]:
            row = dict(answered.fetchone())
            return int(row["position"] or 0), int(row["head"] or 0)

        return self.answered_later(cursor, self.sql(
            f"SELECT (SELECT max(notification_id) FROM {self.tracking_table()} WHERE application_name = ?) "
            f"AS position, (SELECT max({self.events_position}) FROM {self.events_table}) AS head"), [name], answer)

    def answered_later(self, cursor: Any, statement: str, params: Sequence[Any],
                       answer: Callable[[Any], Any]) -> Callable[[], Any]:
        """Sends a statement whose answer is to be read (`answer` of a cursor) after more statements were
        sent on `cursor`; returns what reads it. Here (SQLite) it is read at once: in the process, there is
        no round trip to save."""
        cursor.execute(statement, params)
        answered = answer(cursor)
        return lambda: answered

    # --- reading ------------------------------------------------------------------------

    def page(
        self, listing: Listing, *, conditions: Sequence[Condition] = (), tags: Sequence[Tag] = (),
        after: Sequence[Any] | None = None, limit: int = DEFAULT_LIMIT, descending: bool = False,
        order_by: str = "sort_key", unless_behind: str | None = None,
    ) -> tuple[list[dict[str, Any]], list[Any] | None] | None:
        """One page of the listing, in (sort_key, id) order (or (`order_by`, id), a column of the listing's
        `orders`); the key to continue after it, if more follow.

        `unless_behind`: the page is sent together with the statement that reads the position recorded
        under that name and the log's head (one round trip on PostgreSQL), and None is returned instead
        where the position is behind the head, or not known to be at it: the page may lack what the log
        holds, and the caller catches up first. (The page is read after the position, so it holds at
        least what the position stood for: positions only move on.)"""
        if order_by != "sort_key" and order_by not in listing.orders:
            raise ValueError(f"{listing.name}: not ordered by {order_by}")
        if unless_behind is not None and self.events_table is None:
            return None
        rows = self.table(self.name_of(listing.name))
        where, params = self._where(listing, conditions, tags)
        if after is not None:
            where.append(f"({order_by}, id) {'<' if descending else '>'} (?, ?)")
            params += [str(after[0]), str(after[1])]
        direction = "DESC" if descending else "ASC"
        statement = (f"SELECT id, {order_by} AS ordered_by, view FROM {rows}"
                     + (" WHERE " + " AND ".join(where) if where else "")
                     + f" ORDER BY {order_by} {direction}, id {direction} LIMIT ?")
        with self.reading() as cursor:
            with self.pipelined(cursor) if unless_behind is not None else contextlib.nullcontext():
                standing = self._sent_standing(cursor, unless_behind) if unless_behind is not None else None
                cursor.execute(self.sql(statement), [*params, limit + 1])
            if standing is not None:
                position, head = standing()
                if position < head:
                    return None
            found = [dict(row) for row in cursor.fetchall()]
        more = len(found) > limit
        found = found[:limit]
        key = [found[-1]["ordered_by"], found[-1]["id"]] if more else None
        return [json.loads(row["view"]) for row in found], key

    def rows_with(self, listing: Listing, column: str, values: Sequence[Any], *, conditions: Sequence[Condition] = (),
                  per_value: int = 1000) -> list[dict[str, Any]]:
        """The rows whose `column` (or `id`) is one of `values`, in (sort_key, id) order: at most `per_value`
        for each value (ROW_NUMBER() per value, so one value with many rows never crowds out another's).
        Each row: its id, view, and the listing's columns."""
        values = list(dict.fromkeys(values))
        if not values:
            return []
        if column != "id" and column not in listing.columns:
            raise ValueError(f"{listing.name}: no column {column}")
        where, params = self._where(listing, conditions, ())
        where.append(f"{column} IN ({', '.join('?' * len(values))})")
        names = ", ".join(["id", "sort_key", "view", *listing.columns])
        statement = (f"SELECT {names} FROM (SELECT {names}, ROW_NUMBER() OVER (PARTITION BY {column} "
                     f"ORDER BY sort_key, id) AS row_number FROM {self.table(self.name_of(listing.name))} WHERE "
                     + " AND ".join(where) + ") ranked WHERE row_number <= ? ORDER BY sort_key, id")
        with self.reading() as cursor:
            cursor.execute(self.sql(statement), [*params, *values, per_value])
            return [{"id": row["id"], "view": json.loads(row["view"]),
                     "columns": {name: row[name] for name in listing.columns}}
                    for row in (dict(r) for r in cursor.fetchall())]

    def _where(self, listing: Listing, conditions: Sequence[Condition], tags: Sequence[Tag]) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        for condition in conditions:
            if condition.column not in listing.columns or condition.operator not in ("=", "<", "<=", ">", ">="):
                raise ValueError(f"{listing.name}: no condition {condition.column} {condition.operator}")
            where.append(f"{condition.column} {condition.operator} ?")
            params.append(condition.value)
        table = self.table(self.name_of(listing.name, "_tags"))
        for tag in tags:
            where.append(f"id IN (SELECT id FROM {table} WHERE tag = ? AND value = ?)")
            params += [tag.tag, tag_value(tag.value)]
        return where, params

    def search(
        self, words: Sequence[str], *, after: Sequence[Any] | None = None, limit: int = DEFAULT_LIMIT,
    ) -> tuple[list[dict[str, Any]], list[Any] | None]:
        """Documents matching every word, best first (then by id); each with a snippet, matches in <mark>."""
        params: list[Any] = [self.match_expression(words)]
        if after is not None:
            params += [float(after[0]), float(after[0]), str(after[1])]
        with self.reading() as cursor:
            cursor.execute(self.search_page_statement(after is not None), [*params, limit + 1])
            found = [dict(row) for row in cursor.fetchall()]
            more = len(found) > limit
            found = found[:limit]
            snippets = self.snippets(cursor, words, [row["id"] for row in found]) if found else {}
        hits = [{"aggregate": row["kind"], "listing": row["listing"], "aggregate_id": row["id"],
                 "diary_number": row["diary_number"], "title": row["title"], "score": float(row["score"]),
                 "snippet": marked(snippets.get(row["id"], ""))} for row in found]
        for hit in hits:
            hit["key"] = [hit["score"], hit["aggregate_id"]]
        return hits, (hits[-1]["key"] if more else None)

    def count_rows(self) -> dict[str, int]:
        with self.reading() as cursor:
            counts = {}
            for name in self.read_model_tables():
                cursor.execute(f"SELECT COUNT(*) AS n FROM {self.table(name)}")
                counts[name] = int(dict(cursor.fetchone())["n"])
            return counts

    def dump_rows(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every read-model table, in a fixed order (what a rebuild must reproduce)."""
        tables: dict[str, list[tuple[Any, ...]]] = {}
        with self.reading() as cursor:
            for listing in self.listings:
                for name, order in ((self.name_of(listing.name), "id"),
                                    (self.name_of(listing.name, "_tags"), "tag, value, id")):
                    cursor.execute(f"SELECT * FROM {self.table(name)} ORDER BY {order}")
                    tables[name] = [tuple(dict(row).values()) for row in cursor.fetchall()]
            cursor.execute(f"SELECT id, kind, listing, diary_number, title, body FROM "
                           f"{self.table(self.name_of('search'))} ORDER BY id")
            tables[self.name_of("search")] = [tuple(dict(row).values()) for row in cursor.fetchall()]
        return tables


def _sqlite_recorder_class() -> type:
    from eventsourcing.sqlite import SQLiteTrackingRecorder

    class SQLiteReadModelRecorder(ReadModelTables, SQLiteTrackingRecorder):
        """SQLite: FTS5 over the search documents (no Swedish stemmer: words match as prefixes)."""

        placeholder = "?"

        def table(self, name: str) -> str:
            return name

        def tracking_table(self) -> str:
            return "tracking"

        def search_table_statements(self) -> list[str]:
            search, fts = self.name_of("search"), self.name_of("search_fts")
            return [
                f"CREATE TABLE IF NOT EXISTS {search} (docid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
                "kind TEXT, listing TEXT, diary_number TEXT, title TEXT, body TEXT)",
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5(title, body, content='{search}', "
                "content_rowid='docid', tokenize='unicode61 remove_diacritics 2')",
                f"CREATE TRIGGER IF NOT EXISTS {search}_ai AFTER INSERT ON {search} BEGIN "
                f"INSERT INTO {fts} (rowid, title, body) VALUES (new.docid, new.title, new.body); END",
                f"CREATE TRIGGER IF NOT EXISTS {search}_ad AFTER DELETE ON {search} BEGIN "
                f"INSERT INTO {fts} ({fts}, rowid, title, body) VALUES ('delete', old.docid, old.title, old.body); END",
                f"CREATE TRIGGER IF NOT EXISTS {search}_au AFTER UPDATE ON {search} BEGIN "
                f"INSERT INTO {fts} ({fts}, rowid, title, body) VALUES ('delete', old.docid, old.title, old.body); "
                f"INSERT INTO {fts} (rowid, title, body) VALUES (new.docid, new.title, new.body); END",
            ]

        def search_tables(self) -> list[str]:
            return [self.name_of("search_fts"), self.name_of("search")]

        def match_expression(self, words: Sequence[str]) -> str:
            # Each word as an FTS5 string (its own tokens as a phrase), matched as a prefix from three
            # letters on (a shorter prefix would match a large part of every text).
            return " ".join('"' + word.replace('"', "") + ('"*' if len(word) >= 3 else '"') for word in words)

        def search_page_statement(self, after: bool) -> str:
            search, fts = self.name_of("search"), self.name_of("search_fts")
            inner = (f"SELECT s.id AS id, s.kind AS kind, s.listing AS listing, s.diary_number AS diary_number, "
                     f"s.title AS title, -bm25({fts}, 2.0, 1.0) AS score FROM {fts} JOIN {search} s "
                     f"ON s.docid = {fts}.rowid WHERE {fts} MATCH ?")
            keyset = " WHERE (score < ? OR (score = ? AND id > ?))" if after else ""
            return f"SELECT * FROM ({inner}){keyset} ORDER BY score DESC, id ASC LIMIT ?"

        def snippets(self, cursor: Any, words: Sequence[str], ids: Sequence[str]) -> dict[str, str]:
            search, fts = self.name_of("search"), self.name_of("search_fts")
            cursor.execute(
                f"SELECT s.id AS id, snippet({fts}, -1, '{MARK_START}', '{MARK_END}', '…', 16) AS snippet FROM {fts} "
                f"JOIN {search} s ON s.docid = {fts}.rowid WHERE {fts} MATCH ? "
                f"AND s.id IN ({', '.join('?' * len(ids))})", [self.match_expression(words), *ids])
            return {row["id"]: row["snippet"] for row in cursor.fetchall()}

        def existing_columns(self, cursor: Any, name: str) -> set[str]:
            cursor.execute(f"PRAGMA table_info({name})")
            return {row["name"] for row in cursor.fetchall()}

        def _create_table(self, c: Any) -> None:
            super()._create_table(c)
            for statement in self.added_column_statements(c) + self.read_model_statements():
                c.execute(statement)

    return SQLiteReadModelRecorder


def _postgres_recorder_class() -> type:
    from eventsourcing.postgres import PostgresTrackingRecorder

    class PostgresReadModelRecorder(ReadModelTables, PostgresTrackingRecorder):
        """PostgreSQL: the `swedish` text-search configuration (stemming), a GIN index, ts_headline."""

        placeholder = "%s"
        text = 'TEXT COLLATE "C"'
        add_column = "ADD COLUMN IF NOT EXISTS"
        not_distinct_from = "IS NOT DISTINCT FROM"

        def table(self, name: str) -> str:
            return f'"{self.datastore.schema}"."{name}"'

        def pipelined(self, cursor: Any) -> Any:
            return cursor.connection.pipeline()

        # Arrays (the tags kept: one JSON array), not a placeholder per value: the statement's text is
        # the same however many tags a row has, so psycopg converts it once and PostgreSQL plans it
        # once (prepared), where a VALUES list of each length was a statement of its own, parsed anew.
        def _delete_tags_but(self, cursor: Any, tags: str, row_ids: Sequence[str],
                             kept: Sequence[tuple[str, str, str]], guard: Tracking | None = None) -> None:
            condition, params = self._guarded(guard)
            cursor.execute(self.sql(
                f"DELETE FROM {tags} WHERE id = ANY(?::text[]) AND (tag, value, id) NOT IN "
                "(SELECT kept ->> 0, kept ->> 1, kept ->> 2 FROM jsonb_array_elements(?::jsonb) AS kept)" + condition),
                [list(row_ids), dumps(list(kept)), *params])

        def _insert_tags(self, cursor: Any, tags: str, triples: Sequence[tuple[str, str, str]],
                         guard: Tracking | None = None) -> None:
            condition, params = self._guarded(guard)
            cursor.execute(self.sql(
                f"INSERT INTO {tags} (tag, value, id) SELECT * FROM unnest(?::text[], ?::text[], ?::text[]) "
                f"WHERE true{condition} ON CONFLICT DO NOTHING"), [*(list(column) for column in zip(*triples)), *params])

        def parameter_of(self, kind: str) -> str:
            """Typed as its column: a parameter in a SELECT's list is otherwise taken for text."""
            return f"%s::{self.column_type(kind)}"

        def answered_later(self, cursor: Any, statement: str, params: Sequence[Any],
                           answer: Callable[[Any], Any]) -> Callable[[], Any]:
            """On a cursor of its own, read once the pipeline it goes in has been sent."""
            own = cursor.connection.cursor()
            own.execute(statement, params)

            def read() -> Any:
                with own:
                    return answer(own)

            return read

        def tracking_table(self) -> str:
            return f'"{self.datastore.schema}"."{self.tracking_table_name}"'

        def _moved_over(self, cursor: Any, tracking: Tracking, first: int) -> Callable[[], bool]:
            """A rolled-back insert leaves a gap in PostgreSQL's ids: the position must be at the event
            before `first`, whatever its id (the writer holds the events' lock: none comes between)."""
            if first == 1:
                return self._moved_position(cursor, tracking, 0)
            return self.answered_later(
                cursor, f"UPDATE {self.tracking_table()} SET notification_id = %s WHERE application_name = %s "
                f"AND notification_id = (SELECT max(notification_id) FROM {self.events_table} "
                "WHERE notification_id < %s) RETURNING notification_id",
                [tracking.notification_id, tracking.application_name, first], lambda answered: answered.fetchone() is not None)

        def search_table_statements(self) -> list[str]:
            search = self.table(self.name_of("search"))
            return [
                f"CREATE TABLE IF NOT EXISTS {search} (id {self.text} PRIMARY KEY, kind TEXT, listing TEXT, "
                "diary_number TEXT, title TEXT, body TEXT, document tsvector GENERATED ALWAYS AS "
                "(setweight(to_tsvector('swedish', coalesce(title, '')), 'A') || "
                "setweight(to_tsvector('swedish', coalesce(body, '')), 'B')) STORED)",
                f"CREATE INDEX IF NOT EXISTS {self.name_of('search_document')} ON {search} USING GIN (document)",
            ]

        def match_expression(self, words: Sequence[str]) -> str:
            return " ".join(words)

        def search_page_statement(self, after: bool) -> str:
            search = self.table(self.name_of("search"))
            inner = (f"SELECT id, kind, listing, diary_number, title, ts_rank(document, query)::float8 AS score "
                     f"FROM {search}, plainto_tsquery('swedish', %s) AS query WHERE document @@ query")
            keyset = " WHERE (score < %s OR (score = %s AND id > %s))" if after else ""
            return f"SELECT * FROM ({inner}) AS matched{keyset} ORDER BY score DESC, id ASC LIMIT %s"

        def snippets(self, cursor: Any, words: Sequence[str], ids: Sequence[str]) -> dict[str, str]:
            search = self.table(self.name_of("search"))
            cursor.execute(
                "SELECT id, ts_headline('swedish', coalesce(title, '') || ' — ' || coalesce(body, ''), query, "
                f"'StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=30, MinWords=10, MaxFragments=2, "
                f"FragmentDelimiter=\" … \"') AS snippet FROM {search}, plainto_tsquery('swedish', %s) AS query "
                "WHERE id = ANY(%s)", [" ".join(words), list(ids)])
            return {row["id"]: row["snippet"] for row in cursor.fetchall()}

        def existing_columns(self, cursor: Any, name: str) -> set[str]:
            cursor.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
                           "AND table_name = %s", [self.datastore.schema, name])
            return {row["column_name"] for row in cursor.fetchall()}

        def _create_table(self, curs: Any) -> None:
            super()._create_table(curs)
            for statement in self.added_column_statements(curs) + self.read_model_statements():
                curs.execute(statement)

    return PostgresReadModelRecorder


def construct_view(recorder: Any, prefix: str, listings: Sequence[Listing]) -> ReadModelTables:
    """A read model's recorder on the store of a recorder (the application's), sharing its connections."""
    store = store_of(recorder)
    if store == "sqlite":
        view = _sqlite_recorder_class()(recorder.datastore)
        if hasattr(recorder, "events_table_name"):
            view.events_table, view.events_position = recorder.events_table_name, "rowid"
    elif store == "postgres":
        view = _postgres_recorder_class()(recorder.datastore, tracking_table_name=recorder.tracking_table_name)
        if hasattr(recorder, "events_table_name"):  # its own saves' rows written with them (write_within)
            view.events_table = f'"{recorder.datastore.schema}"."{recorder.events_table_name}"'
    elif store == "popo":
        # The in-memory store of unit tests: the view in an in-memory SQLite database of its own.
        from uuid import uuid4

        from eventsourcing.sqlite import SQLiteDatastore

        view = _sqlite_recorder_class()(SQLiteDatastore(f"file:read-model-{uuid4().hex}?mode=memory&cache=shared"))
    else:
        raise ValueError(f"no read model for {type(recorder).__name__}")
    view.configure(prefix, listings)
    view.create_table()
    return view


# --- the projection ----------------------------------------------------------------------------


class ReadModel(Projection[Any]):
    """A service's read model: its listings, kept from the service's own log."""

    listings: ClassVar[tuple[Listing, ...]] = ()

    def __init__(self, app: Any, batch_size: int = BATCH_SIZE):
        self.app = app
        self.batch_size = batch_size
        super().__init__(view=construct_view(app.recorder, app.name.lower(), self.listings))
        self._lock = threading.RLock()
        self._listings_of_class: dict[type, tuple[Listing, ...]] = {}
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self.failures: dict[str, str] = {}  # aggregate id -> why its row could not be made
        # The aggregates this instance saved last, by id: a catch-up takes a row from one still at the
        # version it needs instead of replaying it (events never change, so neither does that state).
        self._saved: OrderedDict[Any, Any] = OrderedDict()
        # (listing per item, aggregate id) -> the aggregate's version at which this instance's save left it
        # no rows there. A save that follows on from that version, and still has none, writes nothing there:
        # written only where the read model stood right before the save, whose rows are then those of the
        # version before it. (Most aggregates have no reminder most of the time: two deletes a save fewer.)
        # Not for an aggregate whose row could not be made (`failures`: what is stored may be older), and
        # forgotten when this instance rebuilds. A rebuild run by another process that fails to make such
        # a row leaves it stale until the aggregate has items again, as it leaves any row it cannot make.
        self._empty_at: OrderedDict[tuple[str, str], int] = OrderedDict()

    def listing(self, name: str) -> Listing:
        for listing in self.listings:
            if listing.name == name:
                return listing
        raise KeyError(name)

    # --- the library's projection interface, one event at a time -----------------------------

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        listings = self._listings_of(type(domain_event))
        rows = []
        if listings:
            aggregate = self.app.repository.get(domain_event.originator_id, version=domain_event.originator_version)
            rows = [(listing, str(aggregate.id), aggregate.version, listing.row(aggregate)) for listing in listings]
        self.view.apply(rows, tracking, start=self.position)

    # --- batches ----------------------------------------------------------------------------

    @property
    def position(self) -> int:
        return self.view.max_tracking_id(TRACKING_NAME) or 0

    def catch_up(self, max_batches: int | None = None) -> int:
        """Applies whatever the log held, when asked, after the recorded position (at most `max_batches`
        batches of it); returns the position reached. Already caught up, it costs one statement."""
        with self._lock:
            position, head = self.view.standing(TRACKING_NAME)
            batches = 0
            while (head is None or position < head) and (max_batches is None or batches < max_batches):
                batches += 1
                more, position = self._apply_batch_after(position)
                if not more:
                    break
            return position

    def catch_up_batch(self) -> bool:
        """Applies one batch after the recorded position; True when more may follow."""
        with self._lock:
            position, head = self.view.standing(TRACKING_NAME)
            if head is not None and position >= head:
                return False
            return self._apply_batch_after(position)[0]

    def _apply_batch_after(self, position: int) -> tuple[bool, int]:
        """Applies one batch after `position`: whether more may follow, and the position now recorded."""
        notifications = self.app.recorder.select_notifications(
            start=position, limit=self.batch_size, inclusive_of_start=False)
        if not notifications:
            return False, position
        try:
            self.view.apply(self.rows_for(notifications), start=position,
                            tracking=Tracking(application_name=TRACKING_NAME, notification_id=notifications[-1].id))
        except PositionMoved:
            return True, self.position  # another instance recorded this batch first, or a rebuild began
        return len(notifications) == self.batch_size, notifications[-1].id

    def rows_of_save(self, events: Sequence[Any], aggregates: Mapping[Any, Any]) -> list[tuple[Listing, str, int, Any]] | None:
        """The rows a save changes, from the aggregates it holds in memory (no read of the log, no
        replay), to be written in the events' own transaction (`write_within`). None when it does not
        hold every aggregate it changed, or a row cannot be made: the catch-up makes them (or
        reports why not)."""
        touched = self._touched(events)
        if any(aggregate_id not in aggregates for aggregate_id in touched):
            return None
        followed_on_from: dict[Any, int] = {}  # aggregate id -> its version before the save's first event of it
        for domain_event in events:
            followed_on_from.setdefault(domain_event.originator_id, domain_event.originator_version - 1)
        try:
            return [(listing, str(aggregate_id), aggregates[aggregate_id].version,
                     self._row_of(listing, str(aggregate_id), aggregates[aggregate_id], followed_on_from[aggregate_id]))
                    for aggregate_id, listings in touched.items() for listing in listings]
        except Exception:  # noqa: BLE001 - the save goes on; the catch-up makes (or reports) the rows
            log.warning("read model: the rows of a save were left to the catch-up", exc_info=True)
            return None

    def _row_of(self, listing: Listing, aggregate_id: str, aggregate: Any, followed_on_from: int) -> Any:
        """The aggregate's row in the listing; per item, NoneStored where it has no items and had none stored."""
        row = listing.row(aggregate)
        if (listing.per_item and not row and aggregate_id not in self.failures
                and self._empty_at.get((listing.name, aggregate_id)) == followed_on_from):
            return NoneStored()
        return row

    def write_within(self, cursor: Any, notification_ids: Sequence[int], rows: Sequence[tuple[Listing, str, int, Any]]
                     ) -> Callable[[], bool]:
        """Writes a save's rows, and moves the position over its events, in the events' own transaction,
        when the read model stands right before them (no one else's events in between; consecutive
        ids). Otherwise it writes nothing and leaves them to the catch-up. Returns whether it wrote
        them, to be asked once the transaction has committed."""
        ids = sorted(notification_ids)
        if not ids or ids[-1] - ids[0] + 1 != len(ids):
            return lambda: False
        return self.view.write_within(cursor, rows, Tracking(application_name=TRACKING_NAME, notification_id=ids[-1]),
                                      first=ids[0])

    def _touched(self, events: Sequence[Any]) -> dict[Any, tuple[Listing, ...]]:
        """The aggregates the events change that have a row, with their listings."""
        touched: dict[Any, tuple[Listing, ...]] = {}
        for domain_event in events:
            listings = self._listings_of(type(domain_event))
            if listings:
                touched[domain_event.originator_id] = listings
        return touched

    def saved(self, events: Sequence[Any], aggregates: Mapping[Any, Any]) -> None:
        """A save has committed: the aggregates it changed, as held in memory, are remembered for a
        catch-up that makes their rows (`rows_for`). Only then: one whose save failed (someone else saved
        that version first) would stand for the version the other one saved."""
        for aggregate_id in self._touched(events):
            if aggregate_id in aggregates:
                self._remember(aggregate_id, aggregates[aggregate_id])

    def written(self, rows: Sequence[tuple[Listing, str, int, Any]]) -> None:
        """A save's rows were committed with the read model's position over its events: what kept an
        aggregate's row from being made is past, and where it left a listing per item with no rows, at
        which version (`_empty_at`)."""
        for listing, aggregate_id, version, row in rows:
            self.failures.pop(aggregate_id, None)
            if listing.per_item:
                self._remember_items(listing, aggregate_id, version, row)

    def _remember_items(self, listing: Listing, aggregate_id: str, version: int, items: Sequence[Any]) -> None:
        key = (listing.name, aggregate_id)
        self._empty_at.pop(key, None)  # (re-inserted below as the newest: never a key another thread evicted)
        if items:
            return
        self._empty_at[key] = version
        while len(self._empty_at) > EMPTY_ITEMS_KEPT:
            self._empty_at.popitem(last=False)

    def _remember(self, aggregate_id: Any, aggregate: Any) -> None:
        self._saved[aggregate_id] = aggregate
        self._saved.move_to_end(aggregate_id)
        while len(self._saved) > SAVED_AGGREGATES_KEPT:
            self._saved.popitem(last=False)

    def _saved_at(self, aggregate_id: Any, version: int) -> Any:
        """The aggregate as this instance saved it, if it is still at `version` (else None: replayed)."""
        aggregate = self._saved.get(aggregate_id)
        return aggregate if aggregate is not None and aggregate.version == version else None

    def rows_for(self, notifications: Sequence[Any]) -> list[tuple[Listing, str, int, Any]]:
        """The row of every aggregate the batch changed, as it was after its last event in the batch.

        An aggregate is replayed from the batch's own events when the batch holds its first one,
        else from the store up to the event before the batch's first and on from the batch. An
        aggregate whose row cannot be made is left as it was, logged and shown by /health, so that
        one bad row cannot stop every list of the service."""
        touched: dict[Any, tuple[tuple[Listing, ...], list[Any]]] = {}
        for notification in notifications:
            listings = self._listings_of(resolve_topic(notification.topic))
            if listings:
                touched.setdefault(notification.originator_id, (listings, []))[1].append(notification)
        rows = []
        for aggregate_id, (listings, own) in touched.items():
            names = ", ".join(listing.name for listing in listings)
            try:
                aggregate = self._saved_at(aggregate_id, own[-1].originator_version)
                if aggregate is None:
                    first = own[0].originator_version
                    aggregate = None if first == 1 else self.app.repository.get(aggregate_id, version=first - 1)
                    for notification in own:
                        aggregate = self.app.mapper.to_domain_event(notification).mutate(aggregate)
                rows += [(listing, str(aggregate_id), aggregate.version, listing.row(aggregate)) for listing in listings]
                self.failures.pop(str(aggregate_id), None)
            except (OperationalError, InterfaceError):
                raise  # the store, not the row: the batch is tried again
            except Exception as error:  # noqa: BLE001
                log.exception("read model %s: no row for aggregate %s", names, aggregate_id)
                self.failures[str(aggregate_id)] = f"{names}: {type(error).__name__}: {error}"[:500]
        return rows

    def _listings_of(self, event_class: type) -> tuple[Listing, ...]:
        """The listings an event class's aggregate is in (none: the read model keeps no row of it)."""
        if event_class not in self._listings_of_class:
            self._listings_of_class[event_class] = tuple(
                listing for listing in self.listings if issubclass(event_class, listing.aggregate.Event))
        return self._listings_of_class[event_class]

    def rebuild(self) -> int:
        """Drops the tables and replays the whole log into them again."""
        with self._lock:
            self._empty_at.clear()
            self.view.drop()
            return self.catch_up()

    # --- in the background ------------------------------------------------------------------

    def nudge(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()

    def run(self, gate: Any, poll_interval: float = 1.0) -> None:
        """Keeps the tables caught up until stopped: after every nudge, and every `poll_interval`
        seconds for what other instances wrote."""
        while not self._stopped.is_set():
            try:
                # a batch a call, so that requests get the store between batches of a long backlog
                while not self._stopped.is_set() and gate.call(self.catch_up_batch):
                    pass
            except Exception:  # noqa: BLE001 - the read model must outlive any failure; queries catch up too
                log.exception("read model could not catch up; trying again")
                self._stopped.wait(1.0)
            self._wake.wait(poll_interval)
            self._wake.clear()


# --- what the HTTP layer does with a page ------------------------------------------------


def paged(
    view: ReadModelTables, listing: Listing, query: Mapping[str, Any], *,
    conditions: Sequence[Condition] = (), tags: Sequence[Tag] = (), unless_behind: str | None = None,
) -> Page | None:
    """A page of a listing for a query's `limit`, `cursor` and `order`; the cursor is bound to the filters.
    `unless_behind`: None instead where the position recorded under that name is behind the log
    (ReadModelTables.page)."""
    filters = {k: v for k, v in query.items() if k not in ("cursor", "limit")}
    after = Cursors.decode(query.get("cursor"), listing.name, filters, PAGE_KEY)
    found = view.page(listing, conditions=conditions, tags=tags, after=after, limit=query.get("limit") or DEFAULT_LIMIT,
                      descending=query.get("order") == "desc", unless_behind=unless_behind)
    if found is None:
        return None
    items, key = found
    return Page(items, Cursors.encode(listing.name, filters, key) if key else None)


def searched(view: ReadModelTables, scope: str, query: Mapping[str, Any]) -> Page:
    words = search_words(query["q"])
    filters = {"q": " ".join(words)}
    after = Cursors.decode(query.get("cursor"), scope, filters, SEARCH_KEY)
    hits, key = view.search(words, after=after, limit=query.get("limit") or DEFAULT_LIMIT)
    for hit in hits:
        hit["cursor"] = Cursors.encode(scope, filters, hit.pop("key"))
    return Page(hits, Cursors.encode(scope, filters, key) if key else None)
