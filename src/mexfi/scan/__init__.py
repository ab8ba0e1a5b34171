"""PII discovery: recognizers for Azerbaijani, Russian and English text.

`scan_text(text)` returns `Entity(type, start, end, score)` spans of the twelve types of
the annotation guideline; `Scanner` holds the compiled recognizers for reuse across
threads; `evaluate` scores a scanner on labelled records; `redact` rewrites spans.
"""

from mexfi.scan.cards import CardHit, find_card_numbers, find_security_codes, luhn_valid
from mexfi.scan.engine import LANGUAGES, Scanner, default_scanner, scan_text
from mexfi.scan.entities import ENTITY_TYPES, Entity
from mexfi.scan.evaluate import Score, Scores, evaluate, score_spans

__all__ = [
    "ENTITY_TYPES",
    "LANGUAGES",
    "CardHit",
    "Entity",
    "Scanner",
    "Score",
    "Scores",
    "default_scanner",
    "evaluate",
    "find_card_numbers",
    "find_security_codes",
    "luhn_valid",
    "scan_text",
    "score_spans",
]
