"""AES-256-GCM envelope encryption and keyed hashes: the only module that calls the ciphers.

Data keys seal records; master keys wrap data keys. The associated data (AAD) binds
every ciphertext to where it belongs, so a ciphertext copied into another row, another
tier or another key's slot fails to open:

- a record, format 2: `mexfi/v2/record|policy|subject|record|category|tier`;
- a field of a record, format 1: `mexfi/v1/field|policy|subject|record|category|field`;
- a wrapped data key: `mexfi/v1/dek|key id|subject|category|tier`.

A ciphertext is `nonce (12 bytes) || ciphertext || tag (16 bytes)`. Nonces are random:
at one nonce per record and a fresh data key per subject, category and tier, a key
seals far fewer than the 2^32 messages random 96-bit nonces allow.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mexfi.errors import Invalid

__all__ = [
    "AESGCM",
    "KEY_BYTES",
    "NONCE_BYTES",
    "DecryptionFailed",
    "blind_index",
    "field_aad",
    "new_data_key",
    "open_sealed",
    "pseudonym",
    "record_aad",
    "seal",
    "seal_many",
    "unwrap_key",
    "wrap_aad",
    "wrap_key",
]

NONCE_BYTES = 12
KEY_BYTES = 32


class DecryptionFailed(Invalid):
    """A ciphertext does not open under its key and associated data: moved, altered or shredded."""


def new_data_key() -> bytes:
    return os.urandom(KEY_BYTES)


def seal(aead: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    """nonce || ciphertext || tag."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + aead.encrypt(nonce, plaintext, aad)


def seal_many(aead: AESGCM, items: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
    """`seal` for several (plaintext, aad) pairs, drawing all nonces in one call."""
    nonces = os.urandom(NONCE_BYTES * len(items))
    out = []
    for index, (plaintext, aad) in enumerate(items):
        nonce = nonces[index * NONCE_BYTES : (index + 1) * NONCE_BYTES]
        out.append(nonce + aead.encrypt(nonce, plaintext, aad))
    return out


def open_sealed(aead: AESGCM, blob: bytes, aad: bytes, *, what: str = "value") -> bytes:
    """The plaintext of `blob`; `DecryptionFailed` (naming `what`, never a value) if it fails."""
    try:
        return aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError):
        raise DecryptionFailed(
            f"the {what} does not decrypt: it was moved from its row, altered, or its key "
            "was destroyed"
        ) from None


def record_aad(policy_id: str, subject_id: str, record_id: str, category: str, tier: str) -> bytes:
    """The associated data of a format-2 record."""
    return f"mexfi/v2/record|{policy_id}|{subject_id}|{record_id}|{category}|{tier}".encode()


def field_aad(policy_id: str, subject_id: str, record_id: str, category: str, field: str) -> bytes:
    """The associated data of one field of a format-1 record."""
    return f"mexfi/v1/field|{policy_id}|{subject_id}|{record_id}|{category}|{field}".encode()


def wrap_aad(key_id: str, subject_id: str, category: str, tier: str) -> bytes:
    return f"mexfi/v1/dek|{key_id}|{subject_id}|{category}|{tier}".encode()


def wrap_key(master_key: bytes, data_key: bytes, aad: bytes) -> bytes:
    return seal(AESGCM(master_key), data_key, aad)


def unwrap_key(master_key: bytes, wrapped: bytes, aad: bytes) -> bytes:
    return open_sealed(AESGCM(master_key), wrapped, aad, what="data key")


def blind_index(index_key: bytes, kind: str, normalised: str) -> bytes:
    """A keyed HMAC of a normalised value: equality lookup without storing the value."""
    return hmac.new(index_key, f"{kind}\x00{normalised}".encode(), hashlib.sha256).digest()


def pseudonym(pseudonym_key: bytes, subject_id: str) -> str:
    """The stable pseudonym of a subject in the audit log and registers."""
    digest = hmac.new(pseudonym_key, f"subject\x00{subject_id}".encode(), hashlib.sha256)
    return "ps_" + digest.hexdigest()[:24]
