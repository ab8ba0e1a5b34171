"""Payment-card data in any text: Luhn-valid card numbers and labelled security codes.

The vault refuses input carrying either (TX-14, TX-15); the scanner reports
them as CARD. Kept small and dependency-free because it runs on every write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CARD_SEPARATORS", "CardHit", "find_card_numbers", "find_security_codes", "luhn_valid"]

#: What people put between the digit groups of a card number: spaces (also no-break and
#: thin), dots, hyphens and Unicode dashes, alone or mixed.
CARD_SEPARATORS = r"[ \u00a0\u2009\u202f.\-\u2010-\u2015]"
# 13 to 19 digits, grouped by up to three separators ("4169 - 7380"); not glued to digits.
_CARD_RE = re.compile(rf"(?<![\d])(?:\d{CARD_SEPARATORS}{{0,3}}){{12,18}}\d(?![\d])")
_SEPARATOR_RE = re.compile(CARD_SEPARATORS)

# A security code after its label, in en, az (with and without its letters) and ru.
_CVV_RE = re.compile(
    r"(?i)\b(?:cvv2?|cvc2?|cid|security\s+code|card\s+code|"
    r"t[əe]hl[üu]k[əe]sizlik\s+kodu|qoruyucu\s+kod(?:u)?|"
    r"код\s+безопасности|код\s+cvv2?|cvv-код|свв)\b\s*[:=\-–—]?\s*(?:is\s+|kodu\s+)?(\d{3,4})(?!\d)"
)


@dataclass(frozen=True)
class CardHit:
    kind: str  # "card_number" or "security_code"
    start: int
    end: int


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check over a string of digits."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def find_card_numbers(text: str) -> list[CardHit]:
    """Spans of Luhn-valid 13–19 digit numbers (grouped or not) in `text`."""
    hits = []
    for match in _CARD_RE.finditer(text):
        raw = match.group(0)
        digits = _SEPARATOR_RE.sub("", raw)
        if 13 <= len(digits) <= 19 and luhn_valid(digits) and len(set(digits)) > 1:
            hits.append(CardHit("card_number", match.start(), match.end()))
    return hits


def find_security_codes(text: str) -> list[CardHit]:
    """Spans of security codes that follow a label such as `CVV`, `qoruyucu kod`, `код CVV`."""
    return [CardHit("security_code", m.start(1), m.end(1)) for m in _CVV_RE.finditer(text)]
