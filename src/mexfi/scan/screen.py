"""Screening operator free text (a hold's reason, a rejection's reasons, an actor id) before
it goes where nothing can be erased: the append-only audit log, holds, request rows.

Such text is meant to be codes, references and ids. Whatever the scanner finds in it, of
any of its twelve types, is refused with an error naming the types found, never the text.
"""

from __future__ import annotations

from mexfi.errors import Invalid
from mexfi.scan.engine import Scanner, default_scanner

__all__ = ["PersonalDataInText", "refuse_personal_data"]


class PersonalDataInText(Invalid):
    """Free text bound for a place that is never erased carries personal data."""

    def __init__(self, message: str, *, field: str, types: tuple[str, ...], hint: str) -> None:
        super().__init__(message, hint=hint)
        self.field = field
        self.types = types


def refuse_personal_data(text: str, *, field: str, scanner: Scanner | None = None) -> str:
    """`text` unchanged if the scanner finds no personal data in it; else `PersonalDataInText`
    naming `field` and the entity types found (never the text)."""
    found = sorted({entity.type for entity in (scanner or default_scanner()).scan(text)})
    if found:
        raise PersonalDataInText(
            f"{field} carries personal data ({', '.join(found)}); it would be kept where it "
            "can never be erased",
            field=field,
            types=tuple(found),
            hint="write codes, ids and references (a case or request number, a lawful "
            "demand's id) instead of names, numbers, plates or addresses",
        )
    return text
