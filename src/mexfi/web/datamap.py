"""A policy's data map drawn as SVG on the server: categories → purposes → recipients, with
each category's retention written under it.

Plain SVG made in Python (no script, no JavaScript library, no inline `style`: colours are
presentation attributes, which the Content-Security-Policy allows). Three columns of boxes;
a curve from a category to each purpose that uses it, and from a purpose to each recipient
that receives it. Every box carries a `<title>` (its full text and clauses), and the
drawing a title and a description, for screen readers; the page also lists the same facts
as a table.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Final
from xml.sax.saxutils import escape, quoteattr

from mexfi.policy import Policy, retention_phrase

__all__ = ["datamap_svg"]

_WIDTH: Final = 1120
_COLUMNS: Final = {"category": 16, "purpose": 440, "recipient": 826}
_BOX_WIDTH: Final = {"category": 330, "purpose": 300, "recipient": 278}
_TOP: Final = 56
_GAP: Final = 14
_LINE: Final = 15
_FILL: Final = {"category": "#e4f0fb", "purpose": "#fff1d6", "recipient": "#e3f4ea"}
_STROKE: Final = {"category": "#0b5cad", "purpose": "#7a4b00", "recipient": "#106b3a"}
_HEADINGS: Final = {
    "category": {
        "az": "Kateqoriyalar və saxlanma",
        "en": "Categories and retention",
        "ru": "Категории и хранение",
    },
    "purpose": {"az": "Məqsədlər", "en": "Purposes", "ru": "Цели"},
    "recipient": {"az": "Alıcılar", "en": "Recipients", "ru": "Получатели"},
}
_TITLE: Final = {
    "az": "{policy} məlumat xəritəsi",
    "en": "Data map of {policy}",
    "ru": "Карта данных {policy}",
}
_DESC: Final = {
    "az": "{c} kateqoriya, {p} məqsəd, {r} alıcı; xətlər hansı məlumatın hansı məqsədə və "
    "alıcıya getdiyini göstərir.",
    "en": "{c} categories, {p} purposes, {r} recipients; lines show which data serves which "
    "purpose and goes to which recipient.",
    "ru": "{c} категорий, {p} целей, {r} получателей; линии показывают, какие данные служат "
    "какой цели и кому передаются.",
}
_RETENTION: Final = {"az": "Saxlanma", "en": "Retention", "ru": "Хранение"}
_NO_RULE: Final = {
    "az": "saxlanma qaydası yoxdur",
    "en": "no retention rule",
    "ru": "нет правила хранения",
}


@dataclass
class _Box:
    kind: str
    id: str
    lines: list[str]
    tooltip: str
    #: How many of `lines` are the box's name (the rest: a category's retention, smaller).
    named: int = 99
    y: int = 0

    @property
    def height(self) -> int:
        return 14 + _LINE * len(self.lines)

    @property
    def x(self) -> int:
        return _COLUMNS[self.kind]

    @property
    def width(self) -> int:
        return _BOX_WIDTH[self.kind]

    @property
    def middle(self) -> int:
        return self.y + self.height // 2


def _wrap(text: str, width: int, lines: int) -> list[str]:
    wrapped = textwrap.wrap(text, width=width) or [""]
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = wrapped[-1][: width - 1].rstrip() + "…"
    return wrapped


def _boxes(policy: Policy, lang: str) -> dict[str, list[_Box]]:
    rules: dict[str, list[str]] = {}
    for rule in policy.retention:
        for category in rule.categories:
            rules.setdefault(category, []).append(retention_phrase(policy, rule, lang=lang))
    categories = []
    for c in policy.categories:
        phrases = rules.get(c.id) or [_NO_RULE[lang]]
        title = c.title(lang)  # type: ignore[arg-type]
        retention = "; ".join(phrases)
        name = _wrap(title, 40, 2)
        lines = name + _wrap(f"{_RETENTION[lang]}: {retention}", 52, 2)
        tooltip = f"{title} ({c.id}) — {retention} [{', '.join(c.clauses)}]"
        categories.append(_Box("category", c.id, lines, tooltip, named=len(name)))
    purposes = [
        _Box(
            "purpose",
            p.id,
            _wrap(p.title(lang), 36, 2),  # type: ignore[arg-type]
            f"{p.title(lang)} ({p.id}) [{', '.join(p.clauses)}]",  # type: ignore[arg-type]
        )
        for p in policy.purposes
    ]
    recipients = [
        _Box(
            "recipient",
            r.id,
            _wrap(r.title(lang), 33, 2),  # type: ignore[arg-type]
            f"{r.title(lang)} ({r.id}, {r.kind.value}) [{', '.join(r.clauses)}]",  # type: ignore[arg-type]
        )
        for r in policy.recipients
    ]
    return {"category": categories, "purpose": purposes, "recipient": recipients}


def _place(column: list[_Box], height: int) -> None:
    """Stack a column's boxes, centred in the drawing's height."""
    used = sum(b.height for b in column) + _GAP * max(len(column) - 1, 0)
    y = _TOP + max((height - used) // 2, 0)
    for box in column:
        box.y = y
        y += box.height + _GAP


def _curve(a: _Box, b: _Box, colour: str) -> str:
    x1, y1 = a.x + a.width, a.middle
    x2, y2 = b.x, b.middle
    bend = (x2 - x1) // 2
    return (
        f'<path d="M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}" fill="none" '
        f'stroke="{colour}" stroke-width="1.5" stroke-opacity="0.45"/>'
    )


def _box(box: _Box) -> str:
    parts = [
        f'<g class="node node--{box.kind}" id={quoteattr(f"{box.kind}-{box.id}")}>',
        f"<title>{escape(box.tooltip)}</title>",
        f'<rect x="{box.x}" y="{box.y}" width="{box.width}" height="{box.height}" rx="8" '
        f'fill="{_FILL[box.kind]}" stroke="{_STROKE[box.kind]}" stroke-width="1.2"/>',
    ]
    for index, line in enumerate(box.lines):
        retention = index >= box.named
        weight = "600" if not retention else "400"
        colour = "#17212b" if not retention else "#44505c"
        size = 13 if not retention else 11.5
        parts.append(
            f'<text x="{box.x + 10}" y="{box.y + 18 + index * _LINE}" font-size="{size}" '
            f'font-weight="{weight}" fill="{colour}">{escape(line)}</text>'
        )
    parts.append("</g>")
    return "".join(parts)


def datamap_svg(policy: Policy, *, lang: str, standalone: bool = False) -> str:
    """The data map of `policy` in `lang` as an SVG document (`standalone`: with the XML
    declaration, for a file)."""
    boxes = _boxes(policy, lang)
    columns = list(boxes.values())
    height = max(
        sum(b.height for b in column) + _GAP * max(len(column) - 1, 0) for column in columns
    )
    for column in columns:
        _place(column, height)
    total = _TOP + height + 24
    by_id = {kind: {b.id: b for b in column} for kind, column in boxes.items()}
    edges = []
    for purpose in policy.purposes:
        for category in purpose.categories:
            if category in by_id["category"]:
                edges.append(
                    _curve(by_id["category"][category], by_id["purpose"][purpose.id], "#0b5cad")
                )
    for recipient in policy.recipients:
        for purpose_id in recipient.purposes:
            if purpose_id in by_id["purpose"]:
                edges.append(
                    _curve(
                        by_id["purpose"][purpose_id], by_id["recipient"][recipient.id], "#106b3a"
                    )
                )
    name = policy.policy.service(lang)  # type: ignore[arg-type]
    title = _TITLE[lang].format(policy=name)
    desc = _DESC[lang].format(
        c=len(policy.categories), p=len(policy.purposes), r=len(policy.recipients)
    )
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {total}" '
        f'width="{_WIDTH}" height="{total}" role="img" aria-labelledby="dm-title dm-desc" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, DejaVu Sans, sans-serif">',
        f'<title id="dm-title">{escape(title)}</title>',
        f'<desc id="dm-desc">{escape(desc)}</desc>',
        f'<rect x="0" y="0" width="{_WIDTH}" height="{total}" fill="#ffffff"/>',
    ]
    for kind, x in _COLUMNS.items():
        head.append(
            f'<text x="{x}" y="30" font-size="14" font-weight="700" fill="#44505c" '
            f'letter-spacing="0.5">{escape(_HEADINGS[kind][lang].upper())}</text>'
        )
    body = edges + [_box(b) for column in columns for b in column]
    svg = "".join(head + body) + "</svg>"
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + svg) if standalone else svg
