"""The vault: subjects and records, encrypted at rest, purpose-bound reads, crypto-shredding."""

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
    RecordCreate,
    RecordRead,
    SubjectData,
    SubjectRead,
)
from mexfi.vault.service import Vault

__all__ = [
    "Actor",
    "CardDataRefused",
    "DecryptionFailed",
    "DestructionReport",
    "DisclosureDenied",
    "DisclosureRead",
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
]
