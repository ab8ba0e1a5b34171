"""Data keys: created, wrapped, unwrapped, shredded and rewrapped, in the key store only.

A data key belongs to one scope: (subject, category, tier). The newest key of a scope
seals new records; older ones live until shredded (a rekey makes a new one first).
Keys are looked up with one indexed query per batch (`ix_data_keys_scope`) and kept,
unwrapped, for the rest of the unit of work only (`UnitOfWork.info`): nothing outlives
the operation, so a key shredded by another process is never used from a stale cache,
and a shredded key leaves no copy in this process's memory once its operation ends.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from mexfi.db import UnitOfWork, new_id
from mexfi.secrets import Secrets
from mexfi.vault import crypto
from mexfi.vault.bulk import bulk_insert, chunks, id_chunks, is_postgres, one_of
from mexfi.vault.compaction import count_shredding
from mexfi.vault.crypto import AESGCM
from mexfi.vault.models import DataKey

__all__ = ["KeyRing", "KeyRow", "KeyScope"]

KeyScope = tuple[str, str, str]
"""(subject id, category, tier)."""

_CACHE = "vault.keys"
#: Subjects a key look-up names at most on PostgreSQL (see `_scope_query`).
LOOKUP_PAGE = 250
#: Keys this unit of work created, by scope: they are the scope's current key from then on.
_CREATED = "vault.created"


class KeyRow(NamedTuple):
    id: str
    subject_id: str
    category: str
    tier: str


class KeyRing:
    """The data keys of the key store, seen through one unit of work at a time."""

    def __init__(self, secrets: Secrets) -> None:
        self.secrets = secrets
        self._masters: dict[str, AESGCM] = {}

    def use(self, secrets: Secrets) -> None:
        """Wrap and unwrap with these master keys from now on (after a rotation or retirement)."""
        self.secrets = secrets
        # A retired master key must not outlive its removal from the key file here either.
        self._masters.clear()

    # ------------------------------------------------------------------ wrapping

    def _master(self, master_key_id: str) -> AESGCM:
        aead = self._masters.get(master_key_id)
        if aead is None:
            aead = self._masters[master_key_id] = AESGCM(self.secrets.master(master_key_id).key)
        return aead

    def _unwrap(self, key_id: str, scope: KeyScope, master_key_id: str, wrapped: bytes) -> AESGCM:
        dek = crypto.open_sealed(
            self._master(master_key_id), wrapped, crypto.wrap_aad(key_id, *scope), what="data key"
        )
        return AESGCM(dek)

    def _wrap(self, key_id: str, scope: KeyScope, dek: bytes) -> tuple[str, bytes]:
        master = self.secrets.current_master
        return master.id, crypto.seal(self._master(master.id), dek, crypto.wrap_aad(key_id, *scope))

    @staticmethod
    def _cache(uow: UnitOfWork) -> dict[str, AESGCM]:
        cache: dict[str, AESGCM] = uow.info.setdefault(_CACHE, {})
        return cache

    # ------------------------------------------------------------------ lookups

    @staticmethod
    def _scope_query(
        session: Session,
        subject_ids: Collection[str],
        categories: Collection[str] | None,
        tiers: Collection[str] | None,
    ) -> list[tuple[str, str, str, str, str, bytes, datetime]]:
        rows: list[tuple[str, str, str, str, str, bytes, datetime]] = []
        ids = list(set(subject_ids))
        # PostgreSQL: pages of ids, each an index look-up however large the key store grows.
        # A thousand ids in one statement tip the planner into reading data_keys whole once
        # it holds some 100,000 keys, a cost that grows with the store.
        pages = chunks(ids, LOOKUP_PAGE) if is_postgres(session) else id_chunks(session, ids)
        for chunk in pages:
            query = select(
                DataKey.id,
                DataKey.subject_id,
                DataKey.category,
                DataKey.tier,
                DataKey.master_key_id,
                DataKey.wrapped,
                DataKey.created_at,
            ).where(one_of(session, DataKey.subject_id, chunk))
            if categories is not None:
                query = query.where(DataKey.category.in_(sorted(set(categories))))
            if tiers is not None:
                query = query.where(DataKey.tier.in_(sorted(set(tiers))))
            rows.extend(session.execute(query))
        return rows

    def live(
        self,
        uow: UnitOfWork,
        subject_ids: Collection[str],
        categories: Collection[str] | None = None,
        tiers: Collection[str] | None = None,
    ) -> dict[str, AESGCM]:
        """Every live key of these subjects' scopes, unwrapped, by key id (one query)."""
        cache = self._cache(uow)
        out: dict[str, AESGCM] = {}
        for key_id, subject, category, tier, master, wrapped, _ in self._scope_query(
            uow.keys, subject_ids, categories, tiers
        ):
            aead = cache.get(key_id)
            if aead is None:
                aead = cache[key_id] = self._unwrap(
                    key_id, (subject, category, tier), master, wrapped
                )
            out[key_id] = aead
        return out

    def current(
        self, uow: UnitOfWork, scopes: Iterable[KeyScope], *, at: datetime
    ) -> dict[KeyScope, tuple[str, AESGCM]]:
        """The newest key of each scope, creating the missing ones (flushed, not committed)."""
        wanted = set(scopes)
        if not wanted:
            return {}
        cache = self._cache(uow)
        created_here: dict[KeyScope, str] = uow.info.get(_CREATED, {})
        newest: dict[KeyScope, tuple[datetime, str, str, bytes]] = {}
        rows = self._scope_query(
            uow.keys, {s for s, _, _ in wanted}, {c for _, c, _ in wanted}, {t for *_, t in wanted}
        )
        for key_id, subject, category, tier, master, wrapped, created in rows:
            scope = (subject, category, tier)
            if scope in wanted:
                held = newest.get(scope)
                if created_here.get(scope) == key_id:
                    created = datetime.max.replace(tzinfo=created.tzinfo)
                if held is None or (created, key_id) > (held[0], held[1]):
                    newest[scope] = (created, key_id, master, wrapped)
        out: dict[KeyScope, tuple[str, AESGCM]] = {}
        for scope, (_, key_id, master, wrapped) in newest.items():
            aead = cache.get(key_id)
            if aead is None:
                aead = cache[key_id] = self._unwrap(key_id, scope, master, wrapped)
            out[scope] = (key_id, aead)
        out.update(self.create(uow, [s for s in wanted if s not in newest], at=at))
        return out

    def create(
        self, uow: UnitOfWork, scopes: Iterable[KeyScope], *, at: datetime
    ) -> dict[KeyScope, tuple[str, AESGCM]]:
        """A fresh key for each scope (older keys stay until shredded); flushed.

        It is the scope's current key from now on: for the rest of this unit of work by
        record, and afterwards because it is the newest (a rekey gives `at` past the old
        key's creation, see `newest_created`).
        """
        cache = self._cache(uow)
        created_here: dict[KeyScope, str] = uow.info.setdefault(_CREATED, {})
        created: dict[KeyScope, tuple[str, AESGCM]] = {}
        rows = []
        for scope in dict.fromkeys(scopes):
            key_id = new_id()
            dek = crypto.new_data_key()
            master_id, wrapped = self._wrap(key_id, scope, dek)
            rows.append(
                {
                    "id": key_id,
                    "subject_id": scope[0],
                    "category": scope[1],
                    "tier": scope[2],
                    "master_key_id": master_id,
                    "wrapped": wrapped,
                    "created_at": at,
                }
            )
            aead = cache[key_id] = AESGCM(dek)
            created[scope] = (key_id, aead)
            created_here[scope] = key_id
        bulk_insert(uow.keys, DataKey, rows)
        return created

    def newest_created(self, uow: UnitOfWork, scope: KeyScope) -> datetime | None:
        """When the scope's newest live key was made (a rekey's new key must come later)."""
        return uow.keys.scalar(
            select(func.max(DataKey.created_at)).where(
                DataKey.subject_id == scope[0],
                DataKey.category == scope[1],
                DataKey.tier == scope[2],
            )
        )

    def rows(
        self,
        uow: UnitOfWork,
        subject_ids: Collection[str],
        categories: Collection[str] | None = None,
        tiers: Collection[str] | None = None,
    ) -> list[KeyRow]:
        """The live keys of these subjects' scopes, without unwrapping them."""
        return [
            KeyRow(key_id, subject, category, tier)
            for key_id, subject, category, tier, *_ in self._scope_query(
                uow.keys, subject_ids, categories, tiers
            )
        ]

    # ------------------------------------------------------------------ shredding

    def shred(self, session: Session, key_ids: Collection[str]) -> int:
        """Delete data keys: whatever they sealed can never be opened again."""
        deleted = 0
        for chunk in id_chunks(session, key_ids):
            result = session.execute(delete(DataKey).where(one_of(session, DataKey.id, chunk)))
            deleted += int(getattr(result, "rowcount", 0) or 0)
        if deleted:
            count_shredding(session)
        return deleted

    def shred_tiers(self, session: Session, key_ids: Collection[str]) -> dict[str, str]:
        """`shred`, telling the tier of each key it deleted: {key id: tier}. Keys already
        gone (a destruction resumed after a crash) are not in it."""
        tiers: dict[str, str] = {}
        for chunk in id_chunks(session, key_ids):
            result = session.execute(
                delete(DataKey)
                .where(one_of(session, DataKey.id, chunk))
                .returning(DataKey.id, DataKey.tier)
                .execution_options(synchronize_session=False)
            )
            tiers.update((key_id, tier) for key_id, tier in result)
        if tiers:
            # Their bytes stay in the table's free space (PostgreSQL): a rewrite is owed.
            count_shredding(session)
        return tiers

    @staticmethod
    def forget(uow: UnitOfWork, key_ids: Iterable[str]) -> None:
        """Drop unwrapped keys from this unit of work's cache."""
        cache = uow.info.get(_CACHE)
        if cache:
            for key_id in key_ids:
                cache.pop(key_id, None)

    # ------------------------------------------------------------------ master key rotation

    def master_key_usage(self, uow: UnitOfWork) -> dict[str, int]:
        """How many live data keys each master key wraps, by master key id."""
        rows = uow.keys.execute(
            select(DataKey.master_key_id, func.count()).group_by(DataKey.master_key_id)
        )
        return {master_key_id: int(count) for master_key_id, count in rows}

    def keys_pending_rotation(self, uow: UnitOfWork) -> int:
        """Data keys not yet wrapped by the current master key."""
        session = uow.keys
        current = self.secrets.current_master.id
        return int(
            session.scalar(select(func.count()).where(DataKey.master_key_id != current)) or 0
        )

    def rotate_keys(self, uow: UnitOfWork, *, batch_size: int = 1000) -> int:
        """Rewrap up to `batch_size` data keys not yet under the current master key (flushed);
        records are untouched. Returns how many: 0 when the rotation is complete."""
        session = uow.keys
        current = self.secrets.current_master.id
        rows: list[tuple[str, str, str, str, str, bytes]] = []
        # One older master key at a time, through its index: each batch reads only keys still
        # to rewrap (`!= current` in id order walked past every rewrapped key, every batch).
        for master in self.secrets.master_keys:
            if master.id == current or len(rows) >= batch_size:
                continue
            query = (
                select(
                    DataKey.id, DataKey.subject_id, DataKey.category, DataKey.tier, DataKey.wrapped
                )
                .where(DataKey.master_key_id == master.id)
                .limit(batch_size - len(rows))
            )
            if is_postgres(session):
                query = query.with_for_update(skip_locked=True)
            rows.extend((master.id, *row) for row in session.execute(query))
        if not rows:
            # Keys under a master key no longer configured cannot be rewrapped: say which.
            stray = session.scalar(
                select(DataKey.master_key_id)
                .where(DataKey.master_key_id.not_in([k.id for k in self.secrets.master_keys]))
                .limit(1)
            )
            if stray is not None:
                self.secrets.master(stray)  # raises Unavailable, naming it
            return 0
        updates = []
        for master_id, key_id, subject, category, tier, wrapped in rows:
            scope = (subject, category, tier)
            dek = crypto.open_sealed(
                self._master(master_id), wrapped, crypto.wrap_aad(key_id, *scope), what="data key"
            )
            new_master, new_wrapped = self._wrap(key_id, scope, dek)
            updates.append({"id": key_id, "master_key_id": new_master, "wrapped": new_wrapped})
        session.execute(update(DataKey), updates)
        return len(updates)
