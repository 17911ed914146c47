"""Auditors' tools against a running service on each store: tampering in the database is named,
a case's archive package round-trips and shows any change made to it."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from shared.chain import unseal
from shared.cli import main as cases
from tests.support.cases import drive, submit
from tests.support.services import Api, assert_problem
from tests.support.tampering import StoredRows


def run(api: Api, *arguments: str) -> Result:
    return CliRunner().invoke(cases, [*arguments, "--token", "test-auditor", f"--service=initiatives={api.base_url}"])


def closed_case(api: Api) -> dict[str, Any]:
    """Seed 000's case from submission to closure: nine events (versions 1..9)."""
    return drive(api, submit(api)["id"], "closure")


def test_each_kind_of_tampering_names_the_event(api: Api, config: dict[str, Any]) -> None:
    edited, deleted, swapped, untouched = (closed_case(api) for _ in range(4))
    for case in (edited, deleted, swapped, untouched):
        verified = run(api, "verify", case["diary_number"])
        assert verified.exit_code == 0 and "intact — 1 aggregates, 9 events verified" in verified.output

    rows = StoredRows(config, "initiatives")
    rows.edit(edited["id"], 2, b"Rut Registrator", b"Rut Regissorer")  # who registered it
    rows.delete(deleted["id"], 5)
    rows.swap(swapped["id"], 6, 7)

    for case, version, problem in ((edited, 2, "content, type or version was changed"),
                                   (deleted, 6, "version 5 is missing"),
                                   (swapped, 6, "does not link to the event before it")):
        result = run(api, "verify", case["diary_number"])
        assert result.exit_code == 1, result.output
        assert f"TAMPERED initiatives: aggregate {case['id']} version {version}" in result.output
        assert problem in result.output
    assert run(api, "verify", untouched["diary_number"]).exit_code == 0

    feed = [e for e in api.get("/events", params={"limit": 1000}).json()["events"] if e["aggregate_id"] == untouched["id"]]
    stored = api.get(f"/aggregates/{untouched['id']}/records").json()["records"]
    assert [e["chain"]["hash"] for e in feed] == [unseal(r["state"].encode())[2] for r in stored]  # subscribers see the links

    whole = run(api, "verify", "--whole-service", "initiatives", "--json")
    assert whole.exit_code == 1
    report = json.loads(whole.output)
    broken = {a["aggregate_id"]: a["problem"]["version"] for a in report["aggregates"] if not a["intact"]}
    assert broken == {edited["id"]: 2, deleted["id"]: 6, swapped["id"]: 6}


def test_an_exported_case_round_trips_and_changes_to_the_package_are_named(
    api: Api, config: dict[str, Any], tmp_path: Path
) -> None:
    case = closed_case(api)
    package = tmp_path / "case.zip"
    exported = run(api, "export", case["diary_number"], "--output", str(package))
    assert exported.exit_code == 0, exported.output

    checked = CliRunner().invoke(cases, ["check-archive", str(package)])
    assert checked.exit_code == 0 and "intact" in checked.output, checked.output
    live = json.loads(run(api, "timeline", case["diary_number"], "--json").output)
    archived = json.loads(CliRunner().invoke(cases, ["timeline", case["diary_number"], "--json",
                                                     "--archive", str(package)]).output)
    assert archived == live and len(live) == 9
    registered_at = live[1]["occurred_at"]
    live_then = json.loads(run(api, "state", case["diary_number"], "--json", "--as-of", registered_at).output)
    archived_then = json.loads(CliRunner().invoke(cases, ["state", case["diary_number"], "--json", "--as-of",
                                                          registered_at, "--archive", str(package)]).output)
    assert live_then[0]["state"] == archived_then[0]["state"]
    assert live_then[0]["state"]["state"] == "registered" and live_then[0]["version"] == 2
    with zipfile.ZipFile(package) as opened:
        names = set(opened.namelist())
    assert {"manifest.json", "SHA256SUMS", "README.txt", "timeline.txt",
            f"events/initiatives/{case['id']}.jsonl", f"states/initiatives/{case['id']}.json"} <= names

    # a file changed after export
    changed = rewrite(package, tmp_path / "changed.zip", "timeline.txt", lambda text: text.replace(b"Rut", b"Ruth"))
    failed = CliRunner().invoke(cases, ["check-archive", str(changed)])
    assert failed.exit_code == 1 and "timeline.txt: its SHA-256 does not match SHA256SUMS" in failed.output

    # an event changed, with every checksum recomputed to match: the chain still names it
    events = f"events/initiatives/{case['id']}.jsonl"
    forged = rewrite(package, tmp_path / "forged.zip", events,
                     lambda text: text.replace(b"Rut Registrator", b"Rut Regissorer"), recompute_checksums=True)
    failed = CliRunner().invoke(cases, ["check-archive", str(forged)])
    assert failed.exit_code == 1
    assert f"{events}: aggregate {case['id']} version 2" in failed.output

    # the store cut back after export: the live chain no longer reaches the archived head
    StoredRows(config, "initiatives").delete(case["id"], 9)
    assert run(api, "verify", case["diary_number"]).exit_code == 0  # a shorter chain is still a chain
    against = run(api, "verify", case["diary_number"], "--against", str(package))
    assert against.exit_code == 1 and "events 9..9 are gone" in against.output


def test_a_signed_export_verifies_and_a_rewritten_one_does_not(api: Api, tmp_path: Path) -> None:
    case = closed_case(api)
    keys = CliRunner().invoke(cases, ["keygen", "--private-key", str(tmp_path / "key.pem"),
                                      "--public-key", str(tmp_path / "key.pub.pem")])
    assert keys.exit_code == 0, keys.output
    package = tmp_path / "signed.zip"
    exported = run(api, "export", case["diary_number"], "-o", str(package), "--signing-key", str(tmp_path / "key.pem"))
    assert exported.exit_code == 0 and ", signed by key " in exported.output, exported.output
    public_key = ["--public-key", str(tmp_path / "key.pub.pem")]
    checked = CliRunner().invoke(cases, ["check-archive", str(package), *public_key])
    assert checked.exit_code == 0 and "signature: verified" in checked.output, checked.output

    events = f"events/initiatives/{case['id']}.jsonl"
    forged = rewrite(package, tmp_path / "forged.zip", events,
                     lambda text: text.replace(b"Rut Registrator", b"Rut Regissorer"), recompute_checksums=True)
    failed = CliRunner().invoke(cases, ["check-archive", str(forged), *public_key])
    assert failed.exit_code == 1 and "manifest.json.sig: does not verify manifest.json" in failed.output


def test_an_unreachable_service_and_a_missing_token_are_told_apart_from_tampering(api: Api, tmp_path: Path) -> None:
    case = closed_case(api)
    no_token = CliRunner(env={"CASES_TOKEN": ""}).invoke(
        cases, ["verify", case["diary_number"], f"--service=initiatives={api.base_url}"])
    assert no_token.exit_code == 2 and "set CASES_TOKEN or pass --token" in no_token.output
    refused = CliRunner().invoke(cases, ["verify", case["diary_number"], "--token", "test-auditor",
                                         "--service=initiatives=http://127.0.0.1:9"])
    assert refused.exit_code == 3 and "could not be read" in refused.output
    missing = CliRunner().invoke(cases, ["check-archive", str(tmp_path / "missing.zip")])
    assert missing.exit_code == 3


def rewrite(package: Path, target: Path, name: str, change: Any, recompute_checksums: bool = False) -> Path:
    """A copy of the package with one file changed (and, for a careful forger, its checksums too)."""
    import hashlib

    with zipfile.ZipFile(package) as source:
        files = {n: source.read(n) for n in source.namelist()}
    files[name] = change(files[name])
    if recompute_checksums:
        manifest = json.loads(files["manifest.json"])
        manifest["files"][name]["sha256"] = hashlib.sha256(files[name]).hexdigest()
        files["manifest.json"] = json.dumps(manifest).encode()
        files["SHA256SUMS"] = "".join(f"{hashlib.sha256(c).hexdigest()}  {n}\n"
                                      for n, c in sorted(files.items()) if n != "SHA256SUMS").encode()
    with zipfile.ZipFile(target, "w") as copy:
        for n, content in files.items():
            copy.writestr(n, content)
    return target


def test_the_audit_service_signs_the_packages_it_exports_with_its_key(
        api: Api, config: dict[str, Any], container_factory: Any, tmp_path: Path) -> None:
    """AUDIT_SIGNING_KEY: the package downloaded from the audit service verifies with its public key,
    and with another key it does not."""
    from services.audit.service import AuditService
    from tests.support.services import api_for, service_config

    case = closed_case(api)
    for name in ("audit", "other"):
        made = CliRunner().invoke(cases, ["keygen", "--private-key", str(tmp_path / f"{name}.pem"),
                                          "--public-key", str(tmp_path / f"{name}.pub.pem")])
        assert made.exit_code == 0, made.output
    audit_config = {**service_config(config["AMQP_URI"], {"PERSISTENCE": "sqlite", "DATA_DIR": str(tmp_path / "a")}),
                    "AUDIT_TOKEN": "test-auditor", "AUDIT_SOURCES": {"initiatives": api.base_url},
                    "AUDIT_SIGNING_KEY": (tmp_path / "audit.pem").read_text()}
    audit_container = container_factory(AuditService, audit_config)
    audit_container.start()
    downloaded = api_for(audit_config).get(f"/cases/{case['diary_number']}/archive")
    assert downloaded.status_code == 200, downloaded.text
    package = tmp_path / "from-the-service.zip"
    package.write_bytes(downloaded.content)

    checked = CliRunner().invoke(cases, ["check-archive", str(package), "--public-key", str(tmp_path / "audit.pub.pem")])
    assert checked.exit_code == 0 and "signature: verified" in checked.output, checked.output
    other = CliRunner().invoke(cases, ["check-archive", str(package), "--public-key", str(tmp_path / "other.pub.pem")])
    assert other.exit_code == 1 and "does not verify" in other.output, other.output
    # Who reads what: every role the timeline and the states (each service's history is theirs to read
    # too, and the web app's case page shows it); the verification and the package stay the auditor's.
    audit = api_for(audit_config)
    for role in ("registrar", "case_officer", "secretary", "strategist"):
        timeline = audit.get(f"/cases/{case['diary_number']}/timeline", role)
        assert timeline.status_code == 200 and timeline.json()["events"][0]["type"] == "Initiative.Submitted"
        assert audit.get(f"/cases/{case['diary_number']}/states", role).status_code == 200
        assert_problem(audit.get(f"/cases/{case['diary_number']}/verification", role), 403)
        assert_problem(audit.get(f"/cases/{case['diary_number']}/archive", role), 403)
