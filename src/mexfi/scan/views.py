"""The HTTP API of PII discovery: text in, entities (types and spans) out; redaction.

Mounted by `mexfi.api` under `/api/v1/scan`; the capability's `__init__` does not import
it. The text travels in the body only and is neither stored nor logged; a body is bounded
(`MAX_BODY` bytes, checked before it is read whole, and `MAX_TEXT` characters).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from mexfi.deps import ActorDep, no_kept_answer
from mexfi.errors import Invalid
from mexfi.scan.engine import scan_text
from mexfi.scan.entities import ENTITY_TYPES, Entity
from mexfi.scan.redact import redact
from mexfi.vault import Actor

__all__ = ["MAX_BODY", "MAX_TEXT", "router"]

MAX_TEXT = 100_000
#: Bytes of a request body: the text at 4 bytes a character, and room for the JSON around it.
MAX_BODY = 4 * MAX_TEXT + 4_096


class BodyTooLarge(Invalid):
    """A body over the scan API's bound."""


def _bounded(request: Request) -> None:
    """Refuse a body its Content-Length says is over `MAX_BODY`, before reading it."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise BodyTooLarge(
            f"the body is over {MAX_BODY} bytes",
            hint=f"send at most {MAX_TEXT} characters of text a request",
        )


def _caller(actor: ActorDep) -> Actor:
    """Any key may scan: nothing is read from the store and nothing stored."""
    return actor


# The answers hold the text's personal data: none is kept for an Idempotency-Key.
router = APIRouter(
    prefix="/scan", tags=["scan"], dependencies=[Depends(_bounded), Depends(no_kept_answer)]
)


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=MAX_TEXT)
    lang: Literal["az", "ru", "en"] | None = None
    types: list[str] | None = Field(
        default=None, max_length=len(ENTITY_TYPES), description="Entity types to look for."
    )


class RedactIn(ScanIn):
    mode: Literal["tag", "mask"] = "tag"
    keep_separators: bool = False


class EntityOut(BaseModel):
    """`text[start:end]` is of `type`; offsets are characters, end exclusive."""

    type: str
    start: int
    end: int
    score: float

    @classmethod
    def of(cls, entity: Entity) -> EntityOut:
        return cls(type=entity.type, start=entity.start, end=entity.end, score=entity.score)


class ScanOut(BaseModel):
    entities: list[EntityOut]


class RedactOut(BaseModel):
    text: str
    entities: list[EntityOut]


@router.post("", response_model=ScanOut)
def scan(body: ScanIn, actor: Annotated[Actor, Depends(_caller)]) -> ScanOut:
    """The personal data in a text: entity types and spans (no values echoed)."""
    found = scan_text(body.text, lang=body.lang, types=body.types)
    return ScanOut(entities=[EntityOut.of(e) for e in found])


@router.post("/redact", response_model=RedactOut)
def redact_(body: RedactIn, actor: Annotated[Actor, Depends(_caller)]) -> RedactOut:
    """The text with each entity replaced by its type (`tag`) or masked (`mask`)."""
    found = scan_text(body.text, lang=body.lang, types=body.types)
    text = redact(body.text, found, mode=body.mode, keep_separators=body.keep_separators)
    return RedactOut(text=text, entities=[EntityOut.of(e) for e in found])
