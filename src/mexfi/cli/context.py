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
    from mexfi.audit import AuditAnchor, AuditLog
    from mexfi.db import open_store
    from mexfi.migrations import upgrade_store
    from mexfi.policy import load_bundled_policies
    from mexfi.secrets import load_secrets
    from mexfi.vault import Vault

    store = open_store()
    try:
        store.check()
        upgrade_store(store)
        secrets = load_secrets(create=create_keys)
        # The audit log signs with the wall clock (not `clock`, which `--now` may set) and
        # anchors each commit's checkpoint outside the database.
        audit = AuditLog(signing_key=secrets.audit_signing_key, anchor=AuditAnchor.from_env())
        yield Vault(store, load_bundled_policies(), secrets, clock=clock, audit=audit)
    finally:
        store.dispose()
