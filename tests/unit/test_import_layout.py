"""The import layout (docs/import.md): the example files read, and what is wrong is named by record and field."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.initiatives.importing import read_records
from shared.errors import InvalidRequest

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def refused(raw: bytes, media_type: str = "application/json") -> list[dict[str, str]]:
    with pytest.raises(InvalidRequest) as error:
        read_records(raw, media_type)
    return error.value.errors


def example() -> dict[str, Any]:
    return json.loads((EXAMPLES / "import-motion-2021.json").read_text("utf-8"))


def test_the_example_files_read() -> None:
    records = read_records((EXAMPLES / "import-motion-2021.json").read_bytes(), "application/json")
    assert [s["step"] for s in records[0]["steps"]][:3] == ["registered", "referred", "answer_drafted"]
    from_csv = read_records((EXAMPLES / "import-motion-2021.csv").read_bytes(), "text/csv")
    assert [(r["diary_number"], [s["step"] for s in r["steps"]]) for r in from_csv] == [
        ("RUN 2021-0058", ["registered", "referred", "withdrawn"])]
    assert from_csv[0]["submitters"] == [{"name": "Motionären (exempel)", "party": "C"}]
    assert from_csv[0]["steps"][1]["preparers"] == [{"name": "Handläggare (exempel)", "title": "regional utvecklingsdirektör"}]


def test_an_unknown_step_a_date_out_of_range_and_an_unknown_field_are_named_by_record_and_field() -> None:
    data = example()
    data["records"][0]["steps"][4]["step"] = "decidd"
    data["records"][0]["steps"][1]["on"] = "3021-03-05"
    data["records"][0]["steps"][2]["colour"] = "blue"
    fields = {e["field"]: e["message"] for e in refused(json.dumps(data).encode())}
    assert "unknown step 'decidd'" in fields["records.0.steps.4.step"]
    assert "records.0.steps.1.on" in fields and "records.0.steps.2.colour" in fields


def test_a_step_without_its_fields_and_an_empty_file_are_refused() -> None:
    data = example()
    del data["records"][0]["steps"][4]["outcome"]
    assert refused(json.dumps(data).encode())[0]["field"] == "records.0.steps.4.outcome"
    assert refused(b"  ")[0]["field"] == "body"
    assert refused(b"diary_number,colour\nRUN 2021-0001,blue\n", "text/csv")[0]["message"].startswith("unknown columns")


def test_a_diary_number_counts_only_written_exactly_as_the_diary_writes_it() -> None:
    from services.initiatives.importing import diary_number_parts

    standard, other = "{diary} {year}-{serial:04d}", "{diary} {serial}-{year}"
    assert diary_number_parts(standard, "RUN", "RUN 2021-0057") == (2021, 57)
    assert diary_number_parts(other, "RUN", "RUN 374-2021") == (2021, 374)
    for written in ("RUN 2021-057", "RUN 2021-00057", "RUN 2021-0000", "RS 2021-0057", "RUN 2021-0057 ",
                    "RUN \u0662\u0660\u0662\u0661-\u0660\u0660\u0665\u0667"):
        assert diary_number_parts(standard, "RUN", written) is None, written
    assert diary_number_parts(other, "RUN", "RUN 0374-2021") is None
