"""The key store's check row: keys this store was not written with are refused before any write.

A key file holding the right master key id with other bytes would let a command wrap new
data keys no correct key file opens; an index key from another environment would make
every phone look-up miss in silence. So the key store keeps one check row in `data_keys`
(id `mexfi-key-check`, scope `CHECK_SCOPE`, no subject's): the index key's and the
pseudonym key's check values (each a MAC of a constant, the canaries), sealed under a
master key as any data key is. Opening it checks that master key (its GCM tag is the
master key's check value) and comparing its content checks the other two. A rotation
rewraps it with the data keys, so it follows the current master key; every other
configured master key is checked against one data key it wrapped.

The first command on a store writes the row, after checking whatever data keys are
already there.
"""

from __future__ import annotations

import hmac
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from mexfi.errors import Invalid
from mexfi.secrets import MasterKey, Secrets
from mexfi.vault import crypto
from mexfi.vault.bulk import is_postgres
from mexfi.vault.models import DataKey

__all__ = ["CHECK_KEY_ID", "CHECK_SCOPE", "check_keys", "key_store_in_use"]

CHECK_KEY_ID = "mexfi-key-check"
#: (subject, category, tier): no subject has it, so no destruction or sweep reaches it.
CHECK_SCOPE = ("mexfi", "mexfi.key_check", "check")
_WHERE = (
    "use the key file (MEXFI_KEY_FILE, default <MEXFI_DATA_DIR>/keys.json) or the "
    "MEXFI_MASTER_KEY / MEXFI_INDEX_KEY / MEXFI_PSEUDONYM_KEY this store was written with; "
    "nothing was written"
)


def _canaries(secrets: Secrets) -> tuple[bytes, bytes]:
    return (
        crypto.key_check_value(secrets.index_key, "index"),
        crypto.key_check_value(secrets.pseudonym_key, "pseudonym"),
    )


def _wrong_master(master_id: str) -> Invalid:
    return Invalid(
        f"master key {master_id} is not the key this key store was written with "
        "(the same id, other bytes): its data keys do not open under it",
        hint=_WHERE,
    )


def _opens(master: MasterKey, key_id: str, scope: tuple[str, str, str], wrapped: bytes) -> bytes:
    try:
        return crypto.unwrap_key(master.key, wrapped, crypto.wrap_aad(key_id, *scope))
    except crypto.DecryptionFailed:
        raise _wrong_master(master.id) from None


def check_keys(session: Session, secrets: Secrets, *, at: datetime) -> None:
    """Raise `Invalid` naming the key (never its bytes) that this store was not written with;
    write the check row if the store has none yet (flushed, not committed).

    `session` is a key-store session, not a unit of work: the check is no operation of its
    own and passes none of the crash points an operation's commit does.
    """
    index_canary, pseudonym_canary = _canaries(secrets)
    row = session.execute(
        select(DataKey.master_key_id, DataKey.wrapped).where(DataKey.id == CHECK_KEY_ID)
    ).first()
    checked: set[str] = set()
    if row is not None:
        master_id, wrapped = row
        content = _opens(secrets.master(master_id), CHECK_KEY_ID, CHECK_SCOPE, wrapped)
        checked.add(master_id)
        if not hmac.compare_digest(content[:16], index_canary):
            raise Invalid(
                "the index key is not the one this store's blind indexes were made with "
                "(its canary differs): every phone look-up would miss",
                hint=_WHERE,
            )
        if not hmac.compare_digest(content[16:], pseudonym_canary):
            raise Invalid(
                "the pseudonym key is not the one this store's audit log and registers were "
                "written with (its canary differs)",
                hint=_WHERE,
            )
    for master in secrets.master_keys:
        if master.id in checked:
            continue
        probe = session.execute(
            select(DataKey.id, DataKey.subject_id, DataKey.category, DataKey.tier, DataKey.wrapped)
            .where(DataKey.master_key_id == master.id, DataKey.id != CHECK_KEY_ID)
            .limit(1)
        ).first()
        if probe is not None:
            key_id, subject_id, category, tier, wrapped = probe
            _opens(master, key_id, (subject_id, category, tier), wrapped)
    if row is None:
        current = secrets.current_master
        values = {
            "id": CHECK_KEY_ID,
            "subject_id": CHECK_SCOPE[0],
            "category": CHECK_SCOPE[1],
            "tier": CHECK_SCOPE[2],
            "master_key_id": current.id,
            "wrapped": crypto.wrap_key(
                current.key,
                index_canary + pseudonym_canary,
                crypto.wrap_aad(CHECK_KEY_ID, *CHECK_SCOPE),
            ),
            "created_at": at,
        }
        insert = pg_insert if is_postgres(session) else sqlite_insert
        # Two first commands at once: one row wins, the other command checks it next time.
        session.execute(insert(DataKey).values(**values).on_conflict_do_nothing())
        session.flush()


def key_store_in_use(session: Session) -> bool:
    """Whether a key store holds any key (a data key or the check row): a store written under
    some key file, which a new key file would not open."""
    return session.scalar(select(DataKey.id).limit(1)) is not None
