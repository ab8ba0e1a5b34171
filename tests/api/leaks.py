"""Finding personal values in what a server logged: each generated phone in any common
formatting (digits only, +994…, 0 50 …, spaced, dashed), FIN, name and card number, and
the project's own scanner (`mexfi.scan`) over the text for PHONE, CARD and FIN entities."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx

from mexfi.scan import luhn_valid, scan_text

__all__ = ["LEAK_TYPES", "SERVER_LOGGERS", "Generated", "TrafficLog", "digits_pattern", "leaks"]

#: The scanner's entity types that must never be in a log.
LEAK_TYPES = ("PHONE", "CARD", "FIN")
_SEPARATORS = r"[\s\-().]*"


def digits_pattern(digits: str, prefix: str = "") -> re.Pattern[str]:
    """The digits in order with any separators between them (after an optional `prefix`
    pattern), not inside a longer number."""
    body = _SEPARATORS.join(re.escape(d) for d in digits)
    return re.compile(
        rf"(?<!\d)(?:{prefix})?{_SEPARATORS}{body}(?!\d)" if prefix else rf"(?<!\d){body}(?!\d)"
    )


def _national(phone: str) -> str:
    """An AZ number's 9 significant digits (+994 50 444 55 66 → 504445566)."""
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("994"):
        digits = digits[3:]
    return digits.lstrip("0")


@dataclass
class Generated:
    """The personal values a test sent, by kind."""

    phones: set[str] = field(default_factory=set)
    fins: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    cards: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.phones or self.fins or self.names or self.cards)

    def patterns(self) -> Iterable[tuple[str, re.Pattern[str]]]:
        for phone in sorted(self.phones):
            # Any formatting holds the 9 significant digits in order.
            yield f"phone {phone}", digits_pattern(_national(phone), r"\+?994|0")
        for card in sorted(self.cards):
            yield f"card {card}", digits_pattern(re.sub(r"\D", "", card))
        for fin in sorted(self.fins):
            yield (
                f"FIN {fin}",
                re.compile(rf"(?<![0-9A-Za-z]){re.escape(fin)}(?![0-9A-Za-z])", re.I),
            )
        for name in sorted(self.names):
            yield f"name {name}", re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.I)


def leaks(text: str, generated: Generated, *, scan: bool = True) -> list[str]:
    """What of `generated` is in `text` (named, never quoted in full), and the scanner's
    PHONE/CARD/FIN entities in it (by type and offset)."""
    found = [what for what, pattern in generated.patterns() if pattern.search(text)]
    if scan:
        for line_no, line in enumerate(text.splitlines(), 1):
            for entity in scan_text(line, types=LEAK_TYPES):
                found.append(
                    f"scanner: {entity.type} in line {line_no} at {entity.start}: "
                    f"{line[max(entity.start - 30, 0) : entity.start]!r}…"
                )
    return found


#: Server-side loggers (the client's own, httpx, logs what the client sent: not the server).
SERVER_LOGGERS = ("mexfi", "uvicorn", "starlette", "fastapi")
_PERSONAL_KEYS = re.compile(r"phone|name|fin$|card|account|iban", re.I)


class TrafficLog(logging.Handler):
    """For a test session: every record the server-side loggers emit (at debug level), and
    the personal values of every request body sent through a client it hooks."""

    def __init__(self, loggers: tuple[str, ...] = SERVER_LOGGERS) -> None:
        super().__init__(logging.DEBUG)
        self.loggers = loggers
        self.lines: list[str] = []
        self.generated = Generated()
        self._levels: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def install(self) -> None:
        for name in self.loggers:
            logger = logging.getLogger(name)
            self._levels[name] = logger.level
            logger.setLevel(logging.DEBUG)
            logger.addHandler(self)

    def remove(self) -> None:
        for name, level in self._levels.items():
            logging.getLogger(name).removeHandler(self)
            logging.getLogger(name).setLevel(level)

    def record_request(self, request: httpx.Request) -> None:
        """An httpx request hook: the personal values of its JSON body, by field name."""
        try:
            body = json.loads(request.content or b"null")
        except ValueError:
            return
        self._walk(body, "")

    def _walk(self, value: object, key: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                self._walk(v, str(k))
        elif isinstance(value, list):
            for v in value:
                self._walk(v, key)
        elif isinstance(value, str) and _PERSONAL_KEYS.search(key) and len(value) >= 4:
            digits = re.sub(r"\D", "", value)
            if "phone" in key.lower() and len(digits) >= 9:
                self.generated.phones.add(value)
            elif len(digits) >= 12 and luhn_valid(digits):
                self.generated.cards.add(value)
            elif key.lower() == "fin" and len(value) == 7:
                self.generated.fins.add(value)
            elif "name" in key.lower() and not digits:
                self.generated.names.add(value)

    def leaks(self) -> list[str]:
        return leaks("\n".join(self.lines), self.generated)
