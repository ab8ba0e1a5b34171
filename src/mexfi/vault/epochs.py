"""Master-key epochs: a new master key on a schedule, every data key rewrapped under it, and
old master keys destroyed once no backup within the backup window needs them.

A key-store copy (a backup, a WAL, a free page) keeps data keys wrapped under the master
key current when it was made, the keys of subjects destroyed since included. Removing that
master key from the key file makes all of them unreadable at once. It is safe once

- no live data key is wrapped under it (the rotation rewrapped them all), and
- it was superseded longer ago than the backup window, so every key-store backup still
  kept was taken after the rotation, or can be opened with a key still in the key file.

A key-store copy made at time t is then unreadable from t + epoch + window on.
`master_key_epochs` (in the key store) records when each key id was first seen current,
superseded and retired; never the key. Rotation and retirement span many units of work
(one per batch, each committed), so an interrupted rotation resumes where it stopped.

Both are audited (`key_rotate`, `key_retire`): a code, the key id and a count of data keys,
never a key. A key id from MEXFI_MASTER_KEY that does not pass the audit's screen (the
operator chose it) is left out of the entry rather than stopping the rotation.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from mexfi.audit import AuditAction, personal_data_kind
from mexfi.db import UnitOfWork, crash_point
from mexfi.errors import Invalid
from mexfi.secrets import (
    add_master_key,
    load_secrets,
    master_keys_from_environment,
    refuse_master_keys_from_environment,
    remove_master_keys,
)
from mexfi.vault.bulk import is_postgres
from mexfi.vault.context import VaultContext
from mexfi.vault.models import MasterKeyEpoch
from mexfi.vault.schemas import Actor

__all__ = [
    "DEFAULT_BACKUP_WINDOW",
    "DEFAULT_EPOCH",
    "EpochSettings",
    "MaintenanceReport",
    "MasterKeyEpochs",
    "MasterKeyStatus",
    "RetirementReport",
    "RotationReport",
]

#: A new master key every day: the worker's schedule (TX-7.7 counts in hours, not months).
DEFAULT_EPOCH = timedelta(days=1)
#: Key-store backups are kept one day: destroyed registration data (TX-7.7, 24 h) is then
#: unreadable from any key-store copy at most epoch + window = 48 h after it was made.
DEFAULT_BACKUP_WINDOW = timedelta(days=1)


def _days(name: str, default: timedelta) -> timedelta:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        days = float(value)
    except ValueError:
        days = -1.0
    if not 0 <= days <= 3650:
        raise Invalid(
            f"{name} must be a number of days between 0 and 3650, got {value!r}",
            hint=f"unset it for the default ({default.total_seconds() / 86400:g} days)",
        )
    return timedelta(days=days)


@dataclass(frozen=True)
class EpochSettings:
    """How often the master key changes, and how long key-store backups are kept."""

    epoch: timedelta = DEFAULT_EPOCH
    backup_window: timedelta = DEFAULT_BACKUP_WINDOW

    @classmethod
    def from_env(cls) -> EpochSettings:
        """`MEXFI_KEY_EPOCH_DAYS` and `MEXFI_BACKUP_WINDOW_DAYS` (fractions allowed)."""
        return cls(
            epoch=_days("MEXFI_KEY_EPOCH_DAYS", DEFAULT_EPOCH),
            backup_window=_days("MEXFI_BACKUP_WINDOW_DAYS", DEFAULT_BACKUP_WINDOW),
        )


@dataclass(frozen=True)
class RotationReport:
    master_key_id: str
    #: The master key this rotation added, None when it resumed an earlier one.
    added: str | None
    rewrapped: int


@dataclass(frozen=True)
class MasterKeyStatus:
    id: str
    current: bool
    created_at: datetime
    superseded_at: datetime | None
    live_data_keys: int
    #: When the backup window after its supersession ends (None while current).
    retire_after: datetime | None
    retirable: bool


@dataclass(frozen=True)
class RetirementReport:
    at: datetime
    backup_window: timedelta
    dry_run: bool
    #: Ids destroyed by this call (none on a dry run).
    retired: tuple[str, ...]
    #: Every configured master key before retirement, retirable or not.
    keys: tuple[MasterKeyStatus, ...]

    @property
    def retirable(self) -> tuple[str, ...]:
        return tuple(k.id for k in self.keys if k.retirable)


@dataclass(frozen=True)
class MaintenanceReport:
    """What one scheduled pass did; `rotation_due` with env keys means the operator must act."""

    rotation: RotationReport | None
    retirement: RetirementReport
    rotation_due: bool
    keys_from_environment: bool


class MasterKeyEpochs:
    """Rotation and retirement of the master keys (the key file and `master_key_epochs`)."""

    def __init__(self, ctx: VaultContext) -> None:
        self.ctx = ctx

    # ------------------------------------------------------------------ state

    def _reload_master_keys(self) -> None:
        """The key file's master keys, now; the other secrets stay as the vault got them."""
        ctx = self.ctx
        ctx.secrets = dataclasses.replace(ctx.secrets, master_keys=load_secrets().master_keys)
        ctx.keys.use(ctx.secrets)

    def _sync(self, uow: UnitOfWork, at: datetime) -> dict[str, MasterKeyEpoch]:
        """Record the configured keys' epochs: the current one's start, the others' end.

        A key seen for the first time non-current counts as superseded now: its window
        starts when mexfi learns of it, never earlier (a key put into MEXFI_MASTER_KEY by
        hand, or a key file from before epochs were recorded).
        """
        session = uow.keys
        configured = [key.id for key in self.ctx.secrets.master_keys]
        known = set(session.scalars(select(MasterKeyEpoch.id)))
        missing = [{"id": i, "created_at": at} for i in configured if i not in known]
        if missing:
            # Two processes (the worker, `mexfi keys retire`) may meet a new key at once.
            insert = pg_insert if is_postgres(session) else sqlite_insert
            session.execute(
                insert(MasterKeyEpoch).values(missing).on_conflict_do_nothing(index_elements=["id"])
            )
        rows = {row.id: row for row in session.scalars(select(MasterKeyEpoch))}
        current = self.ctx.secrets.current_master.id
        for key_id in configured:
            row = rows[key_id]
            if key_id == current:
                row.superseded_at = None
            elif row.superseded_at is None:
                row.superseded_at = at
        session.flush()
        return rows

    def statuses(
        self, uow: UnitOfWork, *, backup_window: timedelta, at: datetime | None = None
    ) -> tuple[MasterKeyStatus, ...]:
        """Every configured master key: its epoch, the data keys it wraps, whether retirable."""
        at = at or self.ctx.clock.now()
        rows = self._sync(uow, at)
        usage = self.ctx.keys.master_key_usage(uow)
        current = self.ctx.secrets.current_master.id
        out = []
        for key in self.ctx.secrets.master_keys:
            row = rows[key.id]
            live = usage.get(key.id, 0)
            retire_after = None if row.superseded_at is None else row.superseded_at + backup_window
            out.append(
                MasterKeyStatus(
                    id=key.id,
                    current=key.id == current,
                    created_at=row.created_at,
                    superseded_at=row.superseded_at,
                    live_data_keys=live,
                    retire_after=retire_after,
                    retirable=key.id != current
                    and live == 0
                    and retire_after is not None
                    and retire_after <= at,
                )
            )
        return tuple(out)

    # ------------------------------------------------------------------ rotation

    def _audit(
        self,
        uow: UnitOfWork,
        action: AuditAction,
        actor: Actor,
        *,
        reason: str,
        key_id: str,
        count: int,
        at: datetime,
    ) -> None:
        """One audit entry of a master-key operation: a code, the key id, a count."""
        ctx = self.ctx
        ctx.audit.append(
            uow.records,
            ctx.event(
                action, actor, reason=reason, reference=_auditable(key_id), count=count, at=at
            ),
        )

    def rotate(
        self,
        *,
        actor: Actor,
        new_key: bool = True,
        batch_size: int = 1000,
        on_start: Callable[[int], None] | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> RotationReport:
        """Add a new current master key (unless resuming), then rewrap every data key under it.

        Each batch commits on its own: interrupted, the data keys not yet rewrapped stay
        readable under the old key, and `rotate(new_key=False)` finishes the job. With keys
        from MEXFI_MASTER_KEY a new key is refused (`Conflict`, saying what to do instead).
        Audited: the key added (`master_key_added`), then the data keys rewrapped under it
        (`data_keys_rewrapped`, with their count) once no key is left to rewrap.
        """
        store = self.ctx.store
        added = add_master_key().id if new_key else None
        self._reload_master_keys()
        with store.unit_of_work() as uow:
            now = self.ctx.clock.now()
            self._sync(uow, now)
            pending = self.ctx.keys.keys_pending_rotation(uow)
            if added is not None:
                self._audit(
                    uow,
                    AuditAction.KEY_ROTATE,
                    actor,
                    reason="master_key_added",
                    key_id=added,
                    count=0,
                    at=now,
                )
        if on_start is not None:
            on_start(pending)
        done = 0
        while True:
            with store.unit_of_work() as uow:
                count = self.ctx.keys.rotate_keys(uow, batch_size=batch_size)
            if count == 0:
                break
            crash_point("keys.rotate-batch-committed")
            done += count
            if on_batch is not None:
                on_batch(count)
        current = self.ctx.secrets.current_master.id
        if done or added is not None:
            with store.unit_of_work() as uow:
                self._audit(
                    uow,
                    AuditAction.KEY_ROTATE,
                    actor,
                    reason="data_keys_rewrapped",
                    key_id=current,
                    count=done,
                    at=self.ctx.clock.now(),
                )
        return RotationReport(current, added, done)

    # ------------------------------------------------------------------ retirement

    def retire(
        self, *, actor: Actor, backup_window: timedelta, dry_run: bool = False
    ) -> RetirementReport:
        """Destroy the master keys that wrap no live data key and were superseded longer ago
        than `backup_window`: removed from the key file, their retirement recorded and
        audited (`key_retire`, one entry a key).

        With keys from MEXFI_MASTER_KEY, a retirement that would remove keys is refused
        (`Conflict`, naming what to remove by hand); a dry run lists them.
        """
        if not dry_run:
            refuse_master_keys_from_environment("retire")
        store = self.ctx.store
        at = self.ctx.clock.now()
        self._reload_master_keys()
        with store.unit_of_work() as uow:
            keys = self.statuses(uow, backup_window=backup_window, at=at)
        report = RetirementReport(at, backup_window, dry_run, (), keys)
        if dry_run or not report.retirable:
            return report
        retired = remove_master_keys(report.retirable)
        self._reload_master_keys()
        with store.unit_of_work() as uow:
            for row in uow.keys.scalars(
                select(MasterKeyEpoch).where(MasterKeyEpoch.id.in_(report.retirable))
            ):
                row.retired_at = at
            for key_id in retired:
                self._audit(
                    uow,
                    AuditAction.KEY_RETIRE,
                    actor,
                    reason="master_key_retired",
                    key_id=key_id,
                    count=0,
                    at=at,
                )
        return dataclasses.replace(report, retired=retired)

    # ------------------------------------------------------------------ the schedule

    def maintain(
        self, settings: EpochSettings, *, actor: Actor, batch_size: int = 1000
    ) -> MaintenanceReport:
        """One scheduled pass (the worker's): rotate when the current key's epoch is over,
        finish a rotation left half-done, then retire what the backup window allows."""
        from_env = master_keys_from_environment()
        # Another process (`mexfi keys rotate`) may have changed the key file since.
        self._reload_master_keys()
        at = self.ctx.clock.now()
        with self.ctx.store.unit_of_work() as uow:
            current = self._sync(uow, at)[self.ctx.secrets.current_master.id]
            due = current.created_at + settings.epoch <= at
            pending = self.ctx.keys.keys_pending_rotation(uow)
        rotation = None
        if due and not from_env:
            rotation = self.rotate(actor=actor, new_key=True, batch_size=batch_size)
        elif pending:
            rotation = self.rotate(actor=actor, new_key=False, batch_size=batch_size)
        retirement = self.retire(
            actor=actor, backup_window=settings.backup_window, dry_run=from_env
        )
        return MaintenanceReport(
            rotation=rotation,
            retirement=retirement,
            rotation_due=due and from_env,
            keys_from_environment=from_env,
        )


def _auditable(key_id: str) -> str | None:
    """The key id, for the audit entry's reference, if the audit's screen takes it: mexfi's
    own ids always pass; one chosen by hand in MEXFI_MASTER_KEY may not (then None)."""
    if len(key_id) > 255 or not key_id.isprintable() or personal_data_kind(key_id) is not None:
        return None
    return key_id
