"""PERSON without a model: name lexicons, surname and patronymic morphology, capitalisation.

A full name is a run of capitalised words (plus the patronymic words `oğlu`, `qızı`,
`оглы`, `кызы`) with at least a first name and a surname or patronymic. Titles stay
outside; an Azerbaijani case ending on the last word (`Əliyevə`, `Həsənovanın`) too.
Runs next to a street or metro word, or listed in `places.txt`, are places.
"""

from __future__ import annotations

import re
from functools import cache

from mexfi.scan.lexicons import fold, load
from mexfi.scan.patterns import CAP, LOW

__all__ = ["find_persons"]

# Only the words a name can hold: capitalised ones, initials, and the patronymic words.
_WORD = re.compile(
    rf"(?<![\w])(?:[{CAP}][{LOW}]*(?:['’\-][{CAP}{LOW}][{LOW}]*)?(?![\w])|[{CAP}]\."
    r"|(?i:oğlu|qızı|oglu|qizi|оглы|кызы|ogly|kyzy|gizi)(?![\w]))"
)
_PATR_WORDS = frozenset({"oglu", "qizi", "оглы", "кызы", "ogly", "kyzy", "gizi"})
_SURNAME_SUFFIXES = (
    "ov",
    "ova",
    "yev",
    "yeva",
    "ev",
    "eva",
    "zade",
    "li",
    "lu",
    "beyli",
    "sky",
    "ski",
    "skiy",
    "skaya",
    "enko",
    "shvili",
    "dze",
    "yan",
    "ян",
    "ов",
    "ова",
    "ев",
    "ева",
    "ёв",
    "ин",
    "ина",
    "ын",
    "ына",
    "ский",
    "ская",
    "цкий",
    "цкая",
    "енко",
    "ли",
    "заде",
    # Russian case forms of -ов/-ев/-ин surnames (`Смирнову`, `Ивановой`, `Петровым`)
    "ову",
    "еву",
    "овой",
    "евой",
    "овым",
    "евым",
    "ину",
    "иной",
    "иным",
)
_CYRILLIC_CASE = re.compile(r"(?:у|ю|е|ой|ей|ом|ем|ым|ы|и|а|я)$")
_PATRONYMIC_SUFFIXES = (
    "ович",
    "овна",
    "евич",
    "евна",
    "ич",
    "ична",
    "ovich",
    "ovna",
    "evich",
    "evna",
    # their case forms (`Петровной`, `Сергеевичу`)
    "овной",
    "евной",
    "овну",
    "евну",
    "овны",
    "евны",
    "овича",
    "евича",
    "овичу",
    "евичу",
    "овичем",
    "евичем",
)
_CASE_ENDINGS = tuple(
    sorted(
        {
            f"{apos}{ending}"
            for apos in ("", "'", "’")
            for ending in (
                "nın",
                "nin",
                "nun",
                "nün",
                "ya",
                "yə",
                "dan",
                "dən",
                "da",
                "də",
                "a",
                "ə",
                "ın",
                "in",
                "un",
                "ün",
                "ı",
                "i",
                "u",
                "ü",
                "yla",
                "ylə",
                "la",
                "lə",
                "nı",
                "ni",
                "ya",
                "ye",
                "e",
                "den",
                "dan",
                "nin",
                "in",
            )
        },
        key=len,
        reverse=True,
    )
)
_PLACE_AFTER = re.compile(
    r"\s*(?i:küç|kuc|prospekt|pr\.|metro|m\.|st\.|street|avenue|ave\b|road|rayon|qəsəbə|qesebe|"
    r"park|bağ|bag|ad[ıi]na\s+(?:park|bağ|bag|küç|kuc|metro|məktəb|mekteb|stansiya|prospekt|meydan)|məktəb|mekteb|stansiya|улиц|ул\.|проспект|метро|станци|район|"
    r"mərkəz|merkez|muzey|liman|universitet|institut|xəstəxana|xestexana|stadion|zavod|fond|"
    r"парк|школ|имени|центр|музей|аэропорт|döngə|donge|dalan|bulvar|meydan|şosse|sosse|küçə|kuce)"
)
_PLACE_BEFORE = re.compile(
    r"(?i:ул\.|улица|улицу|улице|проспект|пр\.|метро|м\.|станция|metro|m\.|st\.|stansiya|"
    r"имени|им\.|küçə|kuce|prospekt)\s*$"
)
_CUE_BEFORE = re.compile(
    r"(?<![\w])(?i:sürücü|surucu|müştəri|musteri|sərnişin|sernisin|ad[ıi]|soyad|adım|adim|"
    r"xanım|xanim|cənab|cenab|водител|клиент|зовут|фио|пассажир|driver|customer|name|"
    r"mr\.?|mrs\.?|ms\.?|passenger)\W*$"
)


@cache
def _lexicons() -> tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]:
    first = load("first_az") | load("first_ru") | load("first_foreign")
    return first, load("surnames"), load("not_names"), load("places")


def _is_surname(word: str, surnames: frozenset[str], first: frozenset[str]) -> bool:
    if word in surnames:
        return True
    if len(word) < 4 or word in first:
        return False
    return word.endswith(_SURNAME_SUFFIXES)


def _classify(token: str, lex: tuple[frozenset[str], ...]) -> str:
    first, surnames, not_names, _ = lex
    word = fold(token)
    if word in _PATR_WORDS:
        return "W"
    if not token[0].isupper() or token.endswith(".") or word in not_names:
        return "N"
    if word.endswith(_PATRONYMIC_SUFFIXES) and len(word) > 6:
        return "P"
    if word not in first and _CYRILLIC_CASE.search(word):
        # A Russian case form of a listed first name: `Елену` → `елена`, `Сергею` → `сергей`.
        stem = _CYRILLIC_CASE.sub("", word)
        if any(stem + ending in first for ending in ("", "а", "я", "й", "ь")):
            return "F"
    if word in first:
        # A first name that is also a listed surname (`Thomas`, `Şahin`) takes its role from
        # its neighbours in `_accept`.
        return "B" if word in surnames else "F"
    if _is_surname(word, surnames, first):
        # `-li` also ends ordinary adjectives (`Təcili`, `Maraqlı`): such a surname only
        # counts right after a first name (see `_weak_surnames`).
        if word not in surnames and word.endswith(("li", "lu", "ли")) and word[:-2] not in first:
            return "L"
        return "S"
    return "U"


def _weak_surnames(classes: list[str]) -> list[str]:
    """`L` becomes a surname after a first name, an unknown word elsewhere."""
    return [
        ("S" if k > 0 and classes[k - 1] in ("F", "B") else "U") if cls == "L" else cls
        for k, cls in enumerate(classes)
    ]


def _strip_case(token: str, lex: tuple[frozenset[str], ...]) -> tuple[str, int]:
    """The class of `token` once an Azerbaijani case ending is cut, and the cut length."""
    first, surnames, _, _ = lex
    for ending in _CASE_ENDINGS:
        if token.endswith(ending) and len(token) - len(ending) >= 3:
            base = fold(token[: -len(ending)])
            if base.endswith(("ov", "ova", "yev", "yeva", "ev", "eva", "zade", "li", "lu")):
                return "S", len(ending)
            if base in surnames:
                return "S", len(ending)
            if base in first and ending.lstrip("'’") in (
                "a",
                "ə",
                "ya",
                "yə",
                "nın",
                "nin",
                "ın",
                "in",
                "ya",
            ):
                return "F", len(ending)
    return "U", 0


def _accept(classes: list[str], cued: bool = False) -> float:
    """Score of a run of token classes as a full name, 0 when it is not one."""
    if len(classes) < 2:
        return 0.0
    if "B" in classes:
        # The last ambiguous word is the surname when a first name stands before it.
        last = len(classes) - 1 - classes[::-1].index("B")
        role = "S" if ("F" in classes[:last] or "B" in classes[:last]) else "F"
        classes = [*classes[:last], role, *classes[last + 1 :]]
        classes = ["F" if cls == "B" else cls for cls in classes]
    if cued and classes[0] == "U" and "S" in classes[1:] and len(classes) <= 3:
        # An unknown capitalised word before a surname, after a title or a cue word.
        return 0.7
    has_first = "F" in classes
    has_sur = "S" in classes
    has_pat = "P" in classes or "W" in classes
    if classes[0] == "W":
        return 0.0
    if "W" in classes and classes.index("W") != len(classes) - 1:
        return 0.0
    if has_first and has_sur:
        return 0.85 if not has_pat else 0.9
    if has_first and has_pat:
        return 0.8
    if has_sur and "P" in classes:
        return 0.75
    return 0.0


def find_persons(text: str) -> list[tuple[int, int, float]]:
    """(start, end, score) of full names in `text`."""
    lex = _lexicons()
    places = lex[3]
    tokens = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
    results: list[tuple[int, int, float]] = []
    i = 0
    n = len(tokens)
    while i < n:
        token = tokens[i][2]
        if not token[0].isupper():
            i += 1
            continue
        # The run: consecutive words separated by one space (or a non-breaking one).
        run = [tokens[i]]
        j = i + 1
        while j < n and text[run[-1][1] : tokens[j][0]] in (" ", "\u00a0"):
            word = tokens[j][2]
            if not word[0].isupper() and fold(word) not in _PATR_WORDS:
                break
            run.append(tokens[j])
            j += 1
        i = j
        if len(run) < 2:
            continue
        classes = _weak_surnames([_classify(tok, lex) for _, _, tok in run])
        cut = 0
        # Split at non-name words; judge each piece.
        pieces: list[tuple[int, int]] = []
        a = 0
        for k, kind in enumerate([*classes, "N"]):
            if kind in ("N",):
                if k - a >= 2:
                    pieces.append((a, k))
                a = k + 1
        for a, b in pieces:
            cls = classes[a:b]
            # Trim unknown words at the edges, but a last unknown word may carry a case ending.
            cued = bool(_CUE_BEFORE.search(text, max(0, run[a][0] - 24), run[a][0]))
            while a < b and cls[0] == "U" and not (cued and len(cls) > 1 and cls[1] == "S"):
                a += 1
                cls = cls[1:]
            cut = 0
            if cls and cls[-1] == "U":
                stripped, cut = _strip_case(run[b - 1][2], lex)
                if stripped != "U":
                    cls = [*cls[:-1], stripped]
            while cls and cls[-1] == "U":
                b -= 1
                cls = cls[:-1]
                cut = 0
            score = _accept(cls, cued)
            if score == 0.0:
                continue
            span_start, span_end = run[a][0], run[b - 1][1] - cut
            if fold(text[span_start:span_end]) in places:
                continue
            if _PLACE_AFTER.match(text, run[b - 1][1]) or _PLACE_BEFORE.search(
                text, max(0, span_start - 16), span_start
            ):
                continue
            if _CUE_BEFORE.search(text, max(0, span_start - 24), span_start):
                score = min(1.0, score + 0.1)
            results.append((span_start, span_end, score))
    return results
