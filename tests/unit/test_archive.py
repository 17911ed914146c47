"""The archive check (shared.archive) and the `cases` CLI's exit codes, on packages built here (no services)."""
from __future__ import annotations

import hashlib
import io
import json
import random
import socket
import stat
import zipfile
from importlib.metadata import version
from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner, Result

from shared.archive import CHECKSUMS, MANIFEST, SIGNATURE, Limits, check_package, export_case, read_archive
from shared.audit import Case
from shared.chain import GENESIS, Record, digest, seal, unseal
from shared.cli import main as cases
from shared.signing import read_private_key

DIARY_NUMBER = "RUN 2025-0001"
CASE_ID = "7f1c2d3e-0000-4000-8000-000000000001"
MEETING_ID = "7f1c2d3e-0000-4000-8000-000000000002"
EVENTS = f"events/initiatives/{CASE_ID}.jsonl"
STATES = f"states/initiatives/{CASE_ID}.json"


def chained(aggregate_id: str, contents: list[bytes], topic: str = "services.domain:Event") -> list[Record]:
    """Records as a chained store holds them."""
    records, previous = [], GENESIS
    for version_, content in enumerate(contents, start=1):
        hash_ = digest(previous, aggregate_id, version_, topic, content)
        records.append(Record(aggregate_id, version_, topic, seal(content, previous, hash_), position=version_))
        previous = hash_
    return records


class StoredService:
    """What export_case reads of a service, held in memory."""

    def __init__(self, name: str, aggregates: dict[str, list[bytes]]):
        self.base_url = f"http://{name}.invalid"
        self.records = {aggregate_id: chained(aggregate_id, contents) for aggregate_id, contents in aggregates.items()}

    def aggregate_records(self, aggregate_id: str) -> list[Record]:
        return self.records[aggregate_id]

    def aggregate_states(self, aggregate_id: str) -> list[dict[str, Any]]:
        return [{"version": r.version, "event_type": "Event", "occurred_at": f"2025-06-0{r.version}T10:00:00+00:00",
                 "state": {"step": r.version}} for r in self.records[aggregate_id]]


def envelope(source: str, aggregate_id: str, position: int, day: int, event_type: str) -> dict[str, Any]:
    return {"source": source, "aggregate_id": aggregate_id, "position": position, "type": event_type,
            "occurred_at": f"2025-06-0{day}T10:00:00+00:00", "actor": "Rut Registrator",
            "diary_number": DIARY_NUMBER, "payload": {"title": "Samverkan"}}


def export(target: Path | io.BytesIO, signing_key: Any = None) -> Path | io.BytesIO:
    services = {
        "initiatives": StoredService("initiatives", {CASE_ID: [b'{"title":"Samverkan"}', b'{"by":"Rut Registrator"}']}),
        "meetings": StoredService("meetings", {MEETING_ID: [b'{"on":"2025-06-03"}']}),
    }
    timeline = [envelope("initiatives", CASE_ID, 1, 1, "Initiative.Submitted"),
                envelope("initiatives", CASE_ID, 2, 2, "Initiative.Registered"),
                envelope("meetings", MEETING_ID, 1, 3, "Meeting.ItemDecided")]
    case = Case(DIARY_NUMBER, timeline, [("initiatives", CASE_ID, "Initiative"), ("meetings", MEETING_ID, "Meeting")])
    verification = export_case(services, case, target, exported_by="test", signing_key=signing_key)  # type: ignore[arg-type]
    assert verification.intact
    return target


@pytest.fixture
def package(tmp_path: Path) -> Path:
    return export(tmp_path / "case.zip")  # type: ignore[return-value]


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    made = {}
    for name in ("ours", "theirs"):
        private, public = tmp_path / f"{name}.pem", tmp_path / f"{name}.pub.pem"
        result = invoke("keygen", "--private-key", str(private), "--public-key", str(public))
        assert result.exit_code == 0, result.output
        made[name], made[f"{name}.pub"] = private, public
    return made


def invoke(*arguments: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env={"CASES_TOKEN": "", "CASES_INDEX": "", "CASES_PUBLIC_KEY": "", "CASES_SIGNING_KEY": "",
                          **(env or {})}).invoke(cases, list(arguments))


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as package:
        return {name: package.read(name) for name in package.namelist()}


def written(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as package:
        for name, content in files.items():
            package.writestr(name, content)
    return path


def with_sums(files: dict[str, bytes]) -> dict[str, bytes]:
    """SHA256SUMS recomputed over what the package now holds, as anyone can."""
    others = {name: content for name, content in files.items() if name != CHECKSUMS}
    sums = "".join(f"{hashlib.sha256(c).hexdigest()}  {n}\n" for n, c in sorted(others.items())).encode()
    return {**others, CHECKSUMS: sums}


def rewritten(files: dict[str, bytes], change: Callable[[dict[str, Any]], None] | None = None) -> dict[str, bytes]:
    """A careful forger's package: the manifest's file list and SHA256SUMS recomputed to match the files."""
    manifest = json.loads(files[MANIFEST])
    manifest["files"] = {name: {"sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}
                         for name, content in files.items() if name not in (MANIFEST, CHECKSUMS, SIGNATURE)}
    if change:
        change(manifest)
    return with_sums({**files, MANIFEST: json.dumps(manifest).encode()})


def check(path: Path, *options: str) -> Result:
    result = invoke("check-archive", str(path), *options)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exc_info
    return result


def test_an_exported_package_is_intact_and_says_its_signature_was_not_checked(package: Path) -> None:
    result = check(package)
    assert result.exit_code == 0, result.output
    assert f"intact — {DIARY_NUMBER}, 3 events, 2 aggregates" in result.output
    assert "signature: not checked (the package holds no signature" in result.output
    report = json.loads(check(package, "--json").output)
    assert report["intact"] is True and report["problems"] == [] and report["signature"] == "not checked"


def test_a_state_file_removed_with_its_checksum_line_is_named(package: Path, tmp_path: Path) -> None:
    files = members(package)
    del files[STATES]
    result = check(written(tmp_path / "cut.zip", with_sums(files)))
    assert result.exit_code == 1
    assert f"NOT INTACT {STATES}: listed in manifest.json but missing from the package" in result.output
    assert "not intact" in result.output and ": intact" not in result.output


def test_a_state_file_removed_from_the_manifest_too_is_named_by_the_aggregates(package: Path, tmp_path: Path) -> None:
    files = members(package)
    del files[STATES]
    result = check(written(tmp_path / "cut.zip", rewritten(files)))
    assert result.exit_code == 1
    assert f"{STATES}: the manifest's aggregates imply it, but its list of files does not hold it" in result.output


def test_a_member_the_manifest_does_not_list_is_reported(package: Path, tmp_path: Path) -> None:
    files = with_sums({**members(package), "events/initiatives/extra.jsonl": b"{}\n"})
    result = check(written(tmp_path / "extra.zip", files))
    assert result.exit_code == 1
    assert "events/initiatives/extra.jsonl: in the package but not listed in manifest.json" in result.output


def test_an_events_file_no_aggregate_implies_is_reported_even_when_listed(package: Path, tmp_path: Path) -> None:
    files = rewritten({**members(package), "events/initiatives/extra.jsonl": b""})
    result = check(written(tmp_path / "extra.zip", files))
    assert result.exit_code == 1
    assert "events/initiatives/extra.jsonl: listed in manifest.json, but none of its aggregates implies it" in result.output


def test_a_member_twice_in_the_zip_is_reported(package: Path, tmp_path: Path) -> None:
    files = members(package)
    path = written(tmp_path / "twice.zip", files)
    with zipfile.ZipFile(path, "a") as appended, pytest.warns(UserWarning, match="Duplicate name"):
        appended.writestr(STATES, b"[]")
    result = check(path)
    assert result.exit_code == 1 and f"{STATES}: in the zip more than once" in result.output


def without_aggregate_id(manifest: dict[str, Any]) -> None:
    del manifest["aggregates"][0]["aggregate_id"]


@pytest.mark.parametrize("change, reason", [
    (without_aggregate_id, "manifest.json: aggregates.0.aggregate_id: Missing data for required field."),
    (lambda m: m.update(aggregates="all of them"), "manifest.json: aggregates: Not a valid list."),
    (lambda m: m["aggregates"][1].update(version="1"), "manifest.json: aggregates.1.version: Not a valid integer."),
    (lambda m: m["files"]["timeline.txt"].update(sha256=None), "manifest.json: files.timeline.txt.value.sha256"),
    (lambda m: m.pop("diary_number"), "manifest.json: diary_number: Missing data for required field."),
    (lambda m: m.update(format="something/2"), "manifest.json: format: not regional-cases-archive/1"),
])
def test_a_malformed_manifest_is_not_intact_with_a_reason(
    package: Path, tmp_path: Path, change: Callable[[dict[str, Any]], None], reason: str
) -> None:
    result = check(written(tmp_path / "odd.zip", rewritten(members(package), change)))
    assert result.exit_code == 1, result.output
    assert reason in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("name, content, reason", [
    (MANIFEST, b"{not json", "manifest.json: not JSON"),
    (MANIFEST, b"[1, 2]", "manifest.json: not a JSON object"),
    (MANIFEST, b"[" * 200_000, "manifest.json: not JSON"),
    (EVENTS, b"[" * 200_000 + b"\n", f"{EVENTS}: line 1 is not JSON"),
    (STATES, b"[" * 200_000, f"{STATES}:"),
    ("timeline.json", b"[" * 200_000, "timeline.json:"),
    (EVENTS, b'{"aggregate_id": "x"\n', f"{EVENTS}: line 1 is not JSON"),
    (EVENTS, b'{"aggregate_id": "x"}\n', f"{EVENTS}: line 1: version: Missing data for required field."),
    (EVENTS, b'[1]\n', f"{EVENTS}: line 1 is not a JSON object"),
    (STATES, b'{"a": 1}', f"{STATES}: not a JSON list"),
    (STATES, b'[{"version": 1, "occurred_at": "2025-06-01T10:00:00", "state": {}}]',
     f"{STATES}: item 0: occurred_at: Not a valid aware datetime."),
    ("timeline.json", b'[{"source": "initiatives"}]', "timeline.json: item 0: type: Missing data for required field."),
    ("timeline.json", b'[{"source": "s", "type": "T", "aggregate_id": "a", "position": 1, "payload": '
                      b'{"diary_numbers": 7}, "occurred_at": "2025-06-01T10:00:00+00:00"}]',
     "timeline.json: its entries cannot be read as a timeline: TypeError"),
])
def test_malformed_content_with_consistent_checksums_is_not_intact_with_a_reason(
    package: Path, tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    files = {**members(package), name: content}
    result = check(written(tmp_path / "odd.zip", files if name == MANIFEST else rewritten(files)))
    assert result.exit_code == 1, result.output
    assert reason in result.output and "Traceback" not in result.output


def test_an_event_edited_with_every_checksum_recomputed_is_named_by_its_chain(package: Path, tmp_path: Path) -> None:
    files = members(package)
    files[EVENTS] = files[EVENTS].replace(b"Rut Registrator", b"Rut Regissorer")
    result = check(written(tmp_path / "forged.zip", rewritten(files)))
    assert result.exit_code == 1
    assert f"{EVENTS}: aggregate {CASE_ID} version 2" in result.output


def test_what_is_not_a_package_exits_1_and_what_cannot_be_read_exits_3(tmp_path: Path, package: Path) -> None:
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"PK\x03\x04 but not really a zip" * 10)
    result = check(garbage)
    assert result.exit_code == 1 and "not a readable zip archive" in result.output
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(package.read_bytes()[:-200])
    assert check(truncated).exit_code == 1

    missing = check(tmp_path / "no such package.zip")
    assert missing.exit_code == 3 and "cannot be read: No such file or directory" in missing.output
    assert check(tmp_path).exit_code == 3  # a directory
    timeline = invoke("timeline", DIARY_NUMBER, "--archive", str(tmp_path / "no such package.zip"))
    assert timeline.exit_code == 3


def test_oversize_members_and_too_many_members_are_refused_unread(package: Path, tmp_path: Path) -> None:
    content = package.read_bytes()
    assert check_package(content, limits=Limits()).problems == []
    biggest = max(len(c) for c in members(package).values())
    small = check_package(content, limits=Limits(member_bytes=biggest - 1))
    assert any("more than the limit" in p for p in small.problems) and not small.intact
    assert "more than the limit" in check_package(content, limits=Limits(total_bytes=1000)).problems[0]
    assert "more than the limit of 3" in check_package(content, limits=Limits(members=3)).problems[0]
    assert "larger than the limit" in read_archive(package, limits=Limits(package_bytes=100)).problems[0]


def test_a_zip_bomb_is_not_intact_without_being_inflated(package: Path, tmp_path: Path) -> None:
    files = members(package)
    bomb = tmp_path / "bomb.zip"
    written(bomb, files)
    with (zipfile.ZipFile(bomb, "a", compression=zipfile.ZIP_DEFLATED) as appended,
          appended.open("timeline.txt.huge", "w", force_zip64=True) as member):
        for _ in range(65):  # 65 MiB of zeros: about 65 kB compressed
            member.write(b"\0" * (1024 * 1024))
    assert bomb.stat().st_size < 1024 * 1024
    result = check(bomb)
    assert result.exit_code == 1
    assert "timeline.txt.huge: 68157440 bytes uncompressed, more than the limit of 67108864" in result.output


def test_a_member_whose_header_understates_its_size_is_not_read_past_it(package: Path, tmp_path: Path) -> None:
    content = bytearray(written(tmp_path / "lying.zip", members(package)).read_bytes())
    size = zipfile.ZipFile(io.BytesIO(bytes(content))).getinfo("timeline.txt").file_size
    header = central_directory_entry(content, b"timeline.txt")
    content[header + 24:header + 28] = (size - 10).to_bytes(4, "little")  # its uncompressed size
    problems = check_package(bytes(content)).problems
    assert any(p.startswith("timeline.txt: cannot be read from the zip") for p in problems), problems


def central_directory_entry(content: bytearray, name: bytes) -> int:
    start = content.find(b"PK\x01\x02")
    while start != -1:
        length = int.from_bytes(content[start + 28:start + 30], "little")
        if content[start + 46:start + 46 + length] == name:
            return start
        start = content.find(b"PK\x01\x02", start + 4)
    raise LookupError(name)


def test_damaged_bytes_anywhere_never_crash_the_check(package: Path) -> None:
    content = package.read_bytes()
    chance = random.Random(12)
    for _ in range(300):
        damaged = bytearray(content)
        for _ in range(chance.randint(1, 4)):
            damaged[chance.randrange(len(damaged))] = chance.randrange(256)
        check_package(bytes(damaged))  # problems or none, but never an exception
    for end in range(0, len(content), max(1, len(content) // 200)):
        assert not check_package(content[:end]).intact


def test_a_signed_package_verifies_with_its_public_key(keys: dict[str, Path], tmp_path: Path) -> None:
    assert stat.S_IMODE(keys["ours"].stat().st_mode) == 0o600
    package: Path = export(tmp_path / "signed.zip", read_private_key(keys["ours"]))  # type: ignore[assignment]
    assert SIGNATURE in members(package)
    result = check(package, "--public-key", str(keys["ours.pub"]))
    assert result.exit_code == 0, result.output
    assert "intact" in result.output and "signature: verified with the given public key" in result.output
    unchecked = check(package)
    assert unchecked.exit_code == 0 and "signature: not checked (the package holds a signature" in unchecked.output
    assert "openssl pkeyutl -verify" in members(package)["README.txt"].decode()

    other = check(package, "--public-key", str(keys["theirs.pub"]))
    assert other.exit_code == 1 and f"{SIGNATURE}: does not verify manifest.json" in other.output


def test_a_signature_made_by_another_key_or_over_another_manifest_or_none_fails(
    keys: dict[str, Path], tmp_path: Path
) -> None:
    package: Path = export(tmp_path / "signed.zip", read_private_key(keys["ours"]))  # type: ignore[assignment]
    files = members(package)
    public_key = ["--public-key", str(keys["ours.pub"])]

    resigned = {**files, SIGNATURE: read_private_key(keys["theirs"]).sign(files[MANIFEST])}
    result = check(written(tmp_path / "resigned.zip", with_sums(resigned)), *public_key)
    assert result.exit_code == 1 and f"{SIGNATURE}: does not verify" in result.output

    # rewritten as a whole: an event re-chained, the manifest's head, files and SHA256SUMS all consistent
    forged_records = chained(CASE_ID, [b'{"title":"Samverkan"}', b'{"by":"Rut Regissorer"}'])
    files_forged = {**files, EVENTS: b"".join(json.dumps(r.to_json()).encode() + b"\n" for r in forged_records)}

    def new_head(manifest: dict[str, Any]) -> None:
        manifest["aggregates"][0]["head"] = unseal(forged_records[-1].state)[2]
    forged = written(tmp_path / "forged.zip", rewritten(files_forged, new_head))
    assert check(forged).exit_code == 0  # without a key, a whole rewrite cannot be told from the original
    result = check(forged, *public_key)
    assert result.exit_code == 1 and f"{SIGNATURE}: does not verify" in result.output

    unsigned = {name: content for name, content in files.items() if name != SIGNATURE}
    result = check(written(tmp_path / "unsigned.zip", with_sums(unsigned)), *public_key)
    assert result.exit_code == 1 and f"{SIGNATURE}: missing" in result.output
    assert json.loads(check(tmp_path / "unsigned.zip", "--json", *public_key).output)["signature"] == "missing"


def test_keygen_never_overwrites_and_bad_key_files_are_usage_errors(keys: dict[str, Path], tmp_path: Path) -> None:
    before = keys["ours"].read_bytes()
    again = invoke("keygen", "--private-key", str(keys["ours"]), "--public-key", str(tmp_path / "new.pub.pem"))
    assert again.exit_code == 2 and "exists" in again.output and keys["ours"].read_bytes() == before
    package = export(tmp_path / "case.zip")
    wrong = invoke("check-archive", str(package), "--public-key", str(keys["ours"]))  # a private key
    assert wrong.exit_code == 2 and "not a PEM public key" in wrong.output
    wrong = invoke("export", DIARY_NUMBER, "-o", str(tmp_path / "x.zip"), "--signing-key", str(keys["ours.pub"]),
                   "--token", "t")
    assert wrong.exit_code == 2 and "not a PEM private key" in wrong.output


def test_version_comes_from_the_package_metadata() -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and result.output.strip() == f"cases, version {version('regional-cases')}"


def test_a_service_without_its_url_is_a_usage_error() -> None:
    result = invoke("timeline", DIARY_NUMBER, "--service", "initiatives", "--token", "t")
    assert result.exit_code == 2
    assert "'initiatives': expected NAME=URL" in result.output


def test_reading_services_needs_a_token_and_reading_a_package_does_not(package: Path) -> None:
    for command in (["timeline", DIARY_NUMBER], ["verify", DIARY_NUMBER], ["export", DIARY_NUMBER, "-o", "x.zip"]):
        result = invoke(*command)
        assert result.exit_code == 2 and "set CASES_TOKEN or pass --token" in result.output
    from_package = invoke("timeline", DIARY_NUMBER, "--json", "--archive", str(package))
    assert from_package.exit_code == 0, from_package.output
    assert [e["type"] for e in json.loads(from_package.output)][-1] == "Meeting.ItemDecided"


def test_reading_a_package_with_a_public_key_refuses_one_signed_by_another_or_unsigned(
        keys: dict[str, Path], tmp_path: Path, package: Path) -> None:
    signed: Path = export(tmp_path / "signed.zip", read_private_key(keys["ours"]))  # type: ignore[assignment]
    for command in ("timeline", "state"):
        read = invoke(command, DIARY_NUMBER, "--archive", str(signed), "--public-key", str(keys["ours.pub"]))
        assert read.exit_code == 0, read.output
        for wrong in (["--archive", str(signed), "--public-key", str(keys["theirs.pub"])],
                      ["--archive", str(package), "--public-key", str(keys["ours.pub"])]):
            refused = invoke(command, DIARY_NUMBER, *wrong)
            assert refused.exit_code == 1 and "is not intact" in refused.output, refused.output


def test_an_unreachable_service_exits_3() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    result = invoke("timeline", DIARY_NUMBER, f"--service=initiatives=http://127.0.0.1:{port}",
                    env={"CASES_TOKEN": "test-auditor"})
    assert result.exit_code == 3 and "could not be read" in result.output


# --- the files a case's events refer to ---------------------------------------------------------

MOTION = b"%PDF-1.7\n% the motion as the registrar received it\n%%EOF\n"
MOTION_SHA256 = hashlib.sha256(MOTION).hexdigest()
MOTION_FILE = f"files/{MOTION_SHA256}"


class StoredServiceWithFiles(StoredService):
    def __init__(self, name: str, aggregates: dict[str, list[bytes]], stored_files: dict[str, bytes]):
        super().__init__(name, aggregates)
        self.stored_files = stored_files
        self.read: list[str] = []

    def file(self, sha256: str) -> bytes:
        self.read.append(sha256)
        return self.stored_files[sha256]


def export_with_a_document(target: Path) -> tuple[Path, StoredServiceWithFiles]:
    reference = {"sha256": MOTION_SHA256, "size": len(MOTION), "media_type": "application/pdf",
                 "filename": "motion.pdf"}
    registered = json.dumps({"document_id": "d1", "title": "Motion", "file": reference}).encode()
    registered_again = json.dumps({"document_id": "d2", "title": "Kopia", "file": {**reference,
                                   "filename": "kopia.pdf"}}).encode()
    service = StoredServiceWithFiles("initiatives", {CASE_ID: [b'{"title":"Samverkan"}', registered,
                                                               registered_again]}, {MOTION_SHA256: MOTION})
    case = Case(DIARY_NUMBER, [envelope("initiatives", CASE_ID, 1, 1, "Initiative.Submitted")],
                [("initiatives", CASE_ID, "Initiative")])
    assert export_case({"initiatives": service}, case, target, exported_by="test").intact  # type: ignore[dict-item]
    return target, service


def test_every_file_the_events_refer_to_is_in_the_package_once_and_named_in_the_manifest(tmp_path: Path) -> None:
    package, service = export_with_a_document(tmp_path / "case.zip")
    files = members(package)
    assert files[MOTION_FILE] == MOTION and service.read == [MOTION_SHA256]  # read once for both documents
    manifest = json.loads(files[MANIFEST])
    assert manifest["files"][MOTION_FILE] == {"sha256": MOTION_SHA256, "bytes": len(MOTION)}
    assert manifest["documents"] == [{
        "file": MOTION_FILE, "sha256": MOTION_SHA256, "bytes": len(MOTION), "media_type": "application/pdf",
        "filenames": ["motion.pdf", "kopia.pdf"], "service": "initiatives", "aggregates": [CASE_ID]}]
    assert "files/" in files["README.txt"].decode()
    result = check(package)
    assert result.exit_code == 0, result.output


def test_a_file_changed_with_every_checksum_recomputed_is_named_by_the_hash_its_event_recorded(tmp_path: Path) -> None:
    package, _ = export_with_a_document(tmp_path / "case.zip")
    files = rewritten({**members(package), MOTION_FILE: MOTION.replace(b"motion", b"forged")})
    result = check(written(tmp_path / "forged.zip", files))
    assert result.exit_code == 1
    assert f"{MOTION_FILE}: its content's SHA-256 is not the one the events recorded" in result.output


def test_a_file_removed_from_the_package_and_its_manifest_is_named_by_the_event_that_refers_to_it(
        tmp_path: Path) -> None:
    package, _ = export_with_a_document(tmp_path / "case.zip")
    files = members(package)
    del files[MOTION_FILE]
    result = check(written(tmp_path / "cut.zip", rewritten(files)))
    assert result.exit_code == 1
    assert f"{MOTION_FILE}: an event of the case refers to it (motion.pdf), but it is not in the package" in result.output


def test_a_file_no_event_refers_to_is_reported_even_when_listed(package: Path, tmp_path: Path) -> None:
    files = rewritten({**members(package), MOTION_FILE: MOTION})
    result = check(written(tmp_path / "extra.zip", files))
    assert result.exit_code == 1
    assert f"{MOTION_FILE}: listed in manifest.json, but no event of the case refers to it" in result.output
