"""The vault: subjects and records sealed at rest, purpose-bound reads, crypto-shredding.

This module is the vault's whole public face: no other capability imports the modules
behind it, and only they touch keys and ciphertext.

    MexfiError
    ├── NotFound     SubjectNotFound, RecordNotFound
    ├── Invalid      UndeclaredData, InvalidValue, CardDataRefused, DecryptionFailed
    └── Denied       PurposeDenied (LocationRefused: NoAppSession, NoActiveOrder,
                     LocationCollectionOff), DisclosureDenied, ActionDenied
"""

# The tables register on the records and key-store metadata with the package.
from mexfi.vault import models as _models  # noqa: F401
from mexfi.vault.access import AccessCell, Fact, access_matrix
from mexfi.vault.compaction import CompactionReport
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
    LocationCollectionOff,
    LocationRefused,
    NoActiveOrder,
    NoAppSession,
    PurposeDenied,
    RecordNotFound,
    SubjectNotFound,
    UndeclaredData,
)
from mexfi.vault.geolocation import AppSessionRead, LocationStatus
from mexfi.vault.keycheck import key_store_in_use
from mexfi.vault.networks import NetworkLocale, locale_from_network
from mexfi.vault.schemas import (
    Actor,
    CategorySummary,
    DestroyedCandidate,
    DestructionReport,
    DisclosureRead,
    ExportedRecord,
    QuarantineRead,
    RecordCreate,
    RecordRead,
    RecordRef,
    SubjectData,
    SubjectRead,
    VerificationContact,
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
    "AppSessionRead",
    "BlindIndexSpec",
    "CardDataRefused",
    "CategorySummary",
    "CompactionReport",
    "DecryptionFailed",
    "DestroyedCandidate",
    "DestructionReport",
    "DisclosureDenied",
    "DisclosureRead",
    "EpochSettings",
    "ExportedRecord",
    "Fact",
    "InvalidValue",
    "LocationCollectionOff",
    "LocationRefused",
    "LocationStatus",
    "MaintenanceReport",
    "MasterKeyStatus",
    "NetworkLocale",
    "NoActiveOrder",
    "NoAppSession",
    "PurposeDenied",
    "QuarantineRead",
    "RecordCreate",
    "RecordNotFound",
    "RecordRead",
    "RecordRef",
    "RetirementReport",
    "RotationReport",
    "SubjectData",
    "SubjectNotFound",
    "SubjectRead",
    "UndeclaredData",
    "Vault",
    "VerificationContact",
    "access_matrix",
    "key_store_in_use",
    "locale_from_network",
    "normalise_phone",
]
