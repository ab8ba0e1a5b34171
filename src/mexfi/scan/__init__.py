"""PII discovery: recognizers for Azerbaijani, Russian and English text.

`scan_text(text)` returns `Entity(type, start, end, score)` spans of the twelve types of
the annotation guideline; `Scanner` holds the compiled recognizers for reuse across
threads; `evaluate` scores a scanner on labelled records; `redact` rewrites spans.
"""

from mexfi.scan.bench import BenchResult, BenchRow, run_scan_bench
from mexfi.scan.cards import (
    CARD_SEPARATORS,
    CardHit,
    find_card_numbers,
    find_security_codes,
    luhn_valid,
)
from mexfi.scan.engine import LANGUAGES, Scanner, default_scanner, scan_text
from mexfi.scan.entities import ENTITY_TYPES, Entity
from mexfi.scan.evaluate import Score, Scores, evaluate, score_spans
from mexfi.scan.redact import Mode, Pseudonymizer, load_key, pseudonym, redact, redact_text
from mexfi.scan.screen import PersonalDataInText, refuse_personal_data
from mexfi.scan.spark import scan_directory
from mexfi.scan.tables import ColumnReport, TableReport, scan_table

__all__ = [
    "CARD_SEPARATORS",
    "ENTITY_TYPES",
    "LANGUAGES",
    "BenchResult",
    "BenchRow",
    "CardHit",
    "ColumnReport",
    "Entity",
    "Mode",
    "PersonalDataInText",
    "Pseudonymizer",
    "Scanner",
    "Score",
    "Scores",
    "TableReport",
    "default_scanner",
    "evaluate",
    "find_card_numbers",
    "find_security_codes",
    "load_key",
    "luhn_valid",
    "pseudonym",
    "redact",
    "redact_text",
    "refuse_personal_data",
    "run_scan_bench",
    "scan_directory",
    "scan_table",
    "scan_text",
    "score_spans",
]
