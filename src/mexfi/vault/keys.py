"""Data keys: created, wrapped, unwrapped, shredded and rewrapped, in the key store only."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.orm import Session

from mexfi.secrets import Secrets
from mexfi.vault import crypto
from mexfi.vault.models import DataKey

__all__ = ["KeyScope", "KeyService", "UnwrappedKey"]

KeyScope = tuple[str, str, str]
"""(subject id, category, tier)."""

UnwrappedKey = tuple[str, bytes]
"""(key id, data key)."""


class KeyService:
    """Envelope keys over one key-store session at a time."""

    def __init__(self, secrets: Secrets) -> None:
        self.secrets = secrets

    def _unwrap(self, row: DataKey) -> bytes:
        master = self.secrets.master(row.master_key_id)
        return crypto.decrypt(
            master.key,
            row.wrapped,
            crypto.wrap_aad(row.id, row.subject_id, row.category, row.tier),
            what="data key",
        )

    def _wrap(self, key_id: str, scope: KeyScope, dek: bytes) -> tuple[str, bytes]:
        master = self.secrets.current_master
        return master.id, crypto.encrypt(master.key, dek, crypto.wrap_aad(key_id, *scope))

    def _rows(self, session: Session, scopes: Collection[KeyScope]) -> list[DataKey]:
        rows: list[DataKey] = []
        scope_list = list(dict.fromkeys(scopes))
        for start in range(0, len(scope_list), 500):
            chunk = scope_list[start : start + 500]
            # Row-value IN works on SQLite and PostgreSQL; chunks stay under parameter limits.
            in_scope = tuple_(DataKey.subject_id, DataKey.category, DataKey.tier).in_(chunk)
            rows.extend(session.scalars(select(DataKey).where(in_scope)))
        return rows

    def load(self, session: Session, scopes: Collection[KeyScope]) -> dict[KeyScope, UnwrappedKey]:
        """The current (newest) key of each scope; shredded or never-made scopes are absent."""
        newest: dict[KeyScope, DataKey] = {}
        for row in self._rows(session, scopes):
            scope = (row.subject_id, row.category, row.tier)
            held = newest.get(scope)
            if held is None or (row.created_at, row.id) > (held.created_at, held.id):
                newest[scope] = row
        return {scope: (row.id, self._unwrap(row)) for scope, row in newest.items()}

    def load_all(self, session: Session, scopes: Collection[KeyScope]) -> dict[str, bytes]:
        """Every live key of `scopes` by key id: a record names the key it was written under."""
        return {row.id: self._unwrap(row) for row in self._rows(session, scopes)}

    def create(
        self, session: Session, scopes: Collection[KeyScope], *, at: datetime
    ) -> dict[KeyScope, UnwrappedKey]:
        """A fresh key for each scope (older keys stay until shredded)."""
        keys: dict[KeyScope, UnwrappedKey] = {}
        rows = []
        for scope in dict.fromkeys(scopes):
            key_id = uuid.uuid4().hex
            dek = crypto.new_data_key()
            master_id, wrapped = self._wrap(key_id, scope, dek)
            rows.append(
                DataKey(
                    id=key_id,
                    subject_id=scope[0],
                    category=scope[1],
                    tier=scope[2],
                    master_key_id=master_id,
                    wrapped=wrapped,
                    created_at=at,
                )
            )
            keys[scope] = (key_id, dek)
        if rows:
            session.add_all(rows)
            session.flush()
        return keys

    def ensure(
        self, session: Session, scopes: Collection[KeyScope], *, at: datetime
    ) -> dict[KeyScope, UnwrappedKey]:
        """The current key of each scope, creating the missing ones (flushes; caller commits)."""
        keys = self.load(session, scopes)
        missing = [scope for scope in dict.fromkeys(scopes) if scope not in keys]
        keys.update(self.create(session, missing, at=at))
        return keys

    def key_ids(
        self,
        session: Session,
        subject_id: str,
        categories: Iterable[str],
        *,
        tiers: Collection[str] | None = None,
    ) -> list[str]:
        """Ids of the live keys of a subject's categories (every tier unless `tiers`)."""
        query = select(DataKey.id).where(
            DataKey.subject_id == subject_id, DataKey.category.in_(list(categories))
        )
        if tiers is not None:
            query = query.where(DataKey.tier.in_(list(tiers)))
        return list(session.scalars(query))

    def shred(self, session: Session, key_ids: Collection[str]) -> int:
        """Delete data keys: whatever they encrypted can never be decrypted again."""
        if not key_ids:
            return 0
        result = session.execute(delete(DataKey).where(DataKey.id.in_(list(key_ids))))
        return int(getattr(result, "rowcount", 0) or 0)

    def pending_rotation(self, session: Session) -> int:
        current = self.secrets.current_master.id
        return int(
            session.scalar(select(func.count()).where(DataKey.master_key_id != current)) or 0
        )

    def rotate_batch(self, session: Session, *, batch_size: int = 1000) -> int:
        """Rewrap up to `batch_size` keys not yet under the current master key; returns how many.

        Each batch commits on its own, so an interrupted rotation resumes where it stopped.
        """
        current = self.secrets.current_master.id
        rows = list(
            session.scalars(
                select(DataKey)
                .where(DataKey.master_key_id != current)
                .order_by(DataKey.id)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            )
        )
        for row in rows:
            dek = self._unwrap(row)
            row.master_key_id, row.wrapped = self._wrap(
                row.id, (row.subject_id, row.category, row.tier), dek
            )
        session.flush()
        return len(rows)
