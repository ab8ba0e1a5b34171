"""AES-256-GCM envelope encryption and keyed hashes: the only module that calls the ciphers.

Data keys seal records; master keys wrap data keys. The associated data (AAD) binds
every ciphertext to where it belongs, so a ciphertext copied into another row, another
tier or another key's slot fails to open:

- a record, format 2: `mexfi/v2/record|policy|subject|record|category|tier`;
- a field of a record, format 1: `mexfi/v1/field|policy|subject|record|category|field`;
- a wrapped data key: `mexfi/v1/dek|key id|subject|category|tier`.

The phone's blind index (`slow_blind_index`) follows CipherSweet's design: a slow, memory-hard
keyed derivation (scrypt, salted with a key derived from the index key) truncated to a few
bits, so each stored value stands for a thousand-odd possible numbers and only decrypting a
candidate's phone field confirms a match.

A ciphertext is `nonce (12 bytes) || ciphertext || tag (16 bytes)`. Nonces are random:
at one nonce per record and a fresh data key per subject, category and tier, a key
seals far fewer than the 2^32 messages random 96-bit nonces allow.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mexfi.errors import Invalid

__all__ = [
    "AESGCM",
    "KEY_BYTES",
    "NONCE_BYTES",
    "BlindIndexSpec",
    "DecryptionFailed",
    "field_aad",
    "key_check_value",
    "new_data_key",
    "open_sealed",
    "pseudonym",
    "record_aad",
    "seal",
    "seal_many",
    "slow_blind_index",
    "unwrap_key",
    "verification_code_mac",
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


@dataclass(frozen=True)
class BlindIndexSpec:
    """How a truncated blind index is derived: its width and scrypt's cost parameters.

    Stored values depend on every field: a change needs `mexfi keys reindex`.
    """

    #: Bits kept. Each value then stands for (candidate numbers / 2**bits) numbers, and a
    #: lookup decrypts (registered subjects / 2**bits) candidates (README, Security model).
    bits: int = 16
    #: scrypt's CPU/memory cost N = 2**log2_n; memory is 128 * r * N bytes (2 MiB).
    log2_n: int = 11
    r: int = 8
    p: int = 1

    def __post_init__(self) -> None:
        # The value is stored as an SQL INTEGER (31 bits and a sign); scrypt needs N >= 2.
        if not 2 <= self.bits <= 31 or not 1 <= self.log2_n <= 20:
            raise Invalid(
                f"blind index spec {self} out of range",
                hint="bits in 2..31, log2_n in 1..20",
            )


def slow_blind_index(index_key: bytes, kind: str, normalised: str, spec: BlindIndexSpec) -> int:
    """A truncated, memory-hard keyed hash of a normalised value, in [0, 2**spec.bits).

    The index key enters as scrypt's salt (through an HMAC naming `kind`, so each kind of
    index gets its own): without the key nothing can be computed, and with it every guess
    costs a full scrypt.
    """
    salt = hmac.new(index_key, f"mexfi/v2/blind-index|{kind}".encode(), hashlib.sha256).digest()
    digest = hashlib.scrypt(
        normalised.encode(),
        salt=salt,
        n=1 << spec.log2_n,
        r=spec.r,
        p=spec.p,
        # OpenSSL needs 128 * r * (N + p + 2) bytes; its default cap (32 MiB) is too low
        # for the larger specs.
        maxmem=256 * spec.r * ((1 << spec.log2_n) + spec.p + 2),
        dklen=8,
    )
    return int.from_bytes(digest, "big") >> (64 - spec.bits)


def pseudonym(pseudonym_key: bytes, subject_id: str) -> str:
    """The stable pseudonym of a subject in the audit log and registers."""
    digest = hmac.new(pseudonym_key, f"subject\x00{subject_id}".encode(), hashlib.sha256)
    return "ps_" + digest.hexdigest()[:24]


def key_check_value(key: bytes, label: str) -> bytes:
    """A MAC of a fixed constant under `key` (16 bytes): tells two keys apart, reveals neither."""
    return hmac.new(key, f"mexfi/v1/key-check|{label}".encode(), hashlib.sha256).digest()[:16]


def verification_code_mac(index_key: bytes, code_id: str, request_id: str, code: str) -> bytes:
    """The keyed MAC a one-time verification code is kept as (the code itself never is),
    bound to its code row and request, under a key derived from the index key for this use
    only. Six digits are few: the MAC is worth keeping only because the key is secret and the
    code expires in minutes."""
    key = hmac.new(index_key, b"mexfi/v1/verification-code-key", hashlib.sha256).digest()
    message = f"mexfi/v1/verification-code|{code_id}|{request_id}|{code}".encode()
    return hmac.new(key, message, hashlib.sha256).digest()
