"""The region's calendar: every "today" and every year a number is issued in, in Swedish time.

A container's clock runs in UTC; a case registered at 00:30 on 1 January in Stockholm
is registered in the new year there. The zone is `TIME_ZONE` (default Europe/Stockholm,
from tzdata), set from the service's configuration when it starts.
"""
from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

DEFAULT_TIME_ZONE = "Europe/Stockholm"


def zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"TIME_ZONE {name!r} is not a time zone (e.g. {DEFAULT_TIME_ZONE})") from error


_zone = zone_named(os.environ.get("TIME_ZONE") or DEFAULT_TIME_ZONE)


def use_time_zone(name: str | None) -> None:
    """The zone every later `today()` answers in; refuses a name that is not a zone."""
    global _zone
    _zone = zone_named(name or DEFAULT_TIME_ZONE)


def time_zone() -> ZoneInfo:
    return _zone


def today() -> date:
    return datetime.now(_zone).date()


def local_date(moment: datetime) -> date:
    """The day of an instant on the region's calendar (naive instants are taken as local)."""
    return (moment.astimezone(_zone) if moment.tzinfo else moment).date()


def local_year(moment: datetime) -> int:
    return local_date(moment).year


# The days a statutory time limit does not end on (lag (1930:173) om beräkning av lagstadgad tid): Sundays
# and other public holidays, Midsummer Eve, Christmas Eve and New Year's Eve; and Saturdays.
_NO_LAST_DAY = holidays.Sweden(categories=("public", "de_facto"))


def statutory_last_day(day: date) -> date:
    """The last day of a statutory time limit ending on `day`: moved on to the next weekday that is no
    holiday when it falls on a Saturday, Sunday, public holiday, Midsummer Eve, Christmas Eve or New Year's
    Eve (lag 1930:173, 2 §), as an appeal against a decision may come in that day (KL 13:5)."""
    while day.weekday() >= 5 or day in _NO_LAST_DAY:
        day += timedelta(days=1)
    return day
