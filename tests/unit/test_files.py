"""The file store (shared.files): each backend stores once by hash and refuses what no longer matches;
what an upload must be (type from the content, size, name)."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Iterator

import pytest

from shared.errors import BodyTooLarge, InvalidRequest, UnsupportedMediaType
from shared.files import (
    DirectoryFileStore, FileCorrupted, FileNotStored, FileStore, MemoryFileStore, PostgresFileStore,
    checked_upload, construct_file_store, resolved_file, sanitised_filename,
)
from tests.support import files


@pytest.fixture
def directory_store(tmp_path: Path) -> DirectoryFileStore:
    return DirectoryFileStore(tmp_path / "files")


@pytest.fixture
def postgres_store(infrastructure: Any) -> Iterator[PostgresFileStore]:
    from eventsourcing.postgres import PostgresDatastore

    with infrastructure.fresh_schema() as schema:
        datastore = PostgresDatastore(
            infrastructure.postgres_dbname, infrastructure.postgres_host, infrastructure.postgres_port,
            infrastructure.postgres_user, infrastructure.postgres_password, schema=schema)
        try:
            yield PostgresFileStore(datastore)
        finally:
            datastore.close()


@pytest.fixture(params=["memory", "directory", "postgres"])
def store(request: pytest.FixtureRequest) -> FileStore:
    if request.param == "memory":
        return MemoryFileStore()
    return request.getfixturevalue(f"{request.param}_store")


def test_a_file_is_stored_by_its_hash_once_and_read_back(store: FileStore) -> None:
    content = files.pdf()
    first = store.put(content, files.PDF)
    again = store.put(content, files.PDF)

    assert first == again
    assert first.sha256 == hashlib.sha256(content).hexdigest() and first.size == len(content)
    assert store.info(first.sha256) == first
    assert store.read(first.sha256) == (first, content)


def test_a_file_never_stored_is_not_found(store: FileStore) -> None:
    assert store.info("0" * 64) is None
    assert store.info("../../etc/passwd") is None  # not a hash: never a path
    with pytest.raises(FileNotStored):
        store.read("0" * 64)


def test_a_file_whose_bytes_changed_on_disk_is_refused(directory_store: DirectoryFileStore) -> None:
    stored = directory_store.put(b"Protokollsutdrag \xc2\xa7 22\n", files.TEXT)
    path = directory_store.path(stored.sha256)
    assert path == directory_store.root / stored.sha256[:2] / stored.sha256
    path.write_bytes(b"Protokollsutdrag \xc2\xa7 23\n")  # same size, other content

    with pytest.raises(FileCorrupted) as refused:
        directory_store.read(stored.sha256)
    assert refused.value.status == 500 and stored.sha256 in str(refused.value)


def test_a_file_whose_bytes_changed_in_postgres_is_refused(postgres_store: PostgresFileStore) -> None:
    stored = postgres_store.put(files.pdf(), files.PDF)
    with postgres_store.datastore.transaction(commit=True) as cursor:
        cursor.execute(f"UPDATE {postgres_store.table} SET content = %s WHERE sha256 = %s", [b"%PDF-tampered", stored.sha256])

    with pytest.raises(FileCorrupted):
        postgres_store.read(stored.sha256)


def test_two_stores_on_one_postgres_schema_share_their_files(postgres_store: PostgresFileStore) -> None:
    other = PostgresFileStore(postgres_store.datastore)  # a second instance: CREATE TABLE IF NOT EXISTS again
    stored = postgres_store.put(files.image("PNG"), files.PNG)
    assert other.read(stored.sha256)[0] == stored


def test_the_store_follows_the_event_store(tmp_path: Path) -> None:
    from eventsourcing.popo import POPOApplicationRecorder
    from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

    assert isinstance(construct_file_store(POPOApplicationRecorder(), {}), MemoryFileStore)
    database = str(tmp_path / "initiatives.sqlite")
    found = construct_file_store(SQLiteApplicationRecorder(SQLiteDatastore(database)), {"SQLITE_DBNAME": database})
    assert isinstance(found, DirectoryFileStore) and found.root == tmp_path / "files"


@pytest.mark.parametrize("media_type", sorted(files.samples()))
def test_each_allowed_type_is_recognised_from_its_content(media_type: str) -> None:
    assert checked_upload(files.samples()[media_type], media_type, 10_000_000) == media_type


def test_plain_text_may_name_its_charset_utf8_only() -> None:
    assert checked_upload("Å".encode(), "text/plain; charset=UTF-8", 100) == "text/plain"
    with pytest.raises(UnsupportedMediaType):
        checked_upload("Å".encode("latin-1"), "text/plain; charset=ISO-8859-1", 100)


@pytest.mark.parametrize("content, declared", [
    (b"%PDF-1.4 but declared as a picture", "image/png"),
    (files.image("PNG"), files.PDF),
    (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff", "application/x-msdownload"),  # a type not allowed
    (b"\x00\x01\x02binary\xff\xfe", "text/plain"),  # not text
    (files.docx(), files.XLSX),
    (b"<html></html>", "text/html"),
    (b"anything", None),
])
def test_content_not_of_its_declared_type_is_refused_naming_content_type(content: bytes, declared: str | None) -> None:
    with pytest.raises(UnsupportedMediaType) as refused:
        checked_upload(content, declared, 10_000)
    assert refused.value.status == 415 and refused.value.errors[0]["field"] == "Content-Type"


def test_an_empty_file_and_one_over_the_limit_are_refused() -> None:
    with pytest.raises(InvalidRequest) as empty:
        checked_upload(b"", "text/plain", 10)
    assert empty.value.status == 400 and empty.value.errors == [{"field": "body", "message": empty.value.errors[0]["message"]}]
    with pytest.raises(BodyTooLarge) as large:
        checked_upload(b"x" * 11, "text/plain", 10)
    assert large.value.status == 413
    assert checked_upload(b"x" * 10, "text/plain", 10) == "text/plain"


@pytest.mark.parametrize("given, kept", [
    ("Tjänsteskrivelse.pdf", "Tjänsteskrivelse.pdf"),
    ("  Remissvar   Umeå\u00a0kommun.docx ", "Remissvar Umeå kommun.docx"),
    ("Tja\u0308nsteskrivelse.pdf", "Tjänsteskrivelse.pdf"),  # decomposed ä made NFC
])
def test_file_names_are_normalised(given: str, kept: str) -> None:
    assert sanitised_filename(given) == kept


@pytest.mark.parametrize("name", ["", "   ", None, "../etc/passwd", "a/b.pdf", "C:\\temp\\x.pdf", "..", "x..pdf",
                                  "rad\nbrytning.pdf", "bell\x07.pdf", "nul\x00.pdf", "line\u2028sep.pdf", "a" * 201])
def test_file_names_with_a_path_or_control_characters_are_refused(name: str | None) -> None:
    with pytest.raises(InvalidRequest) as refused:
        sanitised_filename(name)
    assert refused.value.errors[0]["field"] == "filename"


def test_a_reference_resolves_against_the_store_never_the_client() -> None:
    store = MemoryFileStore()
    stored = store.put(files.pdf(), files.PDF)

    resolved = resolved_file(store, {"sha256": stored.sha256.upper(), "filename": " Motion.pdf"}, "file")

    assert resolved == {"sha256": stored.sha256, "size": stored.size, "media_type": files.PDF, "filename": "Motion.pdf"}
    assert resolved_file(store, None, "file") is None
    with pytest.raises(InvalidRequest) as refused:
        resolved_file(store, {"sha256": "a" * 64, "filename": "x.pdf"}, "files.2")
    assert refused.value.errors[0]["field"] == "files.2.sha256"


def test_follow_ups_and_replies_stored_before_they_carried_files_read_back_with_none() -> None:
    """Version 1 of LetterOfIntent.FollowedUp and CollaborationAgreement.ReplyRecorded are upcast when read."""
    from dataclasses import replace
    from datetime import date

    from services.letters_of_intent.domain import CollaborationAgreement, LetterOfIntent
    from shared.application import CaseApplication

    class StoredApp(CaseApplication):
        name = "letters"

    app = StoredApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    pdf = {"sha256": "a" * 64, "size": 3, "media_type": files.PDF, "filename": "Minnesanteckningar.pdf"}
    letter = LetterOfIntent(title="Samforma", counterparts=[], purpose="p", areas=[], responsible_officials=[],
                            signed_on=date(2024, 1, 10), review_on=None, diary_number=None, actor="a")
    letter.add_follow_up(follow_up_id="f", kind="meeting", on=date(2024, 2, 1), text="t", involved=[],
                         diary_number=None, files=[pdf], actor="a")
    agreement = CollaborationAgreement(title="SÖK", summary="s", diary_number="RUN 374-2021",
                                       period_from=date(2023, 1, 1), period_to=date(2026, 12, 31), parties=["Umeå"],
                                       required_parties=None, actor="a")
    agreement.open_consultation(consultation_id="c", title="Remiss", recipients=None, reply_by=date(2023, 6, 30),
                                diary_number="RUN 374-2021", actor="a")
    agreement.record_reply(consultation_id="c", party="Umeå", received_on=date(2023, 6, 1),
                           diary_number="RUN 374-2021", summary=None, files=[pdf], actor="a")
    assert letter.follow_ups[0]["files"] == [pdf] and agreement.reply_files() == [pdf]
    app.save(letter, agreement)
    for aggregate in (letter, agreement):
        replayed = None
        for stored in app.recorder.select_events(aggregate.id):
            state = app.mapper.transcoder.decode(stored.state)
            if state.get("class_version") == 2:  # as version 1 stored it
                state = {name: value for name, value in state.items() if name not in ("files", "class_version")}
            replayed = app.mapper.to_domain_event(replace(stored, state=app.mapper.transcoder.encode(state))).mutate(
                replayed)
        if isinstance(replayed, LetterOfIntent):
            assert replayed.follow_ups[0]["files"] == []
        else:
            assert replayed.consultations["c"]["replies"]["Umeå"]["files"] == [] and replayed.reply_files() == []
