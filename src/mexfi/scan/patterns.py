"""The pattern recognizers: one combined regex, one named group per candidate shape.

Every shape is also compiled on its own so that a candidate the validators reject
does not hide another shape starting at the same character (`Scanner` retries them).
"""

from __future__ import annotations

import re
from collections.abc import Collection

__all__ = ["CAP", "COMBINED", "GROUP_TYPE", "LOW", "SHAPES", "az_insensitive", "build_combined"]

#: Capital and small letters of the Latin (with Azerbaijani) and Cyrillic alphabets.
CAP = "A-ZƏÜÖĞÇŞİА-ЯЁ"
LOW = "a-zəüöğçşıа-яё"

_AZ_CLASSES = {
    "ə": "[əeƏE]",
    "ı": "[ıiIİ]",
    "ö": "[öoÖO]",
    "ü": "[üuÜU]",
    "ğ": "[ğgĞG]",
    "ş": "[şsŞS]",
    "ç": "[çcÇC]",
    "i": "[iİIı]",
}


def az_insensitive(pattern: str) -> str:
    """Let each Azerbaijani letter of `pattern` also match its plain-Latin typing."""
    return "".join(_AZ_CLASSES.get(char, char) for char in pattern)


_OPS = "(?:10|12|50|51|55|60|70|77|99)"
_PHONE = (
    r"(?<![\w+])(?:"
    rf"(?:\+|00)?994[ \-]?(?:\({_OPS}\)|{_OPS})"  # +994 50, 00994 (50), 994 50
    rf"|\(0{_OPS}\)|0{_OPS}"  # (050), 050
    rf"|\({_OPS}\)|{_OPS}"  # 50 without the trunk 0
    r")[ \-]?\d{3}[ \-]?\d{2}[ \-]?\d{2}(?![\d])"
)
_CARD = r"(?<![\d\-])(?:\d[ \-]?){12,18}\d(?![\d])"
_IBAN = r"(?<![\w])[Aa][Zz]\d{2}(?: ?[A-Za-z0-9]{4}){6}(?![\w])"
_EMAIL = (
    r"(?<![\w.%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}(?![\w])"
)
_IP = r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d]|\.\d)"
_ID_CARD = r"(?<![\w])(?:AZE\s?(?:№\s?)?\d{8}|AA\s?(?:№\s?)?\d{7})(?![\w])"
_DL = r"(?<![\w])[A-Z]{2}\s?(?:№\s?)?\d{6}(?![\w])"
_PLATE = r"(?<![\w\-])(?:0[1-9]|[1-9]\d)(?:[ \-]?[A-Z]{2}[ \-]?|[ \-]?[a-z]{2}[ \-]?)\d{3}(?![\w])"
# The length test first: most words fail it within a few characters.
_FIN = r"(?<![\w])(?=[0-9A-Za-z]{7}(?![\w]))(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[0-9A-Za-z]{7}"

_MONTHS = (
    # az (with and without its letters), ru (genitive), en
    az_insensitive("yanvar|fevral|mart|aprel|may|iyun|iyul|avqust|sentyabr|oktyabr|noyabr|dekabr")
    + "|января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря"
    + "|january|february|march|april|june|july|august|september|october|november|december"
    + "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_YEAR = r"(?:19|20)\d{2}"
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MON = r"(?:0?[1-9]|1[0-2])"
_DATE_NUM = rf"(?<![\d.])(?:{_DAY}\.{_MON}\.|{_DAY}/{_MON}/|{_DAY}-{_MON}-){_YEAR}(?![\d])"
_DATE_ISO = rf"(?<![\d.])(?:{_YEAR})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?![\d])"
_DATE_TXT = rf"(?<![\d])(?:0?[1-9]|[12]\d|3[01])\s+(?i:{_MONTHS})\.?,?\s+{_YEAR}(?![\d])"
# English month first (`March 12, 1988`); prefixes factored out, the only case-folded letter
# is the first one, because case-insensitive alternations are slow in `re`.
_EN_MONTHS = (
    r"[Jj]an(?:uary)?|[Ff]eb(?:ruary)?|[Mm]ar(?:ch)?|[Aa]pr(?:il)?|[Mm]ay|[Jj]un[e]?|[Jj]ul[y]?"
    r"|[Aa]ug(?:ust)?|[Ss]ep(?:t(?:ember)?)?|[Oo]ct(?:ober)?|[Nn]ov(?:ember)?|[Dd]ec(?:ember)?"
)
_DATE_EN = (
    rf"(?<![\w])(?:{_EN_MONTHS})\.?\s+(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?,?\s+{_YEAR}(?![\d])"
)

_NAMEW = rf"(?:[{CAP}]\.\s?)?(?:[{CAP}][{LOW}'’\-]*|\d{{1,2}})"
_HOUSE = (
    r"(?:(?i:ev|bina|house|д\.|дом)\s*(?:№\s*)?)?\d{1,4}(?:[A-Za-zА-Яа-я](?![\w]))?"
    r"(?:\s?/\s?\d{1,4}[A-Za-zА-Яа-я]?)?(?![\d\w])"
)
_FLAT = (
    r"(?:,?\s*(?i:"
    + az_insensitive("mənzil")
    + r"|"
    + az_insensitive("mən")
    + r"\.|m\.|kv\.?|кв\.?|квартира|apt\.?|apartment|flat)\s*\d{1,4}(?![\d]))?"
)
_AZ_STREET = az_insensitive(
    r"küç(?:əsi|ə|\.)|prospekti|prospekt|pr\.|prosp\.|pr-ti|döngəsi|dalanı|bulvarı"
    r"|şossesi|meydanı|yolu"
)
_ADDR_AZ = rf"(?<![\w])(?:{_NAMEW}\s+){{1,3}}(?i:{_AZ_STREET})\s*,?\s*{_HOUSE}{_FLAT}"
_RU_STREET = r"ул\.|улица|пр\.|пр-т|проспект|пер\.|переулок|бульвар|б-р|шоссе|пл\.|площадь"
_ADDR_RU = rf"(?<![\w])(?i:{_RU_STREET})\s*{_NAMEW}(?:\s+{_NAMEW}){{0,2}}\s*,?\s*{_HOUSE}{_FLAT}"
_EN_STREET = r"Street|St\.|Avenue|Ave\.?|Road|Rd\.|Lane|Boulevard|Blvd\.?|Drive|Square"
_ADDR_EN1 = rf"(?<![\w/\-])\d{{1,4}}[A-Za-z]?\s+(?:{_NAMEW}\s+){{1,3}}(?:{_EN_STREET}){_FLAT}"
_ADDR_EN2 = (
    rf"(?<![\w])(?:{_NAMEW}\s+){{1,3}}(?i:street|avenue|road|st\.|ave\.)\s*,?\s*{_HOUSE}{_FLAT}"
)

#: Candidate shapes in priority order (earlier wins at the same start); group → type.
SHAPES: tuple[tuple[str, str, str], ...] = (
    ("EMAIL", "EMAIL", _EMAIL),
    ("IBAN", "IBAN", _IBAN),
    ("ADDR_AZ", "ADDRESS", _ADDR_AZ),
    ("ADDR_RU", "ADDRESS", _ADDR_RU),
    ("ADDR_EN2", "ADDRESS", _ADDR_EN2),
    ("ADDR_EN1", "ADDRESS", _ADDR_EN1),
    ("ID_CARD", "ID_CARD", _ID_CARD),
    ("DL", "DRIVER_LICENSE", _DL),
    ("DATE_NUM", "DATE_OF_BIRTH", _DATE_NUM),
    ("DATE_ISO", "DATE_OF_BIRTH", _DATE_ISO),
    ("DATE_TXT", "DATE_OF_BIRTH", _DATE_TXT),
    ("DATE_EN", "DATE_OF_BIRTH", _DATE_EN),
    ("IP", "IP_ADDRESS", _IP),
    ("PHONE", "PHONE", _PHONE),
    ("CARD", "CARD", _CARD),
    ("PLATE", "PLATE", _PLATE),
    ("FIN", "FIN", _FIN),
)
GROUP_TYPE: dict[str, str] = {group: kind for group, kind, _ in SHAPES}
#: The classes of first characters each shape can start with: the combined regex looks at
#: the first character once and tries only the shapes that can start there.
_DISPATCH: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "d",
        r"\d",
        (
            "EMAIL",
            "ADDR_AZ",
            "ADDR_EN2",
            "ADDR_EN1",
            "DATE_NUM",
            "DATE_ISO",
            "DATE_TXT",
            "IP",
            "PHONE",
            "CARD",
            "PLATE",
            "FIN",
        ),
    ),
    (
        "l",
        r"[A-Za-z]",
        ("EMAIL", "IBAN", "ADDR_AZ", "ADDR_RU", "ADDR_EN2", "ID_CARD", "DL", "DATE_EN", "FIN"),
    ),
    ("a", "[ƏÜÖĞÇŞİ]", ("ADDR_AZ", "ADDR_EN2")),
    ("c", "[А-Яа-яЁё]", ("ADDR_AZ", "ADDR_RU")),
    ("p", r"[+(]", ("PHONE",)),
)
_SHAPE_PATTERN = {group: pattern for group, _, pattern in SHAPES}


def build_combined(groups: Collection[str]) -> re.Pattern[str]:
    """One regex for the shapes `groups`; a match's `lastgroup` is `<shape>__<class>`."""
    branches = []
    for tag, first, members in _DISPATCH:
        chosen = [g for g in members if g in groups]
        if chosen:
            inner = "|".join(f"(?P<{g}__{tag}>{_SHAPE_PATTERN[g]})" for g in chosen)
            branches.append(f"(?={first})(?:{inner})")
    if not branches:
        return re.compile(r"(?!)")
    # Every shape starts at a word start: checking that once, outside the alternation,
    # skips all the branches at the other positions (the regex's main cost).
    return re.compile(r"(?<![\w])(?:" + "|".join(branches) + ")")


COMBINED = build_combined(GROUP_TYPE)
