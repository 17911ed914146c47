"""Commands as forms: the fields a person fills in, and the JSON body the service is sent.

A form knows nothing of rules: the service validates, and its 400 names the fields (`errors`
of its problem+json) that the page shows beside them; a nested field ("submitters.1.party")
is shown beside its form field with its line number. Blank fields are left out, so the
service's defaults (today, Swedish time) apply. A field named "subject.kind" is sent nested
({"subject": {"kind": …}}); a field `in_path` names the item a command concerns (an agenda
item, a consultation of an agreement): it is part of the address, not of the body.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping
from urllib.parse import quote

from services.web.words import message
from shared import clock

# kinds: text, textarea, date, datetime, number, select, checkbox, lines (one string a line),
# rows (one object a line, its columns separated by ";"), file (a file chosen to upload: not part of the JSON
# body; the page uploads it first and names it in the body, see pages/cases.py)


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"
    required: bool = False
    hint: str = ""
    options: tuple[tuple[str, str], ...] = ()  # (value, label) for select
    columns: tuple[str, ...] = ()  # for rows: the object's keys in the order written
    in_path: bool = False  # part of the command's address, not of its body
    # rows: by column, a word typed (casefolded) → the value sent ("ja" → "yes", "parti" → true)
    values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def value_of(self, form: Mapping[str, str]) -> Any:
        """The field's part of the JSON body, or None to leave it out."""
        if self.kind == "file":
            return None
        raw = (form.get(self.name) or "").strip()
        if self.kind == "checkbox":
            return raw in ("on", "true", "1")
        if not raw:
            return None
        if self.kind == "datetime":
            return _in_region(raw)
        if self.kind == "number":  # a whole number; anything else is sent as typed, for the service to refuse
            return int(raw) if re.fullmatch(r"-?\d{1,9}", raw) else raw
        if self.kind == "lines":
            return [line.strip() for line in raw.splitlines() if line.strip()]
        if self.kind == "rows":
            return [self._row(line) for line in raw.splitlines() if line.strip()]
        return raw

    def _row(self, line: str) -> dict[str, Any]:
        parts = [part.strip() for part in line.split(";")]
        row = {column: (parts[i] or None) if i < len(parts) else None for i, column in enumerate(self.columns)}
        if len(parts) > len(self.columns):  # more than the columns: the rest belongs to the last one
            row[self.columns[-1]] = "; ".join(parts[len(self.columns) - 1:])
        for column, words in self.values.items():
            if isinstance(row.get(column), str):
                row[column] = words.get(row[column].casefold(), row[column])
        return {key: value for key, value in row.items() if value is not None}


@dataclass(frozen=True)
class CommandForm:
    """One command of a service: `command` is its name in the aggregate's `allowed_commands`."""

    command: str
    title: str
    service: str
    path: str  # formatted with the page's ids, e.g. "/initiatives/{id}/register"
    roles: tuple[str, ...]
    fields: tuple[Field, ...] = ()
    submit: str = "Spara"
    fixed: Mapping[str, Any] = field(default_factory=dict)  # sent as they are (an item's id)

    def body(self, form: Mapping[str, str]) -> dict[str, Any]:
        body = dict(self.fixed)
        for each in self.fields:
            value = None if each.in_path else each.value_of(form)
            if value is not None:
                *outer, name = each.name.split(".")
                place = body
                for key in outer:
                    place = place.setdefault(key, {})
                place[name] = value
        return body

    def address(self, ids: Mapping[str, Any], form: Mapping[str, str]) -> str:
        """The command's path: the page's ids, and the items its `in_path` fields name."""
        chosen = {each.name: quote((form.get(each.name) or "").strip(), safe="") for each in self.fields if each.in_path}
        return self.path.format(**ids, **chosen)

    def unchosen(self, form: Mapping[str, str]) -> dict[str, list[str]]:
        """The `in_path` fields left blank: without them the command has no address."""
        return {each.name: ["Måste fyllas i."] for each in self.fields
                if each.in_path and not (form.get(each.name) or "").strip()}

    @property
    def has_file(self) -> bool:
        """A form with a file is sent as multipart/form-data."""
        return any(each.kind == "file" for each in self.fields)

    def allowed_for(self, roles: Iterable[str]) -> bool:
        return bool(set(roles) & set(self.roles))



def _in_region(raw: str) -> str:
    """A datetime-local value is the region's wall-clock time: sent with that day's offset (+01:00 or
    +02:00); a value that is no time is sent as typed, for the service to refuse."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return raw
    return (moment if moment.tzinfo else moment.replace(tzinfo=clock.time_zone())).isoformat()


def field_errors(problem: Mapping[str, Any], form: CommandForm) -> tuple[dict[str, list[str]], list[str]]:
    """The service's field messages by form field, and those that belong to no field (shown on top)."""
    names = {each.name for each in form.fields}
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for error in problem.get("errors") or []:
        path = str(error.get("field", ""))
        text = message(str(error.get("message", "")))
        nested = [each.name for each in form.fields if each.name == path or each.name.startswith(path + ".")]
        owner = max((name for name in names if path.startswith(name + ".")), key=len, default=None)
        if nested:  # a nested field ("subject.reference"), or its object missing as a whole ("subject")
            by_field.setdefault(nested[0], []).append(text)
        elif owner:  # a line of a field ("submitters.1.party", "vote.ballots.3.member")
            line = path[len(owner) + 1:].split(".")[0]
            by_field.setdefault(owner, []).append(f"Rad {int(line) + 1}: {text}" if line.isdigit() else text)
        else:
            general.append(f"{path}: {text}" if path and path != "body" else text)
    if not problem.get("errors"):
        general.append(str(problem.get("detail") or problem.get("title") or ""))
    return by_field, general
