"""Opening the running system for a command: the store from the environment, its keys, the
bundled policies, a vault over them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mexfi.clock import Clock

if TYPE_CHECKING:
    from mexfi.vault import Vault

__all__ = ["open_vault"]


@contextmanager
def open_vault(*, create_keys: bool = False, clock: Clock | None = None) -> Iterator[Vault]:
    """A `Vault` over the store of `MEXFI_DATABASE_URL` (migrated), disposed of on exit."""
    from mexfi.db import open_store
    from mexfi.migrations import upgrade_store
    from mexfi.policy.loader import load_bundled_policies
    from mexfi.secrets import load_secrets
    from mexfi.vault import Vault

    store = open_store()
    try:
        store.check()
        upgrade_store(store)
        yield Vault(store, load_bundled_policies(), load_secrets(create=create_keys), clock=clock)
    finally:
        store.dispose()
