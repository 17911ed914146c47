"""Cases brought in from an older diary (docs/import.md): the file's layout, read into records, and each
record's steps as the Initiative's own commands.

The layout is one case per record with its steps and their dates, as JSON (`{"records": [...]}`) or CSV
(one row per step, the case's columns repeated on each row). Every step is a command of the aggregate, so
the domain's rules check the order; the step's date becomes the event's business date.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

from marshmallow import Schema, ValidationError, fields, validate

from services.initiatives.domain import Kind, Outcome
from services.initiatives.schemas import DraftAnswer, Preparer, Recipient, Submitter
from shared.errors import InvalidRequest
from shared.fields import day, text_field

MAX_RECORDS = 1000


@dataclass(frozen=True)
class Step:
    command: str                             # the Initiative's command
    arguments: Callable[[dict[str, Any]], dict[str, Any]]  # the step's fields → the command's arguments
    dated: bool                              # whether the event carries the step's date in its payload


# Each step of the layout: the aggregate's own command, and how the step's fields become its arguments.
STEPS: dict[str, Step] = {
    "registered": Step("register", lambda s: {"registered_on": s["on"]}, True),
    "referred": Step("refer_for_preparation", lambda s: {
        "preparers": s.get("preparers") or [], "due_date": s.get("due_date"), "referred_on": s["on"],
        "preparing_bodies": s.get("preparing_bodies") or []}, True),
    "answer_drafted": Step("draft_answer", lambda s: {"answer": {
        key: value for key, value in (s.get("answer") or {}).items() if key != "drafted_on"}}, False),
    "scheduled": Step("schedule_for_decision", lambda s: {
        "body": s.get("body"), "meeting": s.get("meeting"), "meeting_date": s["on"]}, True),
    "decided": Step("record_decision", lambda s: {
        "outcome": s.get("outcome"), "paragraph": s.get("paragraph"), "text": s.get("text"),
        "decided_on": s["on"], "proposal_to": s.get("proposal_to"), "body": s.get("body")}, True),
    "finalised": Step("finalise", lambda s: {"minutes_adjusted_on": s["on"]}, True),
    "dispatched": Step("dispatch", lambda s: {"recipients": s.get("recipients") or [], "dispatched_on": s["on"]},
                       True),
    "closed": Step("close", lambda s: {"closed_on": s["on"]}, True),
    "withdrawn": Step("withdraw", lambda s: {"reason": s.get("reason"), "withdrawn_on": s["on"]}, True),
}
# The fields a step must have (beyond `step` and `on`).
REQUIRED = {"referred": ("preparers",), "answer_drafted": ("answer",), "scheduled": ("body", "meeting"),
            "decided": ("outcome", "text"), "dispatched": ("recipients",), "withdrawn": ("reason",)}


class StepName(fields.String):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        name = super()._deserialize(value, attr, data, **kwargs)
        if name not in STEPS:
            raise ValidationError(f"unknown step {name!r}; one of {', '.join(STEPS)}")
        return name


class ImportStep(Schema):
    step = StepName(required=True)
    on = day(required=True)
    preparers = fields.List(fields.Nested(Preparer), validate=validate.Length(min=1, max=50))
    due_date = day(load_default=None)
    preparing_bodies = fields.List(text_field(200), validate=validate.Length(max=5))
    answer = fields.Nested(DraftAnswer)
    body = text_field(200)
    meeting = text_field(500)
    outcome = fields.String(validate=validate.OneOf([o.value for o in Outcome]))
    paragraph = text_field(50, load_default=None)
    proposal_to = text_field(200, metadata={"description": "decided: a preparing body's proposal to the body that "
                                                           "decides next (the council's two levels)"})
    text = text_field()
    recipients = fields.List(fields.Nested(Recipient), validate=validate.Length(min=1, max=500))
    reason = text_field(2_000)


class ImportRecord(Schema):
    diary_number = text_field(100, required=True)
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in Kind]))
    title = text_field(500, required=True)
    text = text_field(required=True)
    proposal_clauses = fields.List(text_field(5_000), load_default=list)
    submitters = fields.List(fields.Nested(Submitter), required=True, validate=validate.Length(min=1, max=100))
    submitted_on = day(required=True)
    addressed_to = text_field(200, required=True)
    steps = fields.List(fields.Nested(ImportStep), required=True, validate=validate.Length(min=1, max=100))


class ImportFile(Schema):
    source = text_field(5_000, data_key="_source", load_default=None,
                        metadata={"description": "where the file's records come from (kept with no case)"})
    records = fields.List(fields.Nested(ImportRecord), required=True,
                          validate=validate.Length(min=1, max=MAX_RECORDS))


def read_records(raw: bytes, media_type: str) -> list[dict[str, Any]]:
    """The file's records, each checked against the layout; a 400 naming `records.N.…` for anything wrong."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidRequest.for_field("body", "not UTF-8") from None
    if not text.strip():
        raise InvalidRequest.for_field("body", "the file is empty")
    if media_type == "text/csv":
        data = {"records": records_from_csv(text)}
    else:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as error:
            raise InvalidRequest.for_field("body", f"not valid JSON: {error}") from None
        if not isinstance(data, dict):
            raise InvalidRequest.for_field("body", 'expected {"records": [...]}')
    try:
        records = ImportFile().load(data)["records"]
    except ValidationError as error:
        raise InvalidRequest.from_marshmallow(error.messages) from None
    errors = []
    for number, record in enumerate(records):
        for index, step in enumerate(record["steps"]):
            errors += [{"field": f"records.{number}.steps.{index}.{name}", "message": f"required for {step['step']}"}
                       for name in REQUIRED.get(step["step"], ()) if step.get(name) in (None, [])]
    if errors:
        raise InvalidRequest(errors)
    return records


# CSV: one row per step. The case's columns repeat on each row of its steps; list columns hold items
# separated by " | ", a person as "name, title" (preparers, recipients) or "name (party)" (submitters).
CASE_COLUMNS = ("diary_number", "kind", "title", "text", "proposal_clauses", "submitters", "submitted_on",
                "addressed_to")
STEP_COLUMNS = ("step", "on", "preparers", "due_date", "preparing_bodies", "body", "meeting", "outcome",
                "paragraph", "proposal_to", "decision_text", "answer_summary", "answer_proposed_outcome", "answer_proposal",
                "recipients", "reason")


def records_from_csv(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    try:
        return _records_from_csv(reader)
    except csv.Error as error:  # a field over the csv module's limit, a stray quote, a NUL
        raise InvalidRequest.for_field("body", f"not readable as CSV at line {reader.line_num}: {error}") from None


def _records_from_csv(reader: csv.DictReader) -> list[dict[str, Any]]:
    unknown = sorted(set(reader.fieldnames or ()) - set(CASE_COLUMNS) - set(STEP_COLUMNS))
    if unknown:
        raise InvalidRequest.for_field("body", f"unknown columns: {', '.join(unknown)}")
    records: dict[str, dict[str, Any]] = {}
    for row in reader:
        row = {key: (value or "").strip() for key, value in row.items() if key is not None}
        record = records.setdefault(row.get("diary_number", ""), {
            "diary_number": row.get("diary_number"), "kind": row.get("kind"), "title": row.get("title"),
            "text": row.get("text"), "proposal_clauses": _items(row.get("proposal_clauses")),
            "submitters": [_person(item, "party") for item in _items(row.get("submitters"))],
            "submitted_on": row.get("submitted_on"), "addressed_to": row.get("addressed_to"), "steps": []})
        step: dict[str, Any] = {"step": row.get("step"), "on": row.get("on")}
        if row.get("preparers"):
            step["preparers"] = [_person(item, "title") for item in _items(row["preparers"])]
        if row.get("recipients"):
            step["recipients"] = [_person(item, "title") for item in _items(row["recipients"])]
        if row.get("preparing_bodies"):
            step["preparing_bodies"] = _items(row["preparing_bodies"])
        for column in ("due_date", "body", "meeting", "outcome", "paragraph", "proposal_to", "reason"):
            if row.get(column):
                step[column] = row[column]
        if row.get("decision_text"):
            step["text"] = row["decision_text"]
        if row.get("answer_summary"):
            step["answer"] = {"summary": row["answer_summary"], "proposed_outcome": row.get("answer_proposed_outcome"),
                              "proposal": row.get("answer_proposal")}
        record["steps"].append(step)
    return list(records.values())


def _items(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split("|") if item.strip()]


def _person(item: str, second: str) -> dict[str, Any]:
    if second == "party" and item.endswith(")") and "(" in item:
        name, _, party = item[:-1].rpartition("(")
        return {"name": name.strip(), "party": party.strip()}
    name, _, rest = item.partition(",")
    return {"name": name.strip(), **({second: rest.strip()} if rest.strip() else {})}


def diary_number_pattern(template: str, diary: str) -> Any:
    """The configured diary's numbers as a regular expression with the groups year and serial (ASCII digits)."""
    import re

    pattern = re.escape(template)
    pattern = pattern.replace(re.escape("{diary}"), re.escape(diary))
    pattern = pattern.replace(re.escape("{year}"), r"(?P<year>[0-9]{4})")
    pattern = re.sub(r"\\\{serial[^}]*\}", r"(?P<serial>[0-9]+)", pattern)
    return re.compile(f"^{pattern}$", re.ASCII)


def diary_number_parts(template: str, diary: str, diary_number: str) -> tuple[int, int] | None:
    """(year, serial) of a number of the diary written exactly as the diary writes it (`RUN 2021-0057`, not
    `RUN 2021-057`: two spellings must never give one serial to two cases); None otherwise."""
    from services.initiatives.domain import format_diary_number

    match = diary_number_pattern(template, diary).match(diary_number)
    if match is None:
        return None
    year, serial = int(match["year"]), int(match["serial"])
    if serial < 1 or format_diary_number(template, diary=diary, year=year, serial=serial) != diary_number:
        return None
    return year, serial


def registered_on(record: dict[str, Any]) -> date | None:
    return next((step["on"] for step in record["steps"] if step["step"] == "registered"), None)
