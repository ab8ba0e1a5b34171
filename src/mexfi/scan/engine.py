"""The scanner: one regex pass for every pattern type, validators, context, overlaps.

`Scanner` holds only immutable compiled state, so one instance serves many threads.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from functools import cache
from itertools import pairwise

from mexfi.errors import Invalid
from mexfi.scan.entities import ENTITY_TYPES, Entity
from mexfi.scan.lexicons import fold, load
from mexfi.scan.patterns import COMBINED, GROUP_TYPE, SHAPES, az_insensitive, build_combined
from mexfi.scan.person import find_persons
from mexfi.scan.validators import fin_valid, iban_valid, ipv4_valid, luhn_valid, phone_valid

__all__ = ["LANGUAGES", "Scanner", "default_scanner", "scan_text"]

LANGUAGES = frozenset({"az", "ru", "en"})

_SPECIFICITY = {kind: rank for rank, kind in enumerate(reversed(ENTITY_TYPES))}


def _cue(words: str) -> re.Pattern[str]:
    return re.compile(rf"(?i)(?<![\w])(?:{az_insensitive(words)})")


# Context words, az (with and without its letters), ru, en, looked for before a candidate.
_CUES: dict[str, re.Pattern[str]] = {
    "PHONE": _cue(
        r"telefon|tel\.?|nömrə|mobil|zəng|əlaqə|whatsapp|вотсап|телефон|тел\.|номер|звон|"
        r"моб|phone|call|mobile|number|contact"
    ),
    "FIN": _cue(r"fin|фин|pin|fin kod|şəxsiyyət|personal code|personal id"),
    "DRIVER_LICENSE": _cue(
        r"sürücülük|vəsiqə|vəsiqəsi|водительск|удостоверени|прав[аоу]?|в/у|driver|driving|"
        r"licen[cs]e|dl\b|permit"
    ),
    "PLATE": _cue(
        r"nömrə|nişan|maşın|avtomobil|avto|qeydiyyat|госномер|номер|машин|авто|plate|car|"
        r"vehicle|reg"
    ),
    "DATE_OF_BIRTH": _cue(
        r"doğum|doğulub|anadan|təvəllüd|d\.t\.|дата рождения|д\.р\.|род(?:ился|илась)|"
        r"рождени|date of birth|birth ?date|birthday|dob|d\.o\.b\.?|born"
    ),
    "IP_ADDRESS": _cue(r"ip|айпи|адрес|address|ünvan"),
}
_VERSION_CUE = _cue(r"v\.?|ver\.?|version|versiya|versiyası|версия|верс\.|build|app")
_DOB_AFTER = re.compile(
    r"(?i)\s*(?:-?c[iıuü]\s+)?(?:ild[əe]\s+)?(?:anadan|do[ğg]ul|t[əe]v[əe]ll[üu]d)"
    r"|\s*(?:г\.?\s*)?(?:р\.|рожд)"
)
_FIN_CUE_NEAR = _cue(r"fin|фин|fin kod|fin code|fin-kod|fin kodu")
_WINDOW = 40
_SENTENCE_END = re.compile(r"[.!?\n]\s")


@cache
def _street_words() -> frozenset[str]:
    return load("street_names") | load("first_az") | load("first_ru") | load("first_foreign")


class Scanner:
    """Compiled recognizers for a set of types; reusable and thread-safe."""

    def __init__(self, *, types: Collection[str] | None = None, min_score: float = 0.5) -> None:
        chosen = frozenset(ENTITY_TYPES if types is None else types)
        unknown = sorted(chosen - set(ENTITY_TYPES))
        if unknown:
            raise Invalid(
                f"unknown entity type(s): {', '.join(unknown)}",
                hint=f"choose among {', '.join(ENTITY_TYPES)}",
            )
        if not 0.0 <= min_score <= 1.0:
            raise Invalid("min_score must lie in [0, 1]")
        self.types = chosen
        self.min_score = min_score
        self._shapes = [
            (group, kind, re.compile(pattern)) for group, kind, pattern in SHAPES if kind in chosen
        ]
        self._combined = (
            COMBINED
            if len(self._shapes) == len(SHAPES)
            else build_combined([group for group, _, _ in self._shapes])
        )

    def scan(
        self, text: str, *, lang: str | None = None, types: Collection[str] | None = None
    ) -> list[Entity]:
        """Entities in `text`, sorted by start; `types` narrows this call's types.

        `lang` ("az", "ru", "en") is checked but every recognizer runs on every text:
        order comments and chats mix the three languages within one message.
        """
        if lang is not None and lang not in LANGUAGES:
            raise Invalid(f"unknown language {lang!r}", hint="use az, ru or en")
        wanted = self.types if types is None else self.types & frozenset(types)
        if types is not None:
            unknown = sorted(set(types) - set(ENTITY_TYPES))
            if unknown:
                raise Invalid(f"unknown entity type(s): {', '.join(unknown)}")
        found = list(self._pattern_entities(text, wanted))
        if "PERSON" in wanted:
            found.extend(
                Entity("PERSON", s, e, round(score, 3)) for s, e, score in find_persons(text)
            )
        return _resolve(found, self.min_score)

    def scan_many(self, texts: Iterable[str], *, lang: str | None = None) -> list[list[Entity]]:
        """`scan` over many texts."""
        return [self.scan(text, lang=lang) for text in texts]

    # -- the single pass -----------------------------------------------------------------
    def _pattern_entities(self, text: str, wanted: frozenset[str]) -> Iterable[Entity]:
        if not self._shapes:
            return
        pos = 0
        search = self._combined.search
        while True:
            match = search(text, pos)
            if match is None:
                return
            group = (match.lastgroup or "").partition("__")[0]
            entity = self._judge(text, group, match.start(), match.end(), wanted)
            if entity is None and group == "IBAN":
                # An IBAN-shaped string that fails mod-97 is one bad IBAN, not a card inside.
                pos = match.end()
                continue
            if entity is None:
                entity = self._retry(text, group, match.start(), wanted)
            if entity is None:
                pos = match.start() + 1
                continue
            yield entity
            pos = max(entity.end, match.start() + 1)

    def _retry(self, text: str, failed: str, start: int, wanted: frozenset[str]) -> Entity | None:
        """Another shape at the same start, once the first one was rejected."""
        seen = False
        for group, _, pattern in self._shapes:
            if group == failed:
                seen = True
                continue
            if not seen:
                continue
            match = pattern.match(text, start)
            if match is not None:
                entity = self._judge(text, group, start, match.end(), wanted)
                if entity is not None:
                    return entity
        return None

    def _judge(
        self, text: str, group: str, start: int, end: int, wanted: frozenset[str]
    ) -> Entity | None:
        kind = GROUP_TYPE[group]
        raw = text[start:end]
        before = text[max(0, start - _WINDOW) : start]
        score: float
        if kind == "PHONE":
            if not phone_valid(raw):
                return None
            bare = raw.lstrip("(")
            if bare.startswith(("+", "00", "994", "0")):
                score = 0.85
            elif any(sep in raw for sep in " -()"):
                score = 0.6
            else:
                score = 0.4
            if _CUES["PHONE"].search(before):
                score += 0.3
        elif kind == "CARD":
            card = _card(raw)
            if card is None:
                return None
            end = start + len(card)
            score = 0.95
        elif kind == "IBAN":
            if not iban_valid(raw):
                return None
            score = 1.0
        elif kind == "EMAIL":
            score = 0.95
        elif kind == "IP_ADDRESS":
            if not ipv4_valid(raw) or _VERSION_CUE.search(text[max(0, start - 12) : start]):
                return None
            score = 0.85
        elif kind == "ID_CARD":
            score = 0.9 if raw.startswith("AZE") else 0.75
        elif kind == "DRIVER_LICENSE":
            # The cue holds for the whole sentence (`licence AB 123456, not AC 654321`).
            sentence = _SENTENCE_END.split(text[max(0, start - 2 * _WINDOW) : start])[-1]
            score = 0.9 if _CUES["DRIVER_LICENSE"].search(sentence) else 0.3
        elif kind == "PLATE":
            compact = raw.replace(" ", "").replace("-", "")
            if len(compact) == 7 and fin_valid(compact) and _FIN_CUE_NEAR.search(before[-16:]):
                kind, score = "FIN", 0.9
            elif raw[2:].strip(" -")[:2].isupper():
                score = 0.8
            else:
                score = 0.45
            if kind == "PLATE" and _CUES["PLATE"].search(before):
                score += 0.3
        elif kind == "FIN":
            if not fin_valid(raw):
                return None
            if _FIN_CUE_NEAR.search(before[-24:]):
                score = 0.95
            elif raw.isupper() and _interleaved(raw):
                score = 0.55
            else:
                return None
        elif kind == "DATE_OF_BIRTH":
            after = text[end : end + 24]
            if not (_CUES["DATE_OF_BIRTH"].search(before) or _DOB_AFTER.match(after)):
                return None
            score = 0.9
        elif kind == "ADDRESS":
            start = _trim_address(text, start, end)
            score = 0.8
        else:  # pragma: no cover - every group maps to a type above
            return None
        if kind not in wanted:
            return None
        return Entity(kind, start, end, round(min(score, 1.0), 3))


def _interleaved(code: str) -> bool:
    """FIN-like: letters and digits alternate at least three times (not `NOVRUZ7`, `YAY2025`)."""
    changes = sum(1 for a, b in pairwise(code) if a.isdigit() != b.isdigit())
    return changes >= 3


def _card(raw: str) -> str | None:
    """The longest prefix of `raw`, cut at a separator, that is a Luhn-valid card number."""
    candidates = [raw]
    for index in range(len(raw) - 1, 0, -1):
        if raw[index] in " -":
            candidates.append(raw[:index])
    for candidate in candidates:
        digits = candidate.replace(" ", "").replace("-", "")
        if (
            13 <= len(digits) <= 19
            and digits[0] in "23456"
            and len(set(digits)) > 1
            and luhn_valid(digits)
        ):
            return candidate
    return None


def _trim_address(text: str, start: int, end: int) -> int:
    """Drop leading words of an az/en street name that are not street-name words."""
    words = _street_words()
    span = text[start:end]
    if span[:1].isdigit() or span[:3].lower() in ("ул.", "ули", "пр.", "пр-", "про", "пер", "бул"):
        return start
    offset = 0
    parts = span.split(" ")
    # Keep at least the last word before the street type.
    for part in parts[:-3]:
        if part[:1].isdigit() or fold(part.rstrip(".")) in words or _looks_like_name(part):
            break
        offset += len(part) + 1
    return start + offset


def _looks_like_name(word: str) -> bool:
    folded = fold(word)
    return folded.endswith(("ov", "ev", "li", "zade", "ova", "eva")) or (
        len(word) == 2 and word[1] == "."
    )


def _resolve(found: list[Entity], min_score: float) -> list[Entity]:
    """Keep the best non-overlapping entities: higher score, then more specific, then longer."""
    candidates = sorted((e for e in found if e.score >= min_score), key=lambda e: (e.start, e.end))
    kept: list[Entity] = []
    cluster: list[Entity] = []
    reach = -1
    for entity in [*candidates, None]:
        # Overlaps only happen inside a cluster of chained spans; most clusters have one span.
        if entity is not None and entity.start < reach:
            cluster.append(entity)
            reach = max(reach, entity.end)
            continue
        if len(cluster) == 1:
            kept.append(cluster[0])
        elif cluster:
            kept.extend(_best_of(cluster))
        if entity is not None:
            cluster = [entity]
            reach = entity.end
    kept.sort(key=lambda e: (e.start, e.end))
    return kept


def _best_of(cluster: list[Entity]) -> list[Entity]:
    ranked = sorted(
        cluster, key=lambda e: (-e.score, -_SPECIFICITY[e.type], -(e.end - e.start), e.start)
    )
    chosen: list[Entity] = []
    for entity in ranked:
        if all(entity.end <= other.start or other.end <= entity.start for other in chosen):
            chosen.append(entity)
    return chosen


@cache
def default_scanner() -> Scanner:
    """The shared scanner with every type on."""
    return Scanner()


def scan_text(
    text: str, *, lang: str | None = None, types: Collection[str] | None = None
) -> list[Entity]:
    """Entities of personal data in `text` (offsets are `str` indices, end exclusive)."""
    return default_scanner().scan(text, lang=lang, types=types)
