"""marshmallow fields every service's schemas use, with the limits a store can keep."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any
from uuid import UUID

from marshmallow import ValidationError, fields, validate

EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)
EARLIEST_MOMENT = datetime(1900, 1, 1, tzinfo=timezone.utc)
LATEST_MOMENT = datetime(2999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)


class Text(fields.String):
    """A string that is real UTF-8 (no lone surrogates, which the event store cannot encode) and has
    no NUL character (which PostgreSQL cannot keep in a text column)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("Not valid UTF-8 text.") from None
        if "\x00" in text:
            raise ValidationError("Contains a NUL character.")
        return text


def text_field(max_length: int = 100_000, **kwargs: Any) -> Text:
    return Text(validate=validate.Length(min=1, max=max_length), **kwargs)


def day(**kwargs: Any) -> fields.Date:
    """A calendar date within the years a case can concern (1900–2999)."""
    return fields.Date(validate=validate.Range(min=EARLIEST_DAY, max=LATEST_DAY), **kwargs)


def past_day(**kwargs: Any) -> fields.Date:
    """A day something already happened on (a step recorded after the fact): 1900 to today, Swedish time."""
    return fields.Date(validate=[validate.Range(min=EARLIEST_DAY, max=LATEST_DAY), _not_after_today], **kwargs)


def _not_after_today(value: date) -> None:
    from shared import clock

    if value > clock.today():
        raise ValidationError(f"must not be after today ({clock.today()}): it is the day it happened")


def load_day(value: str) -> date:
    """A day given on a command line: what `day()` takes (ISO 8601, 1900–2999); ValueError naming why not."""
    try:
        return day().deserialize(value)
    except ValidationError as error:
        raise ValueError("; ".join(map(str, error.messages)) if isinstance(error.messages, list)
                         else str(error.messages)) from None


def one_of(enum: type) -> validate.OneOf:
    """A string field's validator: one of an Enum's values."""
    return validate.OneOf([member.value for member in enum])


def parse_uuid(value: Any, field: str) -> UUID:
    """An id passed over RPC, refused as the named field when it is not a UUID."""
    from shared.errors import InvalidRequest

    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidRequest.for_field(field, "not a UUID") from None
