"""The vault: subjects and records sealed at rest, purpose-bound reads, crypto-shredding.

This module is the vault's whole public face: no other capability imports the modules
behind it, and only they touch keys and ciphertext.

    MexfiError
    ├── NotFound     SubjectNotFound, RecordNotFound
    ├── Invalid      UndeclaredData, InvalidValue, CardDataRefused, DecryptionFailed
    └── Denied       PurposeDenied, DisclosureDenied, ActionDenied
"""

# The tables register on the records and key-store metadata with the package.
from mexfi.vault import models as _models  # noqa: F401
from mexfi.vault.access import AccessCell, Fact, access_matrix
from mexfi.vault.context import ACTIVE, PASSIVE, TIERS
from mexfi.vault.crypto import BlindIndexSpec, DecryptionFailed
from mexfi.vault.epochs import (
    EpochSettings,
    MaintenanceReport,
    MasterKeyStatus,
    RetirementReport,
    RotationReport,
)
from mexfi.vault.errors import (
    ActionDenied,
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
    QuarantineRead,
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
    "AccessCell",
    "ActionDenied",
    "Actor",
    "BlindIndexSpec",
    "CardDataRefused",
    "DecryptionFailed",
    "DestructionReport",
    "DisclosureDenied",
    "DisclosureRead",
    "EpochSettings",
    "ExportedRecord",
    "Fact",
    "InvalidValue",
    "MaintenanceReport",
    "MasterKeyStatus",
    "PurposeDenied",
    "QuarantineRead",
    "RecordCreate",
    "RecordNotFound",
    "RecordRead",
    "RetirementReport",
    "RotationReport",
    "SubjectData",
    "SubjectNotFound",
    "SubjectRead",
    "UndeclaredData",
    "Vault",
    "access_matrix",
    "normalise_phone",
]
