"""Opening the running system for a command: the store from the environment, its keys, the
bundled policies, a vault over them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mexfi.clock import Clock

if TYPE_CHECKING:
    from mexfi.policy import Policy
    from mexfi.vault import Vault

__all__ = ["load_policies_each", "open_vault"]


def load_policies_each() -> tuple[dict[str, Policy], dict[str, str]]:
    """Each policy file of the policy folder loaded on its own: the policies that load, by id,
    and {file: why} for those that do not, so that one broken file stops only its own policy.

    Files sharing a policy id are all refused: which one is meant cannot be guessed.
    """
    from mexfi.errors import MexfiError
    from mexfi.policy import bundled_policy_paths, load_policy

    loaded: dict[str, list[tuple[str, Policy]]] = {}
    broken: dict[str, str] = {}
    for path in bundled_policy_paths():
        try:
            policy = load_policy(path)
        except MexfiError as exc:
            broken[str(path)] = exc.message
            continue
        loaded.setdefault(policy.id, []).append((str(path), policy))
    policies: dict[str, Policy] = {}
    for policy_id, files in loaded.items():
        if len(files) == 1:
            policies[policy_id] = files[0][1]
            continue
        for file, _ in files:
            others = ", ".join(f for f, _ in files if f != file)
            broken[file] = f"policy id {policy_id!r} is also the id of {others}: neither applies"
    return policies, broken


@contextmanager
def open_vault(
    *, clock: Clock | None = None, policies: Mapping[str, Policy] | None = None
) -> Iterator[Vault]:
    """A `Vault` over the store of `MEXFI_DATABASE_URL` (migrated), disposed of on exit.

    Over `policies` if given (`load_policies_each`), else every bundled policy (one broken
    file is then an error).

    The keys are loaded before the store is opened, and checked against the key store
    before the command writes anything: without a key file (only `mexfi keys init` makes
    one) or with keys this store was not written with, nothing is created or written.
    """
    from mexfi.audit import AuditAnchor, AuditLog
    from mexfi.db import open_store
    from mexfi.migrations import upgrade_store
    from mexfi.policy import load_bundled_policies
    from mexfi.secrets import load_secrets
    from mexfi.vault import Vault

    secrets = load_secrets()
    store = open_store()
    try:
        store.check()
        upgrade_store(store)
        # The audit log signs with the wall clock (not `clock`, which `--now` may set) and
        # anchors each commit's checkpoint outside the database.
        audit = AuditLog(signing_key=secrets.audit_signing_key, anchor=AuditAnchor.from_env())
        if policies is None:
            policies = load_bundled_policies()
        vault = Vault(store, policies, secrets, clock=clock, audit=audit)
        with store.keys() as keys:
            vault.check_keys(keys)
        yield vault
    finally:
        store.dispose()
