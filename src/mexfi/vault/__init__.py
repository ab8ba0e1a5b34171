"""The vault: subjects and records sealed at rest, purpose-bound reads, crypto-shredding.

This module is the vault's whole public face: no other capability imports the modules
behind it, and only they touch keys and ciphertext.

    MexfiError
    ├── NotFound     SubjectNotFound, RecordNotFound
    ├── Invalid      UndeclaredData, InvalidValue, CardDataRefused, DecryptionFailed
    └── Denied       PurposeDenied, DisclosureDenied
"""

# The tables register on the records and key-store metadata with the package.
from mexfi.vault import models as _models  # noqa: F401
from mexfi.vault.context import ACTIVE, PASSIVE, TIERS
from mexfi.vault.crypto import DecryptionFailed
from mexfi.vault.errors import (
    CardDataRefused,
    DisclosureDenied,
    InvalidValue,
    PurposeDenied,
    RecordNotFound,
    SubjectNotFound,
    UndeclaredData,
)
from mexfi.vault.schemas import (
    Actor,
    DestructionReport,
    DisclosureRead,
    ExportedRecord,
    RecordCreate,
    RecordRead,
    SubjectData,
    SubjectRead,
)
from mexfi.vault.service import Vault
from mexfi.vault.values import normalise_phone

__all__ = [
    "ACTIVE",
    "PASSIVE",
    "TIERS",
    "Actor",
    "CardDataRefused",
    "DecryptionFailed",
    "DestructionReport",
    "DisclosureDenied",
    "DisclosureRead",
    "ExportedRecord",
    "InvalidValue",
    "PurposeDenied",
    "RecordCreate",
    "RecordNotFound",
    "RecordRead",
    "SubjectData",
    "SubjectNotFound",
    "SubjectRead",
    "UndeclaredData",
    "Vault",
    "normalise_phone",
]
