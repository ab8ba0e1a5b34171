"""Answer deadlines on the jurisdiction's working-day calendar (TX-11, BK-7.1).

Working days are Monday to Friday, less the public holidays of the `holidays`
package (for Azerbaijan: Novruz, Ramazan and Gurban bayramı, which move with the
lunar calendar, their "observed" days when a holiday falls on a rest day, and the
days off transferred by Cabinet decision), plus the weekend days the government
declares working days in exchange (`weekend_workdays`, e.g. Saturday 2025-06-21).

How "within N working days of receipt" is counted, here and everywhere in mexfi:

* the day of receipt is day 0 and never counts, whatever time the request came in
  and whether or not that day is a working day;
* day 1 is the first working day after the day of receipt, day N the N-th;
* the answer is due by the end of day N (23:59:59 local time of the jurisdiction,
  Asia/Baku for AZ); a request is overdue from the first instant after that.

So a request received on Wednesday 2025-03-19, the day before Novruz, with 7
working days: 20-28 March are holidays or weekend, 29-30 March are the weekend,
31 March is Ramazan bayramı; days 1-7 are 1-9 April, due 2025-04-09 23:59:59+04:00.

A deadline suspended by a legal hold (a destruction request `on_hold`) and resumed:

* on suspension, the days left are those after the day of suspension up to and including
  the due day (working days, or calendar days under a calendar-day deadline): the day of
  suspension counts as used, and a request suspended on or after its due day has none left;
* on resumption the day of resumption is day 0 again, and the answer is due by the end of
  the (days left)-th day after it; resumed the day it was suspended, the due date is
  unchanged;
* a request already overdue when suspended keeps its due date: a hold never makes a late
  answer timely.

So a request due Wednesday 2026-12-09, suspended on Monday 2026-12-07 (2 working days
left: 8 and 9 December) and resumed on Friday 2026-12-11, is due Tuesday 2026-12-15.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any

from mexfi.clock import utc
from mexfi.errors import Invalid
from mexfi.policy import Deadline, DeadlineUnit

__all__ = [
    "WorkingCalendar",
    "days_left",
    "due_at",
    "due_date",
    "local_zone",
    "resumed_due_at",
    "working_calendar",
]

#: The zone whose calendar day a request is received on, by jurisdiction.
_ZONES: dict[str, tuple[str, timedelta]] = {"AZ": ("Asia/Baku", timedelta(hours=4))}


def local_zone(jurisdiction: str) -> tzinfo:
    """The local time zone of a jurisdiction (UTC if unknown)."""
    name, offset = _ZONES.get(jurisdiction, ("UTC", timedelta(0)))
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception:  # no tz database on this machine: Azerbaijan keeps no summer time
        return timezone(offset, name)


class WorkingCalendar:
    """The working days of one country, from the `holidays` package."""

    def __init__(self, jurisdiction: str) -> None:
        import holidays

        try:
            self._holidays: Any = holidays.country_holidays(jurisdiction)
        except NotImplementedError:
            raise Invalid(
                f"no public-holiday calendar for jurisdiction {jurisdiction!r}",
                hint="the `holidays` package must know the country of the policy's deadline",
            ) from None
        self.jurisdiction = jurisdiction
        self.zone = local_zone(jurisdiction)

    def holiday_name(self, day: date) -> str | None:
        """The holiday's name if `day` is a public holiday or a day off, else None."""
        name = self._holidays.get(day)
        return str(name) if name is not None else None

    def is_working_day(self, day: date) -> bool:
        """Not a public holiday, and a weekday or a weekend day declared a working day."""
        if day in self._holidays:
            return False
        if day.weekday() < 5:
            return True
        # `holidays` populates a year lazily: touching `day` above has loaded it.
        workdays: Collection[date] = getattr(self._holidays, "weekend_workdays", ())
        return day in workdays

    def add_working_days(self, start: date, count: int) -> date:
        """The `count`-th working day after `start` (`start` itself never counts)."""
        if count < 0:
            raise Invalid("a deadline cannot be a negative number of days")
        day, found = start, 0
        while found < count:
            day += timedelta(days=1)
            if self.is_working_day(day):
                found += 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days lie after `start` up to and including `end`."""
        return sum(
            1 for n in range(1, (end - start).days + 1) if self.is_working_day(start + timedelta(n))
        )


@lru_cache(maxsize=16)
def working_calendar(jurisdiction: str) -> WorkingCalendar:
    """The (cached) working calendar of a jurisdiction."""
    return WorkingCalendar(jurisdiction)


def due_date(received_at: datetime, deadline: Deadline) -> date:
    """The local calendar day by whose end the answer is due."""
    calendar = working_calendar(deadline.jurisdiction)
    received_day = utc(received_at).astimezone(calendar.zone).date()
    if deadline.unit is DeadlineUnit.CALENDAR_DAYS:
        return received_day + timedelta(days=deadline.count)
    return calendar.add_working_days(received_day, deadline.count)


def due_at(received_at: datetime, deadline: Deadline) -> datetime:
    """The last instant (UTC) the answer is on time: the end of the due day, local time."""
    calendar = working_calendar(deadline.jurisdiction)
    day = due_date(received_at, deadline)
    end = datetime.combine(day, time(23, 59, 59), tzinfo=calendar.zone)
    return end.astimezone(UTC)


def days_left(due: datetime, suspended_at: datetime, deadline: Deadline) -> int:
    """The days of a deadline left when it is suspended at `suspended_at` (module docstring)."""
    calendar = working_calendar(deadline.jurisdiction)
    start = utc(suspended_at).astimezone(calendar.zone).date()
    end = utc(due).astimezone(calendar.zone).date()
    if end <= start:
        return 0
    if deadline.unit is DeadlineUnit.CALENDAR_DAYS:
        return (end - start).days
    return calendar.working_days_between(start, end)


def resumed_due_at(
    due: datetime, suspended_at: datetime, left: int, resumed_at: datetime, deadline: Deadline
) -> datetime:
    """The due instant (UTC) of a suspended deadline resumed at `resumed_at` with `left` days
    to go; a request overdue when suspended keeps `due` (module docstring)."""
    if utc(suspended_at) > utc(due):
        return utc(due)
    calendar = working_calendar(deadline.jurisdiction)
    start = utc(resumed_at).astimezone(calendar.zone).date()
    if deadline.unit is DeadlineUnit.CALENDAR_DAYS:
        day = start + timedelta(days=left)
    else:
        day = calendar.add_working_days(start, left)
    end = datetime.combine(day, time(23, 59, 59), tzinfo=calendar.zone)
    return end.astimezone(UTC)
