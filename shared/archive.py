"""A case as one archive package, readable and verifiable without the system.

A zip of plain files:

    README.txt                          what the files are and how to check them by hand
    manifest.json                       the case, when and from where, every aggregate's chain head,
                                        and every file's SHA-256 and size
    manifest.json.sig                   (when signed) Ed25519 signature of manifest.json's exact bytes
    timeline.json / timeline.txt        every service's events about the case, in time order
    events/<service>/<aggregate>.jsonl  each aggregate's events exactly as stored (hash chain included)
    states/<service>/<aggregate>.json   the aggregate's state after each of its events
    files/<sha256>                      every file the case's events refer to (a registered document, a
                                        follow-up's attachment), named by the SHA-256 of its content
    SHA256SUMS                          `sha256sum -c SHA256SUMS` checks every file, manifest included

A package made for the public (`audience="public"`: `cases export --public`, the audit service's
archive route with ?audience=public) withholds what is marked secret (shared.secrecy) from the
timeline and the states, names each withholding and its provision in the manifest (`redactions`),
and leaves out events/: the records as stored cannot be redacted without breaking their hash chains.
Its manifest says `"audience": "public"`; `check_package` checks it as such (no chains to recompute).

`check_package` re-verifies all of it, trusting nothing inside the package: every file the
manifest lists is present with its SHA-256 and size, every file its aggregates imply is listed
(and no events/ or states/ file they do not), nothing is in the zip that the manifest does not
list, SHA256SUMS agrees, each chain is recomputed from the stored events up to the head the
manifest recorded, every file the stored events refer to is there with the SHA-256 they record,
every file parses as what the tools read from it, and, with a public key,
the signature over the manifest verifies.

Threat model. The package travels and is kept outside the system, so anyone may change it.
- Accidental damage, a careless edit, a file removed or added: found by the manifest's SHA-256s,
  its list of files and the zip's own CRCs, whatever SHA256SUMS says (it is inside the package
  and proves nothing by itself).
- An edited event with its checksums recomputed: found by its aggregate's hash chain.
- A package rewritten as a whole (events re-chained, manifest and SHA256SUMS recomputed
  consistently): the chains are plain SHA-256 with no secret, so only a signature finds it —
  `cases export --signing-key` signs the manifest, `cases check-archive --public-key` checks it.
  That is only as good as the public key: take it from somewhere the package's holder cannot
  write. Without a key the check says the signature was not checked. Events cut off before the
  export, or a service lying at export time, are outside what a package can show: compare
  the live chains with the package (`cases verify --against`).
- Hostile input (a zip bomb, huge or countless members, malformed JSON, wrong types): every
  size is capped (`Limits`) before anything is decompressed past the cap, and each defect is
  reported as a reason the package is not intact, never as a crash.
"""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Mapping

from marshmallow import INCLUDE, Schema, fields, validate

from shared.audit import Case, ServiceClient, Verification
from shared.chain import Record, verify_chain
from shared.files import SHA256_PATTERN
from shared.secrecy import markings_from_events, redact_case, redact_events
from shared.signing import Ed25519PrivateKey, Ed25519PublicKey, fingerprint, is_valid_signature
from shared.timeline import case_timeline, describe_entry

FORMAT = "regional-cases-archive/1"
AUDIENCES = ("auditor", "public")  # the auditor's package keeps secret content; the public's withholds it
CHECKSUMS = "SHA256SUMS"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
ALWAYS_LISTED = ("README.txt", "timeline.json", "timeline.txt")  # besides each aggregate's events and states
FILES = "files/"  # files/<sha256>: the content of each file the events refer to
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the same case exported twice gives the same entries
_MiB = 1024 * 1024

README = """Archive package of case {diary_number}, exported {exported_at} by {exported_by}.

timeline.txt    every event about the case, from every service, in the order it happened
timeline.json   the same events as JSON envelopes (docs/events.md of the system describes them)
events/         each aggregate's events exactly as they were stored, one JSON object per line:
                position, aggregate_id, version, topic, state (the stored JSON text)
states/         each aggregate's state after each of its events
files/          every file the events refer to ("file": {{"sha256", "size", "media_type", "filename"}}),
                named by its SHA-256; manifest.json's "documents" names each with its file name and type
manifest.json   the case, the sources, each aggregate's chain head, each file's SHA-256 and size

Checking by hand: `sha256sum -c SHA256SUMS` finds accidental damage, but SHA256SUMS is inside
the package: compare each file with the SHA-256 manifest.json lists. Each stored event's JSON
ends with "__chain__":{{"previous":P,"hash":H}}; with C the JSON without that member
(its last "}}" kept), H = SHA-256(P + "\\n" + aggregate_id + "\\n" + version + "\\n" + topic
+ "\\n" + C), and P is the H of the aggregate's event before (64 zeros before the first).
The H of each aggregate's last event is its "head" in manifest.json.
"""

AUDITOR_README = """
This package is the auditor's: it keeps every content, including what is marked secret
(sekretess, OSL): the answer's sections and the documents the markings name (Initiative.SecrecyMarked
in the timeline). Before anything of it is disclosed, the secrecy must be tried; a package made for
the public (`cases export --public`) withholds what is marked.
"""

PUBLIC_README = """Archive package of case {diary_number} made for the public, exported {exported_at} by {exported_by}.

Content marked secret (sekretess, OSL) is withheld: in timeline.json and states/ the marked answer
sections and documents' titles and files are null, each event or state that had such content lists
it under "redactions", and manifest.json's "redactions" names every target withheld and the
provision it rests on:
{redactions}
The diary entries stay public (OSL 5 kap.): diary number, dates, counterpart, kind and direction.

timeline.txt    every event about the case, from every service, in the order it happened
timeline.json   the same events as JSON envelopes (docs/events.md of the system describes them)
states/         each aggregate's state after each of its events, redacted
manifest.json   the case, the sources, each aggregate's chain head, each file's SHA-256 and size

Not included: the events exactly as they were stored (events/ of the auditor's package). Their
hash chains cover every byte, so they cannot be redacted without breaking them; the chain heads
in manifest.json let anyone holding the auditor's package or the live system compare them.
`sha256sum -c SHA256SUMS` finds accidental damage (compare each file with manifest.json's SHA-256).
"""

SIGNED_README = """
manifest.json.sig is an Ed25519 signature of manifest.json's exact bytes, made with the key
whose public key's SHA-256 (of its 32 raw bytes) is
    {fingerprint}
With that public key in PEM, obtained from the exporter and not from this package:
    openssl pkeyutl -verify -pubin -inkey public.pem -rawin -in manifest.json -sigfile manifest.json.sig
A valid signature vouches for manifest.json, and through its SHA-256s for every other file.
"""


@dataclass(frozen=True)
class Limits:
    """What a package may hold before it is refused unread: a zip bomb or a huge member must not
    exhaust memory. Far above a case's size (a case is tens of aggregates of up to thousands of events)."""

    package_bytes: int = 256 * _MiB  # the zip file itself
    members: int = 10_000
    member_bytes: int = 64 * _MiB  # one file, uncompressed
    total_bytes: int = 256 * _MiB  # every file, uncompressed


LIMITS = Limits()


class PackageUnreadable(Exception):
    """The package file could not be opened or read at all (missing, a directory, no permission, an
    I/O error): nothing is known about its content, unlike a package that was read and is not intact."""


def export_case(clients: Mapping[str, ServiceClient], case: Case, target: Path | BinaryIO,
                exported_by: str, signing_key: Ed25519PrivateKey | None = None,
                audience: str = "auditor") -> Verification:
    """Writes the package; returns the verification of the chains it holds (recorded in the
    manifest as found, broken or not: a package may be the evidence of tampering). With a
    signing key, the manifest's exact bytes are signed into manifest.json.sig. `audience` "public":
    what is marked secret is withheld and the stored events are left out (see the module's doc)."""
    if audience not in AUDIENCES:
        raise ValueError(f"audience is one of {AUDIENCES}, not {audience!r}")
    public = audience == "public"
    exported_at = datetime.now(timezone.utc).isoformat()
    signer = None if signing_key is None else fingerprint(signing_key.public_key())
    markings = markings_from_events(case.timeline)
    timeline = redact_events(case.timeline, markings) if public else case.timeline
    redactions = [{"aggregate_id": aggregate_id, "target": target_, "provision": marking["provision"]}
                  for aggregate_id, marked in sorted(markings.items()) for target_, marking in sorted(marked.items())]
    if public:
        readme = PUBLIC_README.format(diary_number=case.diary_number, exported_at=exported_at, exported_by=exported_by,
                                      redactions="\n".join(f"    {r['target']}: {r['provision']}" for r in redactions)
                                      or "    (nothing is marked secret)")
    else:
        readme = README.format(diary_number=case.diary_number, exported_at=exported_at, exported_by=exported_by) + \
            AUDITOR_README
    files: dict[str, bytes] = {
        "timeline.json": _json(timeline),
        "timeline.txt": "\n".join(
            [f"{case.diary_number}: {len(timeline)} events"] + [describe_entry(e) for e in timeline]
        ).encode("utf-8") + b"\n",
        "README.txt": (readme + (SIGNED_README.format(fingerprint=signer) if signer else "")).encode("utf-8"),
    }
    verification = Verification([])
    aggregates: list[dict[str, Any]] = []
    documents: dict[str, dict[str, Any]] = {}
    for service, aggregate_id, aggregate_type in case.aggregates:
        client = clients[service]
        records = client.aggregate_records(aggregate_id)
        states = client.aggregate_states(aggregate_id)
        if public:
            marked = markings.get(aggregate_id, {})
            states = [{**entry, "state": redact_case(entry["state"], marked)} if marked else entry for entry in states]
        else:
            files[f"events/{service}/{aggregate_id}.jsonl"] = b"".join(
                _json(record.to_json(), indent=None) + b"\n" for record in records)
        files[f"states/{service}/{aggregate_id}.json"] = _json(states)
        report = verify_chain(aggregate_id, records)
        verification.reports.append((service, report))
        aggregates.append({"service": service, "type": aggregate_type, **report.to_json()})
        # The public's package holds the files its (redacted) timeline refers to: never a secret document's.
        for reference in (_public_references(timeline, aggregate_id) if public else file_references(records)):
            document = documents.setdefault(reference["sha256"], {
                "file": f"{FILES}{reference['sha256']}", "sha256": reference["sha256"], "bytes": reference["size"],
                "media_type": reference["media_type"], "filenames": [], "service": service, "aggregates": []})
            if reference.get("filename") and reference["filename"] not in document["filenames"]:
                document["filenames"].append(reference["filename"])
            if aggregate_id not in document["aggregates"]:
                document["aggregates"].append(aggregate_id)
    for sha256, document in sorted(documents.items()):
        files[document["file"]] = clients[document["service"]].file(sha256)
    manifest = {
        "format": FORMAT,
        "diary_number": case.diary_number,
        "exported_at": exported_at,
        "exported_by": exported_by,
        **({"audience": "public", "redactions": redactions} if public else {"audience": "auditor"}),
        "sources": {name: client.base_url for name, client in clients.items()},
        "aggregates": aggregates,
        "documents": [document for _, document in sorted(documents.items())],
        "files": {name: {"sha256": _sha256(content), "bytes": len(content)} for name, content in sorted(files.items())},
        "signature": None if signer is None else {"algorithm": "Ed25519", "public_key_sha256": signer,
                                                  "file": SIGNATURE},
    }
    files[MANIFEST] = _json(manifest)
    if signing_key is not None:
        files[SIGNATURE] = signing_key.sign(files[MANIFEST])
    files[CHECKSUMS] = "".join(f"{_sha256(content)}  {name}\n" for name, content in sorted(files.items())).encode()
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as package:
        for name, content in sorted(files.items()):
            package.writestr(zipfile.ZipInfo(name, date_time=_FIXED_DATE), content)
    return verification


def _public_references(timeline: Iterable[Mapping[str, Any]], aggregate_id: str | None = None) -> list[dict[str, Any]]:
    """The files a public package's timeline (redacted: no secret document's file) refers to."""
    found: list[dict[str, Any]] = []
    for entry in timeline:
        if aggregate_id is None or entry.get("aggregate_id") == aggregate_id:
            found += _references_in(entry.get("payload"))
    return found


def _references_in(value: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if _FILE_REFERENCE.issubset(value) and isinstance(value["sha256"], str) \
                    and SHA256_PATTERN.fullmatch(value["sha256"]) and isinstance(value["size"], int):
                found.append(value)
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(value)
    return found


def file_references(records: Iterable[Record]) -> list[dict[str, Any]]:
    """Every file the stored events refer to: each JSON object in an event with a `sha256`, `size` and
    `media_type` (shared.files' reference to a stored file), in the order the events hold them."""
    found: list[dict[str, Any]] = []
    for record in records:
        try:
            found += _references_in(_loads(record.state))
        except ValueError:
            continue  # an event that is not JSON: its chain check names it
    return found


_FILE_REFERENCE = {"sha256", "size", "media_type"}


@dataclass
class Archive:
    """A package read back: its manifest, timeline and states, and what checking it found.

    `signature` is "verified", "invalid" or "missing" when a public key was given, else "not checked".
    `manifest` is empty unless manifest.json could be read and has the shape the tools rely on."""

    manifest: dict[str, Any]
    files: dict[str, bytes]
    problems: list[str] = field(default_factory=list)
    signature: str = "not checked"

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def signed(self) -> bool:
        return SIGNATURE in self.files

    @property
    def timeline(self) -> list[dict[str, Any]]:
        return json.loads(self.files["timeline.json"])

    def heads(self) -> dict[str, dict[str, Any]]:
        return {a["aggregate_id"]: {"version": a["version"], "head": a["head"]} for a in self.manifest["aggregates"]}

    def states_as_of(self, moment: datetime | None = None) -> list[dict[str, Any]]:
        """Each aggregate's state as the package recorded it at a moment (the latest without)."""
        found = []
        for aggregate in self.manifest["aggregates"]:
            states = json.loads(self.files[f"states/{aggregate['service']}/{aggregate['aggregate_id']}.json"])
            then = [s for s in states if moment is None or datetime.fromisoformat(s["occurred_at"]) <= moment]
            if then:
                found.append({"service": aggregate["service"], "aggregate_id": aggregate["aggregate_id"],
                              "type": aggregate["type"], **then[-1]})
        return found


def _loads(raw: bytes | str) -> Any:
    """JSON from the package: nesting too deep for the parser is malformed input, not a crash."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def read_archive(path: Path, public_key: Ed25519PublicKey | None = None, limits: Limits = LIMITS) -> Archive:
    """Reads a package file and checks it (`check_package`). PackageUnreadable when the file cannot be read."""
    try:
        with open(path, "rb") as opened:
            content = opened.read(limits.package_bytes + 1)
    except OSError as error:
        raise PackageUnreadable(f"{path} cannot be read: {error.strerror or error}") from None
    if len(content) > limits.package_bytes:
        return Archive({}, {}, [f"the package is larger than the limit of {limits.package_bytes} bytes"])
    return check_package(content, public_key, limits)


def check_package(content: bytes, public_key: Ed25519PublicKey | None = None, limits: Limits = LIMITS) -> Archive:
    """Checks a package's bytes; every defect found is a line of `problems` (empty: intact)."""
    archive = Archive({}, {})
    archive.files, archive.problems = _members(content, limits)
    if public_key is not None:
        archive.signature, problem = _signature(archive.files, public_key)
        archive.problems += [problem] if problem else []
    if not archive.files:
        return archive
    archive.problems += _checksum_problems(archive.files)
    manifest, problems = _manifest(archive.files.get(MANIFEST))
    archive.problems += problems
    if manifest is None:
        return archive
    archive.problems += _listing_problems(manifest, archive.files)
    archive.problems += _content_problems(manifest, archive.files)
    archive.manifest = manifest  # well-formed, so safe to describe even when not intact
    return archive


# --- the zip ------------------------------------------------------------------------


def _members(content: bytes, limits: Limits) -> tuple[dict[str, bytes], list[str]]:
    """Every member's bytes, read only within the limits; ({}, reasons) when that cannot be done."""
    try:
        package = zipfile.ZipFile(io.BytesIO(content))
        members = package.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError, NotImplementedError) as error:
        return {}, [f"not a readable zip archive: {error}"]
    if len(members) > limits.members:
        return {}, [f"{len(members)} members, more than the limit of {limits.members}"]
    declared = sum(member.file_size for member in members)
    if declared > limits.total_bytes:
        return {}, [f"{declared} bytes uncompressed, more than the limit of {limits.total_bytes}"]
    files: dict[str, bytes] = {}
    problems = []
    total = 0
    for member in members:
        name = member.filename
        if name in files:
            problems.append(f"{name}: in the zip more than once")
            continue
        room = min(limits.member_bytes, limits.total_bytes - total)
        if member.file_size > room:
            problems.append(f"{name}: {member.file_size} bytes uncompressed, more than the limit of {room}")
            continue
        try:
            with package.open(member) as opened:
                data = opened.read(room + 1)  # zipfile stops at the declared size; this bounds it regardless
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, RuntimeError,
                NotImplementedError) as error:
            problems.append(f"{name}: cannot be read from the zip: {error}")
            continue
        if len(data) > room:
            problems.append(f"{name}: more than the limit of {room} bytes uncompressed")
            continue
        total += len(data)
        files[name] = data
    return files, problems


# --- the manifest and its signature -------------------------------------------------------


class _Open(Schema):
    """Members beyond those checked are allowed (and covered by the signature when there is one)."""

    class Meta:
        unknown = INCLUDE


_SHA256 = validate.Regexp(r"\A[0-9a-f]{64}\Z", error="not a SHA-256 in lower-case hex")


class FileEntry(_Open):
    sha256 = fields.String(required=True, validate=_SHA256)
    bytes = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))


class AggregateEntry(_Open):
    service = fields.String(required=True, validate=validate.Length(min=1))
    type = fields.String(required=True)
    aggregate_id = fields.String(required=True, validate=validate.Length(min=1))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    head = fields.String(required=True, validate=_SHA256)


class ManifestSchema(_Open):
    format = fields.String(required=True, validate=validate.Equal(FORMAT, error=f"not {FORMAT}"))
    diary_number = fields.String(required=True)
    exported_at = fields.AwareDateTime(required=True)
    exported_by = fields.String(required=True)
    sources = fields.Dict(keys=fields.String(), values=fields.String())
    aggregates = fields.List(fields.Nested(AggregateEntry), required=True)
    files = fields.Dict(keys=fields.String(), values=fields.Nested(FileEntry), required=True)


class TimelineEntry(_Open):
    """What the tools read of an envelope in timeline.json."""

    source = fields.String(required=True)
    type = fields.String(required=True)
    aggregate_id = fields.String(required=True)
    position = fields.Integer(required=True, strict=True)
    occurred_at = fields.AwareDateTime(required=True)
    actor = fields.String(allow_none=True)
    diary_number = fields.String(allow_none=True)
    payload = fields.Dict(required=True)


class StateEntry(_Open):
    """One element of states/<service>/<aggregate>.json."""

    version = fields.Integer(required=True, strict=True)
    occurred_at = fields.AwareDateTime(required=True)
    state = fields.Dict(required=True)


class RecordEntry(_Open):
    """One line of events/<service>/<aggregate>.jsonl: an event as stored."""

    aggregate_id = fields.String(required=True)
    version = fields.Integer(required=True, strict=True)
    topic = fields.String(required=True)
    state = fields.String(required=True)
    position = fields.Integer(strict=True, allow_none=True)


def _manifest(raw: bytes | None) -> tuple[dict[str, Any] | None, list[str]]:
    if raw is None:
        return None, [f"{MANIFEST}: missing"]
    try:
        manifest = _loads(raw)
    except ValueError as error:
        return None, [f"{MANIFEST}: not JSON ({error})"]
    if not isinstance(manifest, dict):
        return None, [f"{MANIFEST}: not a JSON object"]
    errors = ManifestSchema().validate(manifest)
    if errors:
        return None, [f"{MANIFEST}: {where}: {message}" for where, message in _flat(errors)]
    return manifest, []


def _signature(files: Mapping[str, bytes], public_key: Ed25519PublicKey) -> tuple[str, str | None]:
    given = fingerprint(public_key)
    if SIGNATURE not in files:
        return "missing", (f"{SIGNATURE}: missing — the package is not signed, so it cannot be shown to come "
                           f"from the holder of the public key {given}")
    if MANIFEST in files and is_valid_signature(public_key, files[SIGNATURE], files[MANIFEST]):
        return "verified", None
    return "invalid", (f"{SIGNATURE}: does not verify {MANIFEST} with the public key {given} (the manifest was "
                       f"changed or rewritten after signing, or another key signed it)")


# --- what the manifest says against what the zip holds ----------------------------------


def _listing_problems(manifest: Mapping[str, Any], files: Mapping[str, bytes]) -> list[str]:
    listed: Mapping[str, Mapping[str, Any]] = manifest["files"]
    problems = []
    for name, entry in sorted(listed.items()):
        if name not in files:
            problems.append(f"{name}: listed in {MANIFEST} but missing from the package")
        elif _sha256(files[name]) != entry["sha256"]:
            problems.append(f"{name}: its SHA-256 does not match {MANIFEST}")
        elif len(files[name]) != entry["bytes"]:
            problems.append(f"{name}: its size does not match {MANIFEST}")
    unlisted = set(files) - set(listed) - {MANIFEST, CHECKSUMS, SIGNATURE}
    problems += [f"{name}: in the package but not listed in {MANIFEST}" for name in sorted(unlisted)]
    implied = _implied(manifest)
    for name in implied:
        if name not in listed:
            problems.append(f"{name}: the manifest's aggregates imply it, but its list of files does not hold it")
    for name in sorted(listed):
        if name.startswith(("events/", "states/")) and name not in implied:
            problems.append(f"{name}: listed in {MANIFEST}, but none of its aggregates implies it")
    referred = {f"{FILES}{reference['sha256']}" for reference in _referred_files(manifest, files)}
    for name in sorted(listed):
        if name.startswith(FILES) and name not in referred:
            problems.append(f"{name}: listed in {MANIFEST}, but no event of the case refers to it")
    return problems


def _referred_files(manifest: Mapping[str, Any], files: Mapping[str, bytes]) -> list[dict[str, Any]]:
    """The files the package's stored events refer to (events that cannot be read refer to none); in a
    public package, which holds no stored events, those its redacted timeline refers to."""
    if manifest.get("audience") == "public":
        try:
            timeline = _loads(files.get("timeline.json", b"[]"))
        except ValueError:
            return []  # named by the timeline's own check
        return _public_references([e for e in timeline if isinstance(e, dict)] if isinstance(timeline, list) else [])
    references = []
    for aggregate in manifest["aggregates"]:
        raw = files.get(f"events/{aggregate['service']}/{aggregate['aggregate_id']}.jsonl", b"")
        records = []
        for line in raw.splitlines():
            try:
                data = _loads(line)
            except ValueError:
                continue
            if isinstance(data, dict) and not RecordEntry().validate(data):
                records.append(Record.from_json(data))
        references += file_references(records)
    return references


def _implied(manifest: Mapping[str, Any]) -> list[str]:
    names = list(ALWAYS_LISTED)
    public = manifest.get("audience") == "public"  # no events/: records cannot be redacted
    for aggregate in manifest["aggregates"]:
        names += [] if public else [f"events/{aggregate['service']}/{aggregate['aggregate_id']}.jsonl"]
        names += [f"states/{aggregate['service']}/{aggregate['aggregate_id']}.json"]
    return names


def _content_problems(manifest: Mapping[str, Any], files: Mapping[str, bytes]) -> list[str]:
    """Each file the tools read parses as what they read from it; each chain reaches its recorded head."""
    problems = _timeline_problems(manifest["diary_number"], files.get("timeline.json"))
    for aggregate in manifest["aggregates"]:
        where = f"{aggregate['service']}/{aggregate['aggregate_id']}"
        if f"states/{where}.json" in files:
            problems += _list_problems(f"states/{where}.json", files[f"states/{where}.json"], StateEntry)
        if f"events/{where}.jsonl" in files:
            problems += _chain_problems(f"events/{where}.jsonl", files[f"events/{where}.jsonl"], aggregate)
    return problems + _file_problems(manifest, files)


def _file_problems(manifest: Mapping[str, Any], files: Mapping[str, bytes]) -> list[str]:
    """Each file an event refers to is in the package with the SHA-256 and size the event recorded."""
    problems, first = [], {}
    for reference in _referred_files(manifest, files):
        first.setdefault(reference["sha256"], reference)
    for sha256, reference in sorted(first.items()):
        name = f"{FILES}{sha256}"
        if name not in files:
            problems.append(f"{name}: an event of the case refers to it ({reference.get('filename')}), "
                            "but it is not in the package")
        elif _sha256(files[name]) != sha256:
            problems.append(f"{name}: its content's SHA-256 is not the one the events recorded (the file was changed)")
        elif len(files[name]) != reference["size"]:
            problems.append(f"{name}: {len(files[name])} bytes, the events recorded {reference['size']}")
    return problems


def _timeline_problems(diary_number: str, raw: bytes | None) -> list[str]:
    if raw is None:
        return []
    problems = _list_problems("timeline.json", raw, TimelineEntry)
    if problems:
        return problems
    entries = _loads(raw)
    try:  # what `cases timeline --archive` will do with it
        for entry in case_timeline({"archive": entries}, diary_number):
            describe_entry(entry)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        return [f"timeline.json: its entries cannot be read as a timeline: {type(error).__name__}: {error}"]
    return []


def _list_problems(name: str, raw: bytes, schema: type[Schema]) -> list[str]:
    try:
        items = _loads(raw)
    except ValueError as error:
        return [f"{name}: not JSON ({error})"]
    if not isinstance(items, list):
        return [f"{name}: not a JSON list"]
    for number, item in enumerate(items):
        if not isinstance(item, dict):
            return [f"{name}: item {number} is not a JSON object"]
        errors = schema().validate(item)
        if errors:
            return [f"{name}: item {number}: {where}: {message}" for where, message in _flat(errors)]
    return []


def _chain_problems(name: str, raw: bytes, aggregate: Mapping[str, Any]) -> list[str]:
    records = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = _loads(line)
        except ValueError as error:
            return [f"{name}: line {number} is not JSON ({error})"]
        if not isinstance(data, dict):
            return [f"{name}: line {number} is not a JSON object"]
        errors = RecordEntry().validate(data)
        if errors:
            return [f"{name}: line {number}: {where}: {message}" for where, message in _flat(errors)]
        records.append(Record.from_json(data))
    if any(record.aggregate_id != aggregate["aggregate_id"] for record in records):
        return [f"{name}: holds events of another aggregate than {aggregate['aggregate_id']}"]
    report = verify_chain(aggregate["aggregate_id"], records)
    if report.problem is not None:
        return [f"{name}: {report.problem}"]
    if (report.version, report.head) != (aggregate["version"], aggregate["head"]):
        return [f"{name}: its chain ends at version {report.version}, the manifest recorded "
                f"version {aggregate['version']} with another head"]
    return []


def _checksum_problems(files: Mapping[str, bytes]) -> list[str]:
    if CHECKSUMS not in files:
        return [f"{CHECKSUMS}: missing"]
    listed = {}
    for number, line in enumerate(files[CHECKSUMS].decode("utf-8", "replace").splitlines(), start=1):
        checksum, separator, name = line.partition("  ")
        if not separator:
            return [f"{CHECKSUMS}: line {number} is not '<sha256>  <name>'"]
        listed[name] = checksum
    problems = [f"{name}: not in {CHECKSUMS}" for name in sorted(files) if name != CHECKSUMS and name not in listed]
    for name, checksum in sorted(listed.items()):
        if name not in files:
            problems.append(f"{name}: listed in {CHECKSUMS} but missing")
        elif _sha256(files[name]) != checksum:
            problems.append(f"{name}: its SHA-256 does not match {CHECKSUMS} (changed after export)")
    return problems


def _flat(errors: Any, where: str = "") -> Iterable[tuple[str, str]]:
    """marshmallow's nested error messages as (path, message) pairs."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            inner = where if key == "_schema" else f"{where}.{key}" if where else str(key)
            yield from _flat(value, inner)
    elif isinstance(errors, list) and all(isinstance(e, str) for e in errors):
        yield where or "the whole", " ".join(errors)
    else:
        yield where or "the whole", str(errors)


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _json(value: Any, indent: int | None = 2) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=indent).encode("utf-8")
