"""Options several commands share: the output format and times given on the command line."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

import typer

from mexfi.clock import Clock, SystemClock
from mexfi.errors import Invalid

__all__ = [
    "FUTURE_SLACK",
    "MAX_ARGUMENT_LENGTH",
    "ActorId",
    "AllowFuture",
    "OutputFormat",
    "check_arguments",
    "parse_time",
]

#: The longest command-line argument: a path (PATH_MAX is 4096) or a short text. Longer
#: values are data, and belong in a file the command reads.
MAX_ARGUMENT_LENGTH = 8192

#: How far ahead of the real clock a given time may be without `--allow-future`: clock skew
#: and time zones, not a typed 2062 for 2026 that would tier or destroy data with no undo.
FUTURE_SLACK = timedelta(days=1)
#: Years a given time may fall in: outside, retention periods and deadlines added to or taken
#: from it leave the calendar (year 1 to 9999), and the time is a typo anyway.
_YEARS = range(1970, 9000)

AllowFuture = Annotated[
    bool,
    typer.Option(
        "--allow-future",
        help="Accept a time more than a day ahead of the clock (a rehearsal; it changes data).",
    ),
]


#: Who acts, where a person acts: never defaulted (a default would record "cli" as the person
#: who destroyed data). Staff ids, never names: the services refuse personal data here.
ActorId = Annotated[
    str,
    typer.Option(
        "--actor",
        envvar="MEXFI_ACTOR",
        show_envvar=True,
        help="Who acts: your staff id (never a name). Or set MEXFI_ACTOR.",
    ),
]


class OutputFormat(StrEnum):
    """text for people, json for tools."""

    text = "text"
    json = "json"


def parse_time(
    value: str | None,
    option: str = "--now",
    *,
    allow_future: bool = False,
    clock: Clock | None = None,
) -> datetime | None:
    """An ISO 8601 time with a zone from option `option`; `Invalid` saying how to write one.

    With `allow_future=False` a time more than `FUTURE_SLACK` ahead of `clock` (the system
    clock by default) is refused, naming `--allow-future`.
    """
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
    if moment.year not in _YEARS:
        raise Invalid(
            f"{option} {value!r} is outside the years {_YEARS.start} to {_YEARS.stop - 1}",
            hint="check the year for a typo",
        )
    ahead = moment - (clock or SystemClock()).now()
    if not allow_future and ahead > FUTURE_SLACK:
        raise Invalid(
            f"{option} {value!r} is {ahead.days} days ahead of the clock; acting as of a future "
            "time changes data with no undo",
            hint="check the year for a typo; to rehearse a future date on purpose, add "
            "--allow-future",
        )
    return moment


def check_arguments(arguments: list[str]) -> None:
    """`Invalid` naming (not quoting) the first argument that is not UTF-8 text (Python
    carries such bytes as lone surrogates, which no database or file accepts) or is longer
    than `MAX_ARGUMENT_LENGTH`."""
    for position, argument in enumerate(arguments, start=1):
        if len(argument) > MAX_ARGUMENT_LENGTH:
            raise Invalid(
                f"argument {position} is {len(argument)} characters long; at most "
                f"{MAX_ARGUMENT_LENGTH} are accepted",
                hint="pass long values in a file",
            )
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            raise Invalid(
                f"argument {position} is not UTF-8 text",
                hint="check the terminal's encoding (LANG=C.UTF-8)",
            ) from None
