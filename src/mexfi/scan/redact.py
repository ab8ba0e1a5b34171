"""Redaction: replace entity spans by a type tag, a mask, or a keyed consistent pseudonym.

Pseudonyms are HMAC-SHA256 of the type and a normalised value under a secret key, so the
same phone written two ways (`+994 50 123 45 67`, `0501234567`) gets the same pseudonym
and redacted tables still join; without the key a pseudonym cannot be reversed or forged.
The store's own key stays in the vault: `redact` takes a keyed function
(`Vault.value_pseudonym`) or, for another key, the key itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Literal

from mexfi.errors import Invalid, NotFound
from mexfi.scan.engine import default_scanner
from mexfi.scan.entities import Entity

__all__ = [
    "KEY_ENV",
    "Mode",
    "Pseudonymizer",
    "load_key",
    "normalise",
    "pseudonym",
    "redact",
    "redact_text",
]

Mode = Literal["tag", "mask", "pseudonym"]
#: A keyed pseudonym function: (entity type, value) -> `TYPE_xxxxxxxx`.
Pseudonymizer = Callable[[str, str], str]
KEY_ENV = "MEXFI_PSEUDONYM_KEY"
_MIN_KEY_BYTES = 16
_NON_DIGIT = re.compile(r"\D")
_SPACE = re.compile(r"\s+")


def load_key(key_file: Path | None = None) -> bytes:
    """The pseudonym key: base64 in `key_file`, else in the `MEXFI_PSEUDONYM_KEY` variable."""
    if key_file is not None:
        if not key_file.is_file():
            raise NotFound(f"key file {key_file} does not exist")
        encoded = key_file.read_text(encoding="ascii", errors="replace").strip()
        origin = f"key file {key_file}"
    else:
        encoded = os.environ.get(KEY_ENV, "").strip()
        origin = KEY_ENV
        if not encoded:
            raise Invalid(
                "pseudonyms need a key",
                hint=f"set {KEY_ENV} to a base64 key (e.g. `openssl rand -base64 32`) "
                "or pass --key-file",
            )
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Invalid(f"{origin} is not valid base64") from exc
    if len(key) < _MIN_KEY_BYTES:
        raise Invalid(f"{origin} holds {len(key)} bytes; a key needs at least {_MIN_KEY_BYTES}")
    return key


def normalise(kind: str, value: str) -> str:
    """The form of `value` that pseudonyms are computed on (one per real-world value)."""
    if kind == "PHONE":
        digits = _NON_DIGIT.sub("", value)
        return digits[-9:]  # the national number, whatever prefix was typed
    if kind in ("CARD", "IBAN", "ID_CARD", "DRIVER_LICENSE", "PLATE", "FIN"):
        return re.sub(r"[\s\-№]", "", value).upper()
    if kind == "EMAIL":
        return value.strip().lower()
    return _SPACE.sub(" ", value.strip()).casefold()


def pseudonym(kind: str, value: str, key: bytes, *, digest_chars: int = 8) -> str:
    """`TYPE_xxxxxxxx`: the same value always gives the same pseudonym under one key."""
    message = f"{kind}\x00{normalise(kind, value)}".encode()
    digest = hmac.new(key, message, hashlib.sha256).hexdigest()
    return f"{kind}_{digest[:digest_chars]}"


def _mask(value: str, keep_separators: bool) -> str:
    if not keep_separators:
        return "*" * len(value)
    return "".join("*" if char.isalnum() else char for char in value)


def redact(
    text: str,
    entities: Sequence[Entity],
    *,
    mode: Mode = "tag",
    key: bytes | None = None,
    pseudonymize: Pseudonymizer | None = None,
    keep_separators: bool = False,
) -> str:
    """`text` with each entity span replaced according to `mode`; pseudonyms by
    `pseudonymize` (a keyed function, e.g. the vault's) or else under `key`."""
    if mode == "pseudonym" and key is None and pseudonymize is None:
        raise Invalid("pseudonym mode needs a key", hint="use the store's key, or pass --key-file")
    if mode not in ("tag", "mask", "pseudonym"):
        raise Invalid(f"unknown redaction mode {mode!r}", hint="use tag, mask or pseudonym")
    parts: list[str] = []
    cursor = 0
    for entity in sorted(entities, key=lambda e: e.start):
        if entity.start < cursor:
            continue  # overlapping input: the earlier span wins
        value = text[entity.start : entity.end]
        parts.append(text[cursor : entity.start])
        if mode == "tag":
            parts.append(f"[{entity.type}]")
        elif mode == "mask":
            parts.append(_mask(value, keep_separators))
        elif pseudonymize is not None:
            parts.append(pseudonymize(entity.type, value))
        else:
            assert key is not None
            parts.append(pseudonym(entity.type, value, key))
        cursor = entity.end
    parts.append(text[cursor:])
    return "".join(parts)


def redact_text(
    text: str,
    *,
    mode: Mode = "tag",
    key: bytes | None = None,
    pseudonymize: Pseudonymizer | None = None,
    keep_separators: bool = False,
    lang: str | None = None,
    types: Collection[str] | None = None,
) -> str:
    """Scan `text` and redact what was found."""
    found = default_scanner().scan(text, lang=lang, types=types)
    return redact(
        text,
        found,
        mode=mode,
        key=key,
        pseudonymize=pseudonymize,
        keep_separators=keep_separators,
    )
