"""Dates are the region's: Swedish time, whatever zone the machine's clock runs in."""
from __future__ import annotations

from datetime import datetime, timezone

import time_machine

from shared import clock
from tests.support.cases import submit
from tests.support.services import Api

# 00:30 on 1 January 2028 in Stockholm is still 2027 in UTC (23:30 on 31 December).
NEW_YEARS_NIGHT = datetime(2027, 12, 31, 23, 30, tzinfo=timezone.utc)


def test_a_case_registered_at_half_past_midnight_on_new_years_day_gets_the_new_years_number(api: Api) -> None:
    initiative = submit(api)
    with time_machine.travel(NEW_YEARS_NIGHT, tick=True):
        registered = api.command(f"/initiatives/{initiative['id']}/register", "registrar", {})
    assert registered["diary_number"].startswith("RUN 2028-"), registered["diary_number"]
    assert registered["registered_on"] == "2028-01-01"


def test_the_zone_is_configurable_and_checked() -> None:
    try:
        with time_machine.travel(NEW_YEARS_NIGHT, tick=False):
            assert clock.today().isoformat() == "2028-01-01"
            clock.use_time_zone("UTC")
            assert clock.today().isoformat() == "2027-12-31"
            clock.use_time_zone("America/New_York")
            assert clock.today().isoformat() == "2027-12-31"
    finally:
        clock.use_time_zone(None)
    assert str(clock.time_zone()) == "Europe/Stockholm"
    for wrong in ("Europe/Stokholm", "../etc/passwd"):
        try:
            clock.use_time_zone(wrong)
        except ValueError as error:
            assert "TIME_ZONE" in str(error)
        else:
            raise AssertionError(f"{wrong} was taken as a time zone")


def test_a_meetings_day_and_paragraph_year_are_the_swedish_ones() -> None:
    starts = datetime(2027, 12, 31, 23, 30, tzinfo=timezone.utc)
    assert clock.local_year(starts) == 2028 and clock.local_date(starts).isoformat() == "2028-01-01"
    assert clock.local_year(datetime(2028, 6, 30, 22, 30, tzinfo=timezone.utc)) == 2028


