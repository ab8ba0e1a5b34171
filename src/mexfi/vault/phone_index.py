"""The phone's blind index: truncated and slow (CipherSweet's design), confirmed by decryption.

A subject's `phone_bucket` is `crypto.slow_blind_index` of its normalised phone, keyed by
the index key, cut to `BlindIndexSpec.bits` (16): some thousand of the 64 M Azerbaijani
mobile numbers share each value. A thief holding a records backup and
the index key who tries every number learns, for a destroyed subject, a thousand-odd
numbers, never which one: the phone field that would tell is sealed under a data key
destruction shredded. A lookup fetches the policy's subjects sharing the value
(registered / 2**bits of them) and keeps the one whose phone field, decrypted with its
own data key, is the phone.

`REINDEX` marks a subject indexed under the old scheme (a full HMAC in `phone_index`,
emptied by the `blind_index_v2` migration): `reindex` rebuilds its value from its
decrypted phone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from sqlalchemy import func, select, text, update

from mexfi.db import UnitOfWork
from mexfi.policy import FieldType, Policy
from mexfi.vault.bulk import is_postgres, one_of
from mexfi.vault.context import ACTIVE, PASSIVE, VaultContext
from mexfi.vault.crypto import DecryptionFailed
from mexfi.vault.models import PassiveRecord, Record, Subject
from mexfi.vault.sealing import open_record, python_values
from mexfi.vault.values import normalise_phone

__all__ = [
    "LOCK_STRIPES",
    "REINDEX",
    "holders",
    "lock_index",
    "pending_reindex",
    "phone_field",
    "phones_of",
    "reindex",
]

#: `phone_bucket` of a subject indexed under the old scheme, waiting for `reindex`.
REINDEX = -1
#: Advisory locks a policy's registrations are spread over (PostgreSQL's lock table is
#: shared and small: one lock per value would exhaust it in a bulk registration).
LOCK_STRIPES = 256


def phone_field(policy: Policy, category_id: str) -> str:
    """The name of the phone field of the category holding the indexed phone."""
    return next(f.name for f in policy.category(category_id).fields if f.type is FieldType.PHONE)


def phones_of(
    ctx: VaultContext, uow: UnitOfWork, policy: Policy, kinds: Mapping[str, str]
) -> dict[str, list[str]]:
    """{subject id: phones of its phone category, oldest first} of these subjects ({id: kind}),
    decrypted with their own data keys, both tiers. A record that does not open is skipped:
    it cannot confirm anything, and one damaged record must not stop every lookup."""
    wanted: dict[str, str] = {}
    for subject_id, kind in kinds.items():
        category = ctx.phone_category(policy, kind)
        if category is not None:
            wanted[subject_id] = category
    found: dict[str, list[tuple[object, str]]] = defaultdict(list)
    if not wanted:
        return {}
    categories = set(wanted.values())
    keys = ctx.keys.live(uow, list(wanted), categories)
    for table, tier in ((Record, ACTIVE), (PassiveRecord, PASSIVE)):
        rows = uow.records.execute(
            select(
                table.id,
                table.subject_id,
                table.category,
                table.key_id,
                table.format,
                table.payload,
                table.collected_at,
            ).where(
                one_of(uow.records, table.subject_id, list(wanted)),
                table.category.in_(sorted(categories)),
            )
        )
        for record_id, subject_id, category, key_id, record_format, payload, collected in rows:
            aead = keys.get(key_id)
            if aead is None or wanted[subject_id] != category:
                continue
            types = ctx.types(policy, category)
            place = (policy.id, subject_id, record_id, category, tier)
            try:
                plaintext = open_record(aead, payload, record_format, place, types)
            except DecryptionFailed:
                continue
            phone = python_values(types, plaintext).get(phone_field(policy, category))
            if isinstance(phone, str):
                found[subject_id].append((collected, phone))
    return {s: [phone for _, phone in sorted(pairs)] for s, pairs in found.items()}


def holders(
    ctx: VaultContext,
    uow: UnitOfWork,
    policy: Policy,
    phone: str,
    *,
    index: int | None = None,
    besides: str | None = None,
) -> list[str]:
    """Ids of the policy's subjects registered with `phone`: the candidates sharing its index
    value, each confirmed by decrypting its phone field."""
    normalised = normalise_phone(phone)
    if index is None:
        index = ctx.phone_index(normalised)
    query = select(Subject.id, Subject.kind).where(
        Subject.policy_id == policy.id, Subject.phone_bucket == index
    )
    if besides is not None:
        query = query.where(Subject.id != besides)
    candidates = {subject_id: kind for subject_id, kind in uow.records.execute(query)}
    if not candidates:
        return []
    phones = phones_of(ctx, uow, policy, candidates)
    return sorted(s for s in candidates if normalised in phones.get(s, ()))


def lock_index(uow: UnitOfWork, policy_id: str, index: int) -> None:
    """Serialise registrations sharing an index value until this unit of work ends.

    No unique constraint can keep a phone to one subject (values are shared by design), so
    check-then-insert must not race. PostgreSQL: a transaction-scoped advisory lock on the
    value's stripe (one of `LOCK_STRIPES`, so a bulk registration holds a bounded number of
    locks); SQLite's write lock (BEGIN IMMEDIATE) already serialises writers.
    """
    if not is_postgres(uow.records):
        return
    name = f"mexfi/phone-index|{policy_id}|{index % LOCK_STRIPES}|"
    # Advisory locks are per database: the store's schema is part of the key, else stores
    # in other schemas of the database (tests, benchmarks) wait on each other's locks.
    uow.records.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:name || current_schema(), 0))"),
        {"name": name},
    )


def pending_reindex(uow: UnitOfWork) -> int:
    """Subjects still indexed under the old scheme (not findable by phone until reindexed)."""
    return int(
        uow.records.scalar(
            select(func.count()).select_from(Subject).where(Subject.phone_bucket == REINDEX)
        )
        or 0
    )


def reindex(ctx: VaultContext, uow: UnitOfWork, *, batch_size: int) -> int:
    """Rebuild up to `batch_size` old-scheme index values from the subjects' decrypted phones
    (the newest phone record); a subject with no phone left to read loses its index. Returns
    how many were done: 0 when none is left."""
    query = (
        select(Subject.id, Subject.policy_id, Subject.kind)
        .where(Subject.phone_bucket == REINDEX)
        .order_by(Subject.id)
        .limit(batch_size)
    )
    if is_postgres(uow.records):
        query = query.with_for_update(skip_locked=True)
    rows = list(uow.records.execute(query))
    by_policy: dict[str, dict[str, str]] = defaultdict(dict)
    for subject_id, policy_id, kind in rows:
        by_policy[policy_id][subject_id] = kind
    changes: list[dict[str, object]] = []
    for policy_id, kinds in by_policy.items():
        phones = phones_of(ctx, uow, ctx.policy(policy_id), kinds)
        for subject_id in kinds:
            held = phones.get(subject_id)
            value = ctx.phone_index(held[-1]) if held else None
            changes.append({"id": subject_id, "phone_bucket": value})
    if changes:
        uow.records.execute(update(Subject), changes)
    return len(changes)
