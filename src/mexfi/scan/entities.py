"""The entity types of the annotation guideline and the `Entity` a scan reports."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ENTITY_TYPES", "Entity"]

#: The twelve types of `PII-ENTITIES.md`, most specific first (ties in overlaps go left).
ENTITY_TYPES: tuple[str, ...] = (
    "CARD",
    "IBAN",
    "EMAIL",
    "IP_ADDRESS",
    "ID_CARD",
    "FIN",
    "DRIVER_LICENSE",
    "PLATE",
    "PHONE",
    "DATE_OF_BIRTH",
    "ADDRESS",
    "PERSON",
)


@dataclass(frozen=True, slots=True)
class Entity:
    """One span of personal data: `text[start:end]` is of `type`, with confidence `score`."""

    type: str
    start: int
    end: int
    score: float

    def as_dict(self) -> dict[str, object]:
        """The JSON shape of the CLI output."""
        return {"type": self.type, "start": self.start, "end": self.end, "score": self.score}
