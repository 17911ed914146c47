"""Files (a case's documents, a follow-up's attachments), stored by their SHA-256, once each.

Where they are kept follows the application's event store, as the read model does
(shared.readmodel.construct_view):

- SQLite: a directory beside the database, `DATA_DIR/files/<first 2 hex>/<sha256>` (with
  `<sha256>.json` beside it: size, media type, when stored);
- PostgreSQL: the table `files` in the service's own database and schema, so every instance
  of the service reads what any of them stored;
- the in-memory store of unit tests (eventsourcing.popo): a dictionary.

Every read checks the hash of what it read: a file whose bytes no longer match is refused
with FileCorrupted (500, logged), never served. The media type of an upload is found from its
content (the `filetype` library reads the magic numbers; plain text is UTF-8 without control
characters), and must be the one the client declared and one of ALLOWED_MEDIA_TYPES.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import unicodedata
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import filetype

from shared.errors import BodyTooLarge, CaseError, InvalidRequest, UnsupportedMediaType
from shared.recorders import reading, store_of

log = logging.getLogger(__name__)

# What may be uploaded: documents a case is made of, and pictures of them.
ALLOWED_MEDIA_TYPES = {
    "application/pdf": "PDF",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word (DOCX)",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel (XLSX)",
    "application/vnd.oasis.opendocument.text": "OpenDocument text (ODT)",
    "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument spreadsheet (ODS)",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "text/plain": "plain text, UTF-8",
}
DEFAULT_FILE_MAX_BYTES = 25 * 1024 * 1024  # FILE_MAX_BYTES in a service's config
MAX_FILENAME_LENGTH = 200
SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")
_TEXT_CONTROLS_ALLOWED = {"\t", "\n", "\r", "\f"}


class FileCorrupted(CaseError):
    """A stored file whose bytes no longer hash to its name: refused and logged, never served."""

    status = 500
    title = "Stored file corrupted"
    problem_type = "/problems/file-corrupted"


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    media_type: str


# --- what an upload must be -------------------------------------------------------------------


def sanitised_filename(name: str | None, field: str = "filename") -> str:
    """The name a file is registered under: NFC, whitespace runs made one space, trimmed.

    Refused (400 naming `filename`): empty, longer than MAX_FILENAME_LENGTH, a path (`/`, `\\`,
    `..`), control characters."""
    if name is None or not name.strip():
        raise InvalidRequest.for_field(field, "required: the file's name, without a path")
    name = unicodedata.normalize("NFC", name)
    if "/" in name or "\\" in name or ".." in name:
        raise InvalidRequest.for_field(field, "a name without a path (no '/', '\\' or '..')")
    if any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in name):
        raise InvalidRequest.for_field(field, "contains control characters or line breaks")
    name = " ".join(name.split())
    if len(name) > MAX_FILENAME_LENGTH:
        raise InvalidRequest.for_field(field, f"longer than {MAX_FILENAME_LENGTH} characters")
    return name


def media_type_of(content: bytes) -> str | None:
    """The media type the content is, read from the content itself; None when it is none we know."""
    found = filetype.guess_mime(content)
    if found is not None:
        return found
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(unicodedata.category(c) == "Cc" and c not in _TEXT_CONTROLS_ALLOWED for c in text):
        return None
    return "text/plain"


def checked_upload(content: bytes, declared: str | None, max_bytes: int) -> str:
    """The media type of an upload that may be stored: not empty, within the limit, of an allowed type
    and of the type it was declared to be. Returns that type."""
    if len(content) > max_bytes:
        raise BodyTooLarge(max_bytes)
    if not content:
        raise InvalidRequest.for_field("body", "empty: the request body is the file's content")
    declared_type, _, parameters = (declared or "").partition(";")
    declared_type = declared_type.strip().lower()
    if declared_type not in ALLOWED_MEDIA_TYPES:
        raise UnsupportedMediaType.for_field(
            "Content-Type", f"{declared_type or 'none'} is not allowed; one of {', '.join(ALLOWED_MEDIA_TYPES)}")
    charset = re.search(r"charset\s*=\s*\"?([\w-]+)", parameters, re.IGNORECASE)
    if declared_type == "text/plain" and charset and charset.group(1).lower() not in ("utf-8", "utf8"):
        raise UnsupportedMediaType.for_field("Content-Type", "plain text is taken in UTF-8 only")
    found = media_type_of(content)
    if found != declared_type:
        raise UnsupportedMediaType.for_field(
            "Content-Type", f"declared {declared_type}, but the content is {found or 'of no known type'}")
    return declared_type


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# --- the stores -------------------------------------------------------------------------------


class FileStore:
    """Stores content once by its hash; `read` checks the hash of what it read."""

    def put(self, content: bytes, media_type: str) -> StoredFile:
        stored = StoredFile(sha256_of(content), len(content), media_type)
        if self.info(stored.sha256) is None:
            self._write(stored, content, datetime.now(timezone.utc))
        return stored

    def info(self, sha256: str) -> StoredFile | None:
        """What is stored under the hash (size, media type), without reading the content."""
        if not SHA256_PATTERN.fullmatch(sha256):
            return None
        return self._info(sha256)

    def read(self, sha256: str) -> tuple[StoredFile, bytes]:
        """The file's content, checked against its hash: FileNotStored (404) when there is none, FileCorrupted
        (500, logged) when what is stored no longer hashes to its name."""
        found = self.info(sha256)
        content = self._read(sha256) if found is not None else None
        if found is None or content is None:
            raise FileNotStored(sha256)
        if sha256_of(content) != sha256 or len(content) != found.size:
            log.error("stored file %s is corrupted: its content no longer hashes to its name", sha256)
            raise FileCorrupted(f"The stored file {sha256} is corrupted: its content does not match its SHA-256")
        return found, content

    def _write(self, stored: StoredFile, content: bytes, stored_at: datetime) -> None:
        raise NotImplementedError

    def _info(self, sha256: str) -> StoredFile | None:
        raise NotImplementedError

    def _read(self, sha256: str) -> bytes | None:
        raise NotImplementedError


class FileNotStored(CaseError):
    status = 404
    title = "Not found"
    problem_type = "/problems/not-found"

    def __init__(self, sha256: str):
        super().__init__(f"No file with SHA-256 {sha256} is stored")


class MemoryFileStore(FileStore):
    def __init__(self) -> None:
        self.files: dict[str, tuple[StoredFile, bytes]] = {}

    def _write(self, stored: StoredFile, content: bytes, stored_at: datetime) -> None:
        self.files[stored.sha256] = (stored, content)

    def _info(self, sha256: str) -> StoredFile | None:
        return self.files[sha256][0] if sha256 in self.files else None

    def _read(self, sha256: str) -> bytes | None:
        return self.files[sha256][1] if sha256 in self.files else None


class DirectoryFileStore(FileStore):
    """`<root>/<first 2 hex>/<sha256>`, written to a temporary file and renamed into place (never half a file)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def _write(self, stored: StoredFile, content: bytes, stored_at: datetime) -> None:
        path = self.path(stored.sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        about = {**asdict(stored), "stored_at": stored_at.isoformat()}
        for target, data in ((path, content), (path.with_suffix(".json"), json.dumps(about).encode())):
            descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            try:
                with os.fdopen(descriptor, "wb") as file:
                    file.write(data)
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise

    def _info(self, sha256: str) -> StoredFile | None:
        path = self.path(sha256)
        try:
            about = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        if not path.exists():
            return None
        return StoredFile(sha256, int(about["size"]), str(about["media_type"]))

    def _read(self, sha256: str) -> bytes | None:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            return None


class PostgresFileStore(FileStore):
    """The table `files` in the service's database and schema, shared by its instances."""

    def __init__(self, datastore: Any):
        self.datastore = datastore
        self.table = f'"{datastore.schema}"."files"'
        with datastore.transaction(commit=True) as cursor:
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {self.table} (sha256 text PRIMARY KEY, size bigint NOT NULL, "
                           "media_type text NOT NULL, content bytea NOT NULL, stored_at timestamptz NOT NULL)")

    def _write(self, stored: StoredFile, content: bytes, stored_at: datetime) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(f"INSERT INTO {self.table} (sha256, size, media_type, content, stored_at) "
                           "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (sha256) DO NOTHING",
                           [stored.sha256, stored.size, stored.media_type, content, stored_at])

    def _info(self, sha256: str) -> StoredFile | None:
        with reading(self.datastore) as cursor:
            cursor.execute(f"SELECT size, media_type FROM {self.table} WHERE sha256 = %s", [sha256])
            row = cursor.fetchone()
        return None if row is None else StoredFile(sha256, int(row["size"]), row["media_type"])

    def _read(self, sha256: str) -> bytes | None:
        with reading(self.datastore) as cursor:
            cursor.execute(f"SELECT content FROM {self.table} WHERE sha256 = %s", [sha256])
            row = cursor.fetchone()
        return None if row is None else bytes(row["content"])


def construct_file_store(recorder: Any, env: Mapping[str, str]) -> FileStore:
    """The file store beside an application's event store (see the module's doc)."""
    store = store_of(recorder)
    if store == "postgres":
        return PostgresFileStore(recorder.datastore)
    if store == "sqlite":
        database = str(env.get("SQLITE_DBNAME", ""))
        if database and ":memory:" not in database and "mode=memory" not in database:
            return DirectoryFileStore(Path(database).parent / "files")
        return MemoryFileStore()
    if store == "popo":
        return MemoryFileStore()
    raise ValueError(f"no file store for {type(recorder).__name__}")


# --- a reference to a stored file, as commands carry it ---------------------------------------


def resolved_file(store: FileStore, reference: Mapping[str, Any] | None, field: str) -> dict[str, Any] | None:
    """A file reference `{sha256, filename}` made what an event records: `{sha256, size, media_type,
    filename}`, size and media type taken from the store (never from the client). 400 naming
    `<field>.sha256` when no such file was uploaded."""
    if reference is None:
        return None
    sha256 = str(reference["sha256"]).lower()
    stored = store.info(sha256)
    if stored is None:
        raise InvalidRequest.for_field(f"{field}.sha256", "no file with this SHA-256 was uploaded (POST /files)")
    return {"sha256": sha256, "size": stored.size, "media_type": stored.media_type,
            "filename": sanitised_filename(reference["filename"], f"{field}.filename")}


def resolved_files(store: FileStore, references: list[Mapping[str, Any]] | None, field: str) -> list[dict[str, Any]]:
    return [resolved_file(store, reference, f"{field}.{number}")  # type: ignore[misc]
            for number, reference in enumerate(references or [])]
