"""Importing cases from an older diary (docs/import.md), and reading them as recorded and as in effect."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.cases import submit
from tests.support.services import Api, assert_problem

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
JSON_FILE = (EXAMPLES / "import-motion-2021.json").read_bytes()
CSV_FILE = (EXAMPLES / "import-motion-2021.csv").read_bytes()


def post_import(api: Api, raw: bytes, media_type: str = "application/json", filename: str = "diary.json") -> Any:
    return api.request("POST", "/imports", "registrar", params={"filename": filename}, data=raw,
                       headers={"Content-Type": media_type})


def log_position(api: Api) -> int:
    return api.get("/health").json()["log_position"]


def test_an_older_case_is_imported_with_its_own_dates_once(api: Api) -> None:
    first = post_import(api, JSON_FILE)
    assert first.status_code == 201, first.text
    [line] = first.json()["records"]
    assert (line["diary_number"], line["outcome"], line["events"]) == ("RUN 2021-0057", "imported", 9)
    case = api.get(f"/initiatives/{line['id']}").json()
    assert (case["state"], case["registered_on"], case["dispatched_on"]) == ("closed", "2021-03-03", "2021-12-01")

    history = api.get(f"/initiatives/{line['id']}/history").json()
    assert history["basis"] == "recorded"
    assert [e["effective_on"] for e in history["events"]] == [
        "2021-03-01", "2021-03-03", "2021-03-05", "2021-09-20", "2021-11-23", "2021-11-23", "2021-11-30",
        "2021-12-01", "2021-12-01"]
    imported = history["events"][0]["imported"]
    assert imported["file"] == "diary.json" and imported["by"] and len(imported["sha256"]) == 64
    assert all(e["imported"] == imported for e in history["events"])

    in_effect = api.get(f"/initiatives/{line['id']}/history", params={"in_effect_on": "2021-11-23"}).json()
    assert (in_effect["basis"], in_effect["in_effect_on"]) == ("in_effect", "2021-11-23")
    assert in_effect["state"]["state"] == "decided" and len(in_effect["events"]) == 6
    recorded_then = api.get(f"/initiatives/{line['id']}/history", params={"as_of": "2021-11-23"})
    assert_problem(recorded_then, 400)  # recorded today: nothing of it existed then
    both = api.get(f"/initiatives/{line['id']}/history", params={"as_of": "3", "in_effect_on": "2021-11-23"})
    assert [e["field"] for e in assert_problem(both, 400)["errors"]] == ["in_effect_on"]

    head = log_position(api)
    again = post_import(api, JSON_FILE)
    assert again.status_code == 200, again.text
    assert [(r["outcome"], r["events"]) for r in again.json()["records"]] == [("unchanged", 0)]
    assert log_position(api) == head
    assert api.get(f"/initiatives/{line['id']}").json()["version"] == case["version"]

    listed = api.get("/initiatives", params={"diary_number": "RUN 2021-0057"}).json()["initiatives"]
    assert [c["id"] for c in listed] == [line["id"]]
    feed = api.get("/events", params={"limit": 100}).json()["events"]
    assert {e["imported"]["sha256"] for e in feed if e["aggregate_id"] == line["id"]} == {imported["sha256"]}

    other_file = json.loads(JSON_FILE)
    other_file["records"][0]["title"] += " (annan fil)"
    refused = assert_problem(post_import(api, json.dumps(other_file).encode()), 400)
    assert refused["errors"][0]["field"] == "records.0.diary_number"


def test_a_csv_file_imports_a_withdrawn_case(api: Api) -> None:
    response = post_import(api, CSV_FILE, "text/csv", "diary.csv")
    assert response.status_code == 201, response.text
    [line] = response.json()["records"]
    assert line["diary_number"] == "RUN 2021-0058"
    assert api.get(f"/initiatives/{line['id']}").json()["state"] == "withdrawn"


def test_a_bad_record_writes_nothing_and_is_named(api: Api) -> None:
    data = json.loads(JSON_FILE)
    good = {**data["records"][0], "diary_number": "RUN 2021-0060"}
    bad = json.loads(json.dumps(data["records"][0]))
    bad["diary_number"] = "RUN 2021-0061"
    bad["steps"][4], bad["steps"][3] = bad["steps"][3], bad["steps"][4]  # decided before it was scheduled
    head = log_position(api)
    problem = assert_problem(post_import(api, json.dumps({"records": [good, bad]}).encode()), 400)
    assert [e["field"] for e in problem["errors"]] == ["records.1.steps.3.step"]
    assert "decided" in problem["errors"][0]["message"]
    bad["steps"][3]["step"] = "decidd"
    problem = assert_problem(post_import(api, json.dumps({"records": [good, bad]}).encode()), 400)
    assert problem["errors"][0]["field"] == "records.1.steps.3.step"
    assert "unknown step 'decidd'" in problem["errors"][0]["message"]
    dated_back = json.loads(json.dumps(data["records"][0]))
    dated_back["diary_number"] = "RUN 2021-0061"
    dated_back["steps"][2]["on"] = "1999-01-01"  # before the case was registered
    problem = assert_problem(post_import(api, json.dumps({"records": [good, dated_back]}).encode()), 400)
    assert [e["field"] for e in problem["errors"]] == ["records.1.steps.2.on"]
    assert "is before the step before it" in problem["errors"][0]["message"]
    dated_back["steps"][2]["on"] = "3001-01-01"
    problem = assert_problem(post_import(api, json.dumps({"records": [good, dated_back]}).encode()), 400)
    assert [e["field"] for e in problem["errors"]] == ["records.1.steps.2.on"]
    assert_problem(post_import(api, JSON_FILE, filename="../diary.json"), 400)
    assert_problem(post_import(api, b"", filename="empty.json"), 400)
    assert log_position(api) == head


def test_the_diary_continues_after_the_highest_imported_serial(api: Api) -> None:
    data = json.loads(JSON_FILE)
    record = data["records"][0]
    record.update(diary_number="RUN 2024-0057", submitted_on="2024-02-01")
    record["steps"] = [{"step": "registered", "on": "2024-02-02"}]
    assert post_import(api, json.dumps(data).encode()).status_code == 201
    registered = api.command(f"/initiatives/{submit(api)['id']}/register", "registrar", {"registered_on": "2024-05-02"})
    assert registered["diary_number"] == "RUN 2024-0058"
    record.update(diary_number="RUN 2024-0040")
    data["records"][0] = record
    assert post_import(api, json.dumps(data).encode(), filename="earlier.json").status_code == 201
    registered = api.command(f"/initiatives/{submit(api)['id']}/register", "registrar", {"registered_on": "2024-05-03"})
    assert registered["diary_number"] == "RUN 2024-0059"  # a lower imported serial does not move it back


def test_cases_admin_import_posts_the_file_and_prints_each_case(api: Api, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from services.initiatives.admin_cli import main as cases_admin
    from tests.support.services import TEST_TOKENS

    data = json.loads(JSON_FILE)
    data["records"][0]["diary_number"] = "RUN 2021-0070"
    path = tmp_path / "gamla-diariet.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    runner = CliRunner(env={"CASES_ADMIN_TOKEN": TEST_TOKENS["registrar"]["token"]})
    done = runner.invoke(cases_admin, ["import", str(path), "--url", api.base_url])
    assert done.exit_code == 0, done.output
    assert "RUN 2021-0070: imported (9 events)" in done.output and "gamla-diariet.json (sha256 " in done.output
    again = runner.invoke(cases_admin, ["import", str(path), "--url", api.base_url])
    assert again.exit_code == 0 and "RUN 2021-0070: unchanged (0 events)" in again.output

    data["records"][0]["steps"][0]["step"] = "registrerad"
    path.write_text(json.dumps(data), encoding="utf-8")
    refused = runner.invoke(cases_admin, ["import", str(path), "--url", api.base_url])
    assert refused.exit_code == 1
    assert "records.0.steps.0.step: unknown step 'registrerad'" in refused.output and "nothing was imported" in refused.output
    unreachable = runner.invoke(cases_admin, ["import", str(path), "--url", "http://127.0.0.1:9"])
    assert unreachable.exit_code == 3 and "could not be reached" in unreachable.output


def two_level_record(diary_number: str) -> dict[str, Any]:
    """Seed 002's motion as the council prepared it: regionala utvecklingsnämnden proposes to regionstyrelsen,
    which proposes to regionfullmäktige, which decides."""
    record = json.loads(JSON_FILE)["records"][0]
    steps = record["steps"]
    steps[1]["preparing_bodies"] = ["Regionala utvecklingsnämnden", "Regionstyrelsen"]
    decision = {key: steps[4][key] for key in ("outcome", "text")}
    steps[3:5] = [
        {"step": "scheduled", "on": "2021-10-20", "body": "Regionala utvecklingsnämnden", "meeting": "RUN 2021-10-20"},
        {"step": "decided", "on": "2021-10-20", **decision, "paragraph": "§ 88", "proposal_to": "Regionstyrelsen",
         "body": "Regionala utvecklingsnämnden"},
        {"step": "scheduled", "on": "2021-11-02", "body": "Regionstyrelsen", "meeting": "RS 2021-11-02"},
        {"step": "decided", "on": "2021-11-02", **decision, "paragraph": "§ 201", "proposal_to": "Regionfullmäktige",
         "body": "Regionstyrelsen"},
        steps[3], steps[4]]
    return {**record, "diary_number": diary_number}


def test_a_motion_decided_in_two_levels_is_imported_and_a_level_skipped_is_named(api: Api) -> None:
    done = post_import(api, json.dumps({"records": [two_level_record("RUN 2021-0080")]}).encode())
    assert done.status_code == 201, done.text
    case = api.get(f"/initiatives/{done.json()['records'][0]['id']}").json()
    assert [p["proposal_to"] for p in case["proposals"]] == ["Regionstyrelsen", "Regionfullmäktige"]
    assert case["state"] == "closed"

    skipped = two_level_record("RUN 2021-0081")
    del skipped["steps"][5:7]  # regionstyrelsen never proposed
    head = log_position(api)
    problem = assert_problem(post_import(api, json.dumps({"records": [skipped]}).encode()), 400)
    assert [e["field"] for e in problem["errors"]] == ["records.0.steps.6.step"]
    assert "two-levels" in problem["errors"][0]["message"]
    assert log_position(api) == head


def test_diary_numbers_written_otherwise_than_the_diary_writes_them_are_refused(api: Api) -> None:
    head = log_position(api)
    record = json.loads(JSON_FILE)["records"][0]
    for written in ("RUN 2021-057", "RUN 2021-0000", "RUN \u0662\u0660\u0662\u0661-\u0660\u0660\u0665\u0669"):
        problem = assert_problem(post_import(api, json.dumps({"records": [{**record, "diary_number": written}]})
                                             .encode()), 400)
        assert [e["field"] for e in problem["errors"]] == ["records.0.diary_number"], written
    assert log_position(api) == head


def test_a_csv_field_over_the_csv_readers_limit_is_a_400_naming_the_line(api: Api) -> None:
    header = CSV_FILE.decode("utf-8").splitlines()[0]
    columns = header.split(",")
    row = ["x" * 200_000 if column == "text" else "" for column in columns]
    problem = assert_problem(post_import(api, (header + "\n" + ",".join(row) + "\n").encode(), "text/csv",
                                         "stor.csv"), 400)
    assert problem["errors"][0]["field"] == "body" and "line" in problem["errors"][0]["message"]
