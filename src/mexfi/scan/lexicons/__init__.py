"""The name and place lists shipped with the scanner (see README.md for their sources)."""

from __future__ import annotations

from functools import cache
from importlib import resources

__all__ = ["fold", "load"]

_FOLD = str.maketrans(
    {
        "ə": "e",
        "ı": "i",
        "ö": "o",
        "ü": "u",
        "ğ": "g",
        "ş": "s",
        "ç": "c",
        "İ": "i",
        "Ə": "e",
        "Ö": "o",
        "Ü": "u",
        "Ğ": "g",
        "Ş": "s",
        "Ç": "c",
        "I": "i",
        "ё": "е",
        "Ё": "е",
    }
)


def fold(word: str) -> str:
    """Lower case with Azerbaijani letters folded to plain Latin (`Əliyev` → `eliyev`)."""
    return word.translate(_FOLD).lower()


@cache
def load(name: str) -> frozenset[str]:
    """The folded entries of `lexicons/<name>.txt`."""
    text = resources.files(__package__).joinpath(f"{name}.txt").read_text(encoding="utf-8")
    entries = set()
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            entries.add(fold(line))
    return frozenset(entries)
