"""The labelled development set: generated tuning and held-out parts, and hand-written sentences.

Records are `{"id", "lang", "text", "entities": [{"type", "start", "end"}]}`. Generation is
deterministic (seeded), so the set needs no data files beyond `hand.txt`;
`python -m mexfi.scan.devset OUT_DIR` writes it as JSONL for inspection.
"""

from __future__ import annotations

import random
import re
from importlib import resources
from typing import Any

from mexfi.scan.devset.templates import TEMPLATES
from mexfi.scan.devset.values import VALUES

__all__ = ["SPLITS", "Record", "generate", "hand_written", "load", "parse_markup"]

Record = dict[str, Any]
SPLITS = ("tune", "heldout", "hand")

_PLACEHOLDER = re.compile(r"\{([A-Z_]+)\}")
_MARKUP = re.compile(r"\[\[([A-Z_]+):(.+?)\]\]")


def generate(split: str, *, n: int = 600, seed: int = 6) -> list[Record]:
    """`n` records of the generated `split` ("tune" or "heldout")."""
    rng = random.Random(f"{split}-{seed}")
    records: list[Record] = []
    langs = ["az", "az", "ru", "en"]
    for index in range(n):
        lang = langs[index % len(langs)]
        template = rng.choice(TEMPLATES[split][lang])
        text_parts: list[str] = []
        entities: list[dict[str, Any]] = []
        cursor = 0
        length = 0
        for match in _PLACEHOLDER.finditer(template):
            literal = template[cursor : match.start()]
            text_parts.append(literal)
            length += len(literal)
            kind, make = VALUES[match.group(1)]
            value = make(rng, split)
            if kind is not None:
                entities.append({"type": kind, "start": length, "end": length + len(value)})
            text_parts.append(value)
            length += len(value)
            cursor = match.end()
        text_parts.append(template[cursor:])
        records.append(
            {
                "id": f"{split}-{index:04d}",
                "lang": lang,
                "text": "".join(text_parts),
                "entities": entities,
            }
        )
    return records


def parse_markup(line: str) -> tuple[str, list[dict[str, Any]]]:
    """Text and entities of a line annotated as `[[TYPE:value]]`."""
    parts: list[str] = []
    entities: list[dict[str, Any]] = []
    cursor = 0
    length = 0
    for match in _MARKUP.finditer(line):
        literal = line[cursor : match.start()]
        parts.append(literal)
        length += len(literal)
        value = match.group(2)
        entities.append({"type": match.group(1), "start": length, "end": length + len(value)})
        parts.append(value)
        length += len(value)
        cursor = match.end()
    parts.append(line[cursor:])
    return "".join(parts), entities


def hand_written() -> list[Record]:
    """The hand-written held-out sentences of `hand.txt` (`lang<TAB>annotated text`)."""
    text = resources.files(__package__).joinpath("hand.txt").read_text(encoding="utf-8")
    records: list[Record] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        lang, _, annotated = line.partition("\t")
        plain, entities = parse_markup(annotated)
        records.append(
            {"id": f"hand-{number:04d}", "lang": lang, "text": plain, "entities": entities}
        )
    return records


def load(split: str) -> list[Record]:
    """The records of `split`: "tune", "heldout" (generated) or "hand"."""
    if split == "hand":
        return hand_written()
    if split in ("tune", "heldout"):
        return generate(split)
    raise ValueError(f"unknown split {split!r}; choose among {', '.join(SPLITS)}")
