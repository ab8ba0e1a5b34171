"""Due dates on the Azerbaijani working-day calendar (TX-11, BK-7.1)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mexfi.policy.schema import Deadline
from mexfi.requests import due_at, due_date, working_calendar

SEVEN = Deadline(count=7, unit="working_days", jurisdiction="AZ")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_holidays_of_2025_and_2026_as_the_holidays_package_has_them() -> None:
    az = working_calendar("AZ")
    days_off = [
        # Novruz 2025 (20-24 March) and its observed days; transferred days off 27-28 March.
        "2025-03-20", "2025-03-21", "2025-03-24", "2025-03-25", "2025-03-26",
        "2025-03-27", "2025-03-28",
        # Ramazan bayramı 2025 (Sunday 30 March, Monday 31 March).
        "2025-03-31",
        # Gurban bayramı 2025 (6-7 June) and its observed Monday.
        "2025-06-06", "2025-06-09",
        # Martyrs' Day (20 January 2025, a Monday).
        "2025-01-20",
        # 2026: Ramazan and Novruz together (20 March onwards), observed up to 30 March.
        "2026-03-20", "2026-03-23", "2026-03-24", "2026-03-25", "2026-03-26",
        "2026-03-27", "2026-03-30",
        # Gurban bayramı 2026 (27-28 May, observed 29 May).
        "2026-05-27", "2026-05-28", "2026-05-29",
    ]  # fmt: skip
    for day in days_off:
        assert not az.is_working_day(date.fromisoformat(day)), day
        assert az.holiday_name(date.fromisoformat(day)), day
    # Saturday 21 June 2025 was declared a working day in exchange for Friday 27 June.
    assert az.is_working_day(date(2025, 6, 21))
    assert not az.is_working_day(date(2025, 6, 27))
    # Ordinary days and ordinary weekends.
    assert az.is_working_day(date(2025, 4, 1))
    assert not az.is_working_day(date(2025, 4, 5))


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # The day before Novruz 2025: 20-31 March are holidays, weekends or Ramazan bayramı;
        # 1-9 April are working days 1-7 (checked by hand).
        ("2025-03-19T10:00:00+04:00", "2025-04-09"),
        # The day before Gurban bayramı 2025: 6, 9 June off; 16 June observed National
        # Liberation Day: days 1-7 are 10-13, 17, 18, 19 June.
        ("2025-06-05T10:00:00+04:00", "2025-06-19"),
        # Saturday 21 June 2025 is a working day; 26-27 June are off.
        ("2025-06-18T10:00:00+04:00", "2025-06-30"),
        # 2026: Ramazan and Novruz from 20 March, observed to 30 March.
        ("2026-03-19T10:00:00+04:00", "2026-04-08"),
        # 2026: Gurban bayramı 27-29 May.
        ("2026-05-26T10:00:00+04:00", "2026-06-09"),
        # A Friday before Martyrs' Day (Monday 20 January 2025).
        ("2025-01-10T10:00:00+04:00", "2025-01-22"),
        # Received on a Saturday: the day of receipt never counts.
        ("2025-02-15T10:00:00+04:00", "2025-02-25"),
        # Received during the holidays.
        ("2025-03-28T10:00:00+04:00", "2025-04-09"),
    ],
)
def test_due_dates_across_azerbaijani_holidays(received: str, due: str) -> None:
    assert due_date(_at(received), SEVEN) == date.fromisoformat(due)


def test_the_day_of_receipt_is_the_local_day_in_baku() -> None:
    # 23:00 in Baku on Thursday 9 January 2025: received on the 9th.
    assert due_date(_at("2025-01-09T19:00:00+00:00"), SEVEN) == date(2025, 1, 21)
    # 00:30 in Baku on Friday 10 January: received on the 10th, one working day later.
    assert due_date(_at("2025-01-09T20:30:00+00:00"), SEVEN) == date(2025, 1, 22)


def test_due_at_is_the_end_of_the_due_day_in_baku() -> None:
    assert due_at(_at("2025-03-19T10:00:00+04:00"), SEVEN) == datetime(
        2025, 4, 9, 19, 59, 59, tzinfo=UTC
    )


def test_calendar_days_are_counted_as_they_come() -> None:
    deadline = Deadline(count=10, unit="calendar_days", jurisdiction="AZ")
    assert due_date(_at("2025-03-19T10:00:00+04:00"), deadline) == date(2025, 3, 29)
