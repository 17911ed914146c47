"""A case as one archive package, readable and verifiable without the system.

A zip of plain files:

    README.txt                          what the files are and how to check them by hand
    manifest.json                       the case, when and from where, every aggregate's chain head,
                                        and every file's SHA-256
    timeline.json / timeline.txt        every service's events about the case, in time order
    events/<service>/<aggregate>.jsonl  each aggregate's events exactly as stored (hash chain included)
    states/<service>/<aggregate>.json   the aggregate's state after each of its events
    SHA256SUMS                          `sha256sum -c SHA256SUMS` checks every file, manifest included

`check_archive` re-verifies all of it: checksums, and each chain recomputed from
the stored events up to the head the manifest recorded.
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO, Mapping

from shared.audit import Case, ServiceClient, Verification
from shared.chain import Record, verify_chain
from shared.timeline import describe_entry

FORMAT = "regional-cases-archive/1"
CHECKSUMS = "SHA256SUMS"
MANIFEST = "manifest.json"
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the same case exported twice gives the same entries

README = """Archive package of case {diary_number}, exported {exported_at} by {exported_by}.

timeline.txt    every event about the case, from every service, in the order it happened
timeline.json   the same events as JSON envelopes (docs/events.md of the system describes them)
events/         each aggregate's events exactly as they were stored, one JSON object per line:
                position, aggregate_id, version, topic, state (the stored JSON text)
states/         each aggregate's state after each of its events
manifest.json   the case, the sources, each aggregate's chain head, each file's SHA-256

Checking by hand: `sha256sum -c SHA256SUMS` checks every file. Each stored event's JSON
ends with "__chain__":{{"previous":P,"hash":H}}; with C the JSON without that member
(its last "}}" kept), H = SHA-256(P + "\\n" + aggregate_id + "\\n" + version + "\\n" + topic
+ "\\n" + C), and P is the H of the aggregate's event before (64 zeros before the first).
The H of each aggregate's last event is its "head" in manifest.json.
"""


def export_case(clients: Mapping[str, ServiceClient], case: Case, target: Path | BinaryIO,
                exported_by: str) -> Verification:
    """Writes the package; returns the verification of the chains it holds (recorded in the
    manifest as found, broken or not: a package may be the evidence of tampering)."""
    exported_at = datetime.now(timezone.utc).isoformat()
    files: dict[str, bytes] = {
        "timeline.json": _json(case.timeline),
        "timeline.txt": "\n".join(
            [f"{case.diary_number}: {len(case.timeline)} events"] + [describe_entry(e) for e in case.timeline]
        ).encode("utf-8") + b"\n",
        "README.txt": README.format(diary_number=case.diary_number, exported_at=exported_at,
                                    exported_by=exported_by).encode("utf-8"),
    }
    verification = Verification([])
    aggregates = []
    for service, aggregate_id, aggregate_type in case.aggregates:
        client = clients[service]
        records = client.aggregate_records(aggregate_id)
        files[f"events/{service}/{aggregate_id}.jsonl"] = b"".join(
            _json(record.to_json(), indent=None) + b"\n" for record in records)
        files[f"states/{service}/{aggregate_id}.json"] = _json(client.aggregate_states(aggregate_id))
        report = verify_chain(aggregate_id, records)
        verification.reports.append((service, report))
        aggregates.append({"service": service, "type": aggregate_type, **report.to_json()})
    manifest = {
        "format": FORMAT,
        "diary_number": case.diary_number,
        "exported_at": exported_at,
        "exported_by": exported_by,
        "sources": {name: client.base_url for name, client in clients.items()},
        "aggregates": aggregates,
        "files": {name: {"sha256": _sha256(content), "bytes": len(content)} for name, content in sorted(files.items())},
    }
    files[MANIFEST] = _json(manifest)
    files[CHECKSUMS] = "".join(f"{_sha256(content)}  {name}\n" for name, content in sorted(files.items())).encode()
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as package:
        for name, content in sorted(files.items()):
            package.writestr(zipfile.ZipInfo(name, date_time=_FIXED_DATE), content)
    return verification


@dataclass
class Archive:
    """A package read back: its manifest, timeline and states, and what checking it found."""

    manifest: dict[str, Any]
    files: dict[str, bytes]
    problems: list[str] = field(default_factory=list)

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


def read_archive(path: Path) -> Archive:
    """Reads a package and checks it: every checksum, every file listed, every chain up to its recorded head."""
    try:
        with zipfile.ZipFile(path) as package:
            files = {name: package.read(name) for name in package.namelist()}
    except (OSError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path} is not a readable archive package: {error}") from None
    problems = _checksum_problems(files)
    try:
        manifest = json.loads(files[MANIFEST])
    except (KeyError, ValueError) as error:
        return Archive({}, files, problems + [f"{MANIFEST} is missing or unreadable: {error}"])
    archive = Archive(manifest, files, problems)
    for name, entry in sorted(manifest.get("files", {}).items()):
        if name in files and _sha256(files[name]) != entry.get("sha256"):
            archive.problems.append(f"{name}: its SHA-256 does not match {MANIFEST}")
    for aggregate in manifest.get("aggregates", []):
        name = f"events/{aggregate['service']}/{aggregate['aggregate_id']}.jsonl"
        if name not in files:
            archive.problems.append(f"{name}: missing")
            continue
        records = [Record.from_json(json.loads(line)) for line in files[name].splitlines() if line.strip()]
        report = verify_chain(aggregate["aggregate_id"], records)
        if report.problem is not None:
            archive.problems.append(f"{name}: {report.problem}")
        elif (report.version, report.head) != (aggregate["version"], aggregate["head"]):
            archive.problems.append(f"{name}: its chain ends at version {report.version}, the manifest recorded "
                                    f"version {aggregate['version']} with another head")
    return archive


def _checksum_problems(files: Mapping[str, bytes]) -> list[str]:
    if CHECKSUMS not in files:
        return [f"{CHECKSUMS} is missing"]
    listed = {}
    for line in files[CHECKSUMS].decode("utf-8", "replace").splitlines():
        checksum, _, name = line.partition("  ")
        listed[name] = checksum
    problems = [f"{name}: not in {CHECKSUMS}" for name in sorted(files) if name != CHECKSUMS and name not in listed]
    for name, checksum in sorted(listed.items()):
        if name not in files:
            problems.append(f"{name}: listed in {CHECKSUMS} but missing")
        elif _sha256(files[name]) != checksum:
            problems.append(f"{name}: its SHA-256 does not match {CHECKSUMS} (changed after export)")
    return problems


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _json(value: Any, indent: int | None = 2) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=indent).encode("utf-8")
