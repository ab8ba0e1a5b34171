"""Options several commands share: the output format and times given on the command line."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from mexfi.errors import Invalid

__all__ = ["OutputFormat", "parse_time"]


class OutputFormat(StrEnum):
    """text for people, json for tools."""

    text = "text"
    json = "json"


def parse_time(value: str | None, option: str = "--now") -> datetime | None:
    """An ISO 8601 time with a zone from option `option`; `Invalid` saying how to write one."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(
            f"{option} {value!r} is not an ISO 8601 time", hint="e.g. 2026-03-02T10:00:00+04:00"
        ) from None
    if moment.tzinfo is None:
        raise Invalid(f"{option} needs a timezone", hint="e.g. 2026-03-02T10:00:00+04:00 or ...Z")
    return moment
