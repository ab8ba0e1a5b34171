"""Checks run on pattern candidates after the single regex pass."""

from __future__ import annotations

import re

from mexfi.scan.cards import luhn_valid

__all__ = [
    "FIN_ALPHABET",
    "PHONE_PREFIXES",
    "fin_valid",
    "iban_valid",
    "ipv4_valid",
    "luhn_valid",
    "phone_valid",
]

#: Digits and Latin capitals without I and O (they read as 1 and 0).
FIN_ALPHABET = frozenset("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ")
#: Azerbaijani mobile operator codes and the Baku landline code.
PHONE_PREFIXES = frozenset({"10", "12", "50", "51", "55", "60", "70", "77", "99"})

_SEPARATORS = re.compile(r"[\s\-()+]")


def iban_valid(raw: str) -> bool:
    """An Azerbaijani IBAN: 28 characters, `AZ`, mod-97 check, 4-letter bank code."""
    iban = raw.replace(" ", "").upper()
    if len(iban) != 28 or not iban.startswith("AZ") or not iban[4:8].isalpha():
        return False
    if not iban[2:4].isdigit() or not iban.isalnum() or not iban.isascii():
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(char, 36)) for char in rearranged)
    return int(number) % 97 == 1


def fin_valid(raw: str) -> bool:
    """Seven characters of the FIN alphabet (case-insensitive)."""
    code = raw.upper()
    return len(code) == 7 and all(char in FIN_ALPHABET for char in code)


def phone_valid(raw: str) -> bool:
    """An Azerbaijani number: an operator or Baku code and seven digits, any writing."""
    digits = _SEPARATORS.sub("", raw)
    if digits.startswith("00994"):
        digits = digits[5:]
    elif digits.startswith("994"):
        digits = digits[3:]
    elif digits.startswith("0"):
        digits = digits[1:]
    return len(digits) == 9 and digits.isdigit() and digits[:2] in PHONE_PREFIXES


def ipv4_valid(raw: str) -> bool:
    """Four dotted octets 0–255 without leading zeros."""
    parts = raw.split(".")
    if len(parts) != 4:
        return False
    for part in parts:
        if not part.isdigit() or int(part) > 255 or (len(part) > 1 and part[0] == "0"):
            return False
    return True
