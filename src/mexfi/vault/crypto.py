"""AES-256-GCM envelope encryption: data keys encrypt fields, master keys wrap data keys.

The associated data binds each ciphertext to where it belongs (subject, record,
category, field for a value; key id, subject, category, tier for a wrapped key),
so a ciphertext copied into another row or another key's slot fails to decrypt.
This module and `keys.py` are the only places that touch key material.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mexfi.errors import Invalid

__all__ = [
    "NONCE_BYTES",
    "DecryptionFailed",
    "blind_index",
    "cipher",
    "decrypt",
    "encrypt",
    "encrypt_many",
    "field_aad",
    "field_aad_prefix",
    "new_data_key",
    "pseudonym",
    "wrap_aad",
]

NONCE_BYTES = 12
KEY_BYTES = 32


class DecryptionFailed(Invalid):
    """A ciphertext does not open under its key and associated data: moved, altered or shredded."""


@lru_cache(maxsize=65536)
def cipher(key: bytes) -> AESGCM:
    # Building the AESGCM context costs more than a short encryption; keep it per key.
    return AESGCM(key)


def new_data_key() -> bytes:
    return os.urandom(KEY_BYTES)


def encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """nonce || ciphertext+tag."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + cipher(key).encrypt(nonce, plaintext, aad)


def encrypt_many(key: bytes, items: list[tuple[bytes, bytes]]) -> list[bytes]:
    """`encrypt` for several (plaintext, aad) pairs, drawing all nonces in one call."""
    aead = cipher(key)
    nonces = os.urandom(NONCE_BYTES * len(items))
    out = []
    for index, (plaintext, aad) in enumerate(items):
        nonce = nonces[index * NONCE_BYTES : (index + 1) * NONCE_BYTES]
        out.append(nonce + aead.encrypt(nonce, plaintext, aad))
    return out


def decrypt(key: bytes, blob: bytes, aad: bytes, *, what: str = "value") -> bytes:
    try:
        return cipher(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError):
        raise DecryptionFailed(
            f"the {what} does not decrypt: it was moved from its row, altered, or its key "
            "was destroyed"
        ) from None


def field_aad_prefix(policy_id: str, subject_id: str, record_id: str, category: str) -> str:
    """The associated data of a record's fields, less the field name."""
    return f"mexfi/v1/field|{policy_id}|{subject_id}|{record_id}|{category}|"


def field_aad(policy_id: str, subject_id: str, record_id: str, category: str, field: str) -> bytes:
    return (field_aad_prefix(policy_id, subject_id, record_id, category) + field).encode()


def wrap_aad(key_id: str, subject_id: str, category: str, tier: str) -> bytes:
    return f"mexfi/v1/dek|{key_id}|{subject_id}|{category}|{tier}".encode()


def blind_index(index_key: bytes, kind: str, normalised: str) -> bytes:
    """A keyed HMAC of a normalised value: equality lookup without storing the value."""
    return hmac.new(index_key, f"{kind}\x00{normalised}".encode(), hashlib.sha256).digest()


def pseudonym(pseudonym_key: bytes, subject_id: str) -> str:
    """The stable pseudonym of a subject in the audit log and registers."""
    digest = hmac.new(pseudonym_key, f"subject\x00{subject_id}".encode(), hashlib.sha256)
    return "ps_" + digest.hexdigest()[:24]
