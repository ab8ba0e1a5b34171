"""Opening the running system: the store from the environment, its keys, the bundled
policies, a vault over them. Shared by the fronts (the CLI's commands, the HTTP API's app)
and the workers; infrastructure, like `mexfi.db`."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mexfi.clock import Clock

if TYPE_CHECKING:
    from mexfi.db import StoreConfig, StorePresence
    from mexfi.policy import Policy
    from mexfi.vault import Vault

#: How to point mexfi at a store elsewhere.
POINT_ELSEWHERE = (
    "point at your store with MEXFI_DATA_DIR (its SQLite files and key file), or with "
    "MEXFI_DATABASE_URL, MEXFI_KEYSTORE_URL and MEXFI_KEY_FILE (or MEXFI_MASTER_KEY)"
)

__all__ = [
    "POINT_ELSEWHERE",
    "load_policies_each",
    "open_vault",
    "register_policies",
    "require_store",
    "store_places",
]


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


def store_places(
    config: StoreConfig, presence: StorePresence | None = None, *, keys: bool | None = None
) -> str:
    """Where the store is looked for, a line a place, with what was found there."""
    from mexfi.db import data_dir, render_url
    from mexfi.secrets import key_file_path

    def state(found: bool | None) -> str:
        return "" if found is None else (": found" if found else ": nothing there")

    records = presence.records if presence else None
    keys_there = presence.keys if presence else None
    source = "MEXFI_DATA_DIR" if "MEXFI_DATA_DIR" in os.environ else "default ./.mexfi"
    lines = [
        f"  data dir   {data_dir().resolve()} ({source})",
        f"  records    {render_url(config.records_url)}{state(records)}",
        f"  key store  {render_url(config.keys_url)}{state(keys_there)}",
    ]
    if "MEXFI_MASTER_KEY" in os.environ:
        lines.append("  keys       MEXFI_MASTER_KEY")
    else:
        lines.append(f"  key file   {key_file_path().resolve()}{state(keys)}")
    return "\n".join(lines)


def require_store(config: StoreConfig) -> None:
    """`StoreNotFound` (exit 5) saying where the store was looked for and how to point
    elsewhere, unless its records database, key store and keys are all there. Creates
    nothing: only `mexfi init` creates a store."""
    from mexfi.db import StoreNotFound, store_presence
    from mexfi.secrets import key_file_path

    presence = store_presence(config)
    keys = "MEXFI_MASTER_KEY" in os.environ or key_file_path().exists()
    if presence.records and presence.keys and keys:
        return
    places = store_places(config, presence, keys=keys)
    if not presence.records and not presence.keys:
        raise StoreNotFound(
            f"no mexfi store here; looked for it at\n{places}",
            hint=f"{POINT_ELSEWHERE}; `mexfi init` creates a new store (nothing was created)",
        )
    if presence.records and not presence.keys:
        raise StoreNotFound(
            f"the records database is there but its key store is not; looked at\n{places}",
            hint="set MEXFI_KEYSTORE_URL to the key store these records were written with "
            "(or restore it from its backup): without it no record opens",
        )
    if not presence.records:
        raise StoreNotFound(
            f"the key store is there but no records database; looked at\n{places}",
            hint=f"{POINT_ELSEWHERE}; `mexfi init` finishes a store it began",
        )
    raise StoreNotFound(
        f"the store is there but not its key file; looked at\n{places}",
        hint="point MEXFI_KEY_FILE at the key file this store was written with (or set "
        "MEXFI_MASTER_KEY, MEXFI_INDEX_KEY and MEXFI_PSEUDONYM_KEY): a new key file would "
        "not open it",
    )


def register_policies(vault: Vault) -> None:
    """Register the version of each policy the vault loaded (`mexfi.consent`), committed: a
    changed policy file is a new version, taking effect at its effective date (BK-1.2,
    BK-7.3); the same file registers nothing; the same version string over other content is
    `PolicyVersionConflict`, asking for a new `policy.version`. Stamped with the wall clock
    (not the vault's, which `--now` may set): it is when the version was posted."""
    from mexfi.clock import SystemClock
    from mexfi.consent import register_policy_versions

    with vault.unit_of_work() as uow:
        register_policy_versions(uow, vault.policies.values(), at=SystemClock().now())


@contextmanager
def open_vault(
    *, clock: Clock | None = None, policies: Mapping[str, Policy] | None = None
) -> Iterator[Vault]:
    """A `Vault` over the store the environment names, disposed of on exit.

    Over `policies` if given (`load_policies_each`), else every bundled policy (one broken
    file is then an error).

    The store must exist (`require_store`: only `mexfi init` creates one); an existing
    store is brought to the newest schema. The keys are loaded before the store is opened,
    and checked against the key store before the command writes anything: with keys this
    store was not written with, nothing is written. Then the policies' versions are
    registered (`register_policies`).
    """
    from mexfi.audit import AuditAnchor, AuditLog
    from mexfi.db import StoreConfig, open_store
    from mexfi.migrations import upgrade_store
    from mexfi.policy import load_bundled_policies
    from mexfi.secrets import key_file_path, load_secrets
    from mexfi.vault import Vault

    config = StoreConfig.from_env()
    # Keys given are read first: a malformed key file is refused as such, store or not.
    given = "MEXFI_MASTER_KEY" in os.environ or key_file_path().exists()
    secrets = load_secrets() if given else None
    require_store(config)
    store = open_store(config)
    secrets = secrets or load_secrets()
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
        register_policies(vault)
        yield vault
    finally:
        store.dispose()
