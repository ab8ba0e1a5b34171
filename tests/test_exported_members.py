"""The public face of each capability is what its `__all__` says, sorted and importable."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "mexfi",
    "mexfi.api",
    "mexfi.apikeys",
    "mexfi.audit",
    "mexfi.bench",
    "mexfi.consent",
    "mexfi.deps",
    "mexfi.errors",
    "mexfi.policy",
    "mexfi.requests",
    "mexfi.retention",
    "mexfi.scan",
    "mexfi.services",
    "mexfi.vault",
    "mexfi.web",
]


def _isort_key(name: str) -> tuple[int, str]:
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions.
    if name.isupper():
        return (0, name)
    return (1, name) if name[:1].isupper() else (2, name)


@pytest.mark.parametrize("name", MODULES)
def test_all_is_sorted_and_importable(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported, key=_isort_key), f"{name}.__all__ is not sorted"
    for member in exported:
        assert hasattr(module, member), f"{name}.{member} is exported but missing"


def test_vault_public_face() -> None:
    import mexfi.vault

    assert {"Vault", "Actor", "PurposeDenied", "CardDataRefused", "DecryptionFailed"} <= set(
        mexfi.vault.__all__
    )
