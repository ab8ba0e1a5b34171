"""The vault: subjects and their records, sealed at rest, read only for a declared purpose.

`Vault` is the one face of the capability: other capabilities, the CLI and the API call
it and nothing behind it. It is assembled from plain parts, each one concern:

    Subjects     register, find by phone, block, page through for the sweeps
    Records      write, read, export (a stream), rectify, destroy some, reseal
    Tiering      move records to the passive tier (BK-3.3)
    Quarantine   records that would not open, moved aside with their evidence
    Shredder     crypto-shredding with evidence, certificates, held certificates
    Disclosures  written consents, disclosures, their register
    Orders       orders that let a customer see a driver (TX-13)
    GeolocationSwitch  app sessions and the location switch (TX-12); the write path checks
                 every location ping against them (`geolocation.check_location_window`)
    Facts        what request, lawful and consent purposes are bound to: open requests,
                 lawful demands, opt-ins
    Identity     verifying a request's author: the phone a code goes to, written details
                 compared with what is held (answers, never values), the codes' MAC
    KeyRing      the data keys (context.py holds it with the policies and the audit log)
    MasterKeyEpochs  master keys rotated on a schedule and retired after the backup window
    KeyStoreCompaction  the data-key table rewritten so shredded keys leave its files

Every method takes the `UnitOfWork` it works in and flushes; the caller commits once
(see `mexfi.db`). An operation's records and its audit entries commit together; a
denial is audited even when the caller rolls back.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from mexfi.audit import AuditLog
from mexfi.clock import Clock
from mexfi.db import PASSIVE_SCHEMA, Store, UnitOfWork
from mexfi.policy import Policy
from mexfi.scan import pseudonym as value_pseudonym
from mexfi.secrets import Secrets
from mexfi.vault import phone_index as phones
from mexfi.vault.compaction import KeyStoreCompaction
from mexfi.vault.context import VaultContext
from mexfi.vault.crypto import BlindIndexSpec
from mexfi.vault.disclosure import Disclosures
from mexfi.vault.epochs import MasterKeyEpochs
from mexfi.vault.facts import Facts
from mexfi.vault.geolocation import GeolocationSwitch
from mexfi.vault.identity import Identity
from mexfi.vault.keycheck import check_keys
from mexfi.vault.orders import Orders
from mexfi.vault.quarantine import Quarantine
from mexfi.vault.records import Records
from mexfi.vault.schemas import (
    Actor,
    DestructionReport,
    RecordCreate,
)
from mexfi.vault.shredding import Shredder
from mexfi.vault.subjects import Subjects
from mexfi.vault.tiering import Tiering

__all__ = ["Vault"]


class Vault:
    """Personal data of the subjects of one or more policies.

    The operations are the parts' own methods, bound here (each documents itself); the
    façade adds only what spans parts.
    """

    def __init__(
        self,
        store: Store,
        policies: Mapping[str, Policy],
        secrets: Secrets,
        *,
        audit: AuditLog | None = None,
        clock: Clock | None = None,
        phone_index: BlindIndexSpec | None = None,
    ) -> None:
        ctx = VaultContext(
            store,
            policies,
            secrets,
            audit=audit or AuditLog(signing_key=secrets.audit_signing_key, clock=clock),
            clock=clock,
            phone_index=phone_index,
        )
        self._ctx = ctx
        shredder = Shredder(ctx)
        quarantine = Quarantine(ctx)
        records = Records(ctx, shredder, quarantine)
        subjects = Subjects(ctx, records)
        tiering = Tiering(ctx, quarantine)
        disclosures = Disclosures(ctx, records)
        orders = Orders(ctx)
        # subjects
        self.register = subjects.register
        self.register_many = subjects.register_many
        self.find_by_phone = subjects.find_by_phone
        self.subject = subjects.subject
        self.subject_by_pseudonym = subjects.by_pseudonym
        self.subjects_of = subjects.subjects_of
        self.category_summary = subjects.category_summary
        self.destroyed_candidates = subjects.destroyed_candidates
        self.set_status = subjects.set_status
        # records
        self.write_many = records.write_many
        self.read = records.read
        self.export = records.export
        self.record_counts = records.record_counts
        self.records_of = records.records_of
        self.active_records = records.active_records
        self.rectify = records.rectify
        self.destroy_records = records.destroy_records
        self.records_pending_reseal = records.records_pending_reseal
        self.reseal = records.reseal
        # orders (TX-13)
        self.open_order = orders.open_order
        self.close_order = orders.close_order
        # app sessions and the geolocation switch (TX-12)
        geolocation = GeolocationSwitch(ctx)
        self.open_app_session = geolocation.open_app_session
        self.close_app_session = geolocation.close_app_session
        self.app_session = geolocation.app_session
        self.app_sessions = geolocation.app_sessions
        self.location_status = geolocation.location_status
        self.switch_location = geolocation.switch_location
        # retention
        self.due_subjects = subjects.due_subjects
        self.due_records = subjects.due_records
        self.tier = tiering.tier
        self.destroy_many = shredder.destroy_many
        self.complete_destructions = shredder.complete_destructions
        self.certify_holds = shredder.certify_holds
        self.destruction_evidence = shredder.destruction_evidence
        self.destruction_of = shredder.destruction_of
        self.quarantined = quarantine.quarantined
        self.quarantine_counts = quarantine.quarantine_counts
        # disclosures
        self.record_written_consent = disclosures.record_written_consent
        self.written_consents = disclosures.written_consents
        self.withdraw_written_consent = disclosures.withdraw_written_consent
        self.disclose = disclosures.disclose
        self.disclosures = disclosures.disclosures
        # facts purposes are bound to
        facts = Facts(ctx)
        self.open_request = facts.open_request
        self.close_request = facts.close_request
        self.record_lawful_demand = facts.record_lawful_demand
        self.record_opt_in = facts.record_opt_in
        # verifying who makes a request, before it reads anything
        identity = Identity(ctx, records)
        self.verification_contact = identity.verification_contact
        self.compare_identity = identity.compare_identity
        self.verification_code_mac = identity.verification_code_mac
        # keys
        self.keys_pending_rotation = ctx.keys.keys_pending_rotation
        self.rotate_keys = ctx.keys.rotate_keys
        epochs = MasterKeyEpochs(ctx)
        self.rotate_master_key = epochs.rotate
        self.retire_master_keys = epochs.retire
        self.maintain_master_keys = epochs.maintain
        self.master_key_statuses = epochs.statuses
        compaction = KeyStoreCompaction(ctx)
        self.compact_key_store = compaction.compact
        self.shreddings_pending_compaction = compaction.pending

    # ------------------------------------------------------------------ context

    @property
    def store(self) -> Store:
        return self._ctx.store

    @property
    def policies(self) -> dict[str, Policy]:
        return self._ctx.policies

    @property
    def clock(self) -> Clock:
        return self._ctx.clock

    @property
    def audit(self) -> AuditLog:
        return self._ctx.audit

    @property
    def master_key_id(self) -> str:
        """The id (never the key) of the master key new data keys are wrapped under."""
        return self._ctx.secrets.current_master.id

    def policy(self, policy_id: str) -> Policy:
        """A loaded policy; `PolicyNotFound` naming the loaded ones otherwise."""
        return self._ctx.policy(policy_id)

    @staticmethod
    def phones_pending_reindex(uow: UnitOfWork) -> int:
        """Subjects still indexed under the old blind index (not findable by phone yet); needs
        no keys, so `Vault.phones_pending_reindex(uow)` works on a bare store too."""
        return phones.pending_reindex(uow)

    def reindex_phones(self, uow: UnitOfWork, *, batch_size: int = 500) -> int:
        """Rebuild up to `batch_size` old-scheme phone index values (flushed, not committed);
        returns how many, 0 when none is left."""
        return phones.reindex(self._ctx, uow, batch_size=batch_size)

    def pseudonym(self, subject_id: str) -> str:
        """The subject's pseudonym in the audit log and the registers."""
        return self._ctx.pseudonym(subject_id)

    def value_pseudonym(self, kind: str, value: str, *, digest_chars: int = 8) -> str:
        """The pseudonym (`TYPE_xxxxxxxx`) redaction gives a value of an entity type, under
        the store's pseudonym key: the keyed function `mexfi.scan.redact` takes, so that
        files redacted anywhere join on the same pseudonyms and no key leaves the vault.
        An identity kept in a register (a device, a phone's rate limit) takes
        `digest_chars=24`: 8 hex digits collide among a few ten thousand values."""
        return value_pseudonym(
            kind, value, self._ctx.secrets.pseudonym_key, digest_chars=digest_chars
        )

    def api_key_digest(self, key: str) -> str:
        """The keyed hash (HMAC-SHA256, hex) an API key is stored and looked up by; the key
        it is made under never leaves the vault."""
        return hmac.new(
            self._ctx.secrets.api_key_hash_key, key.encode("utf-8"), hashlib.sha256
        ).hexdigest()

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work over the vault's store, bound to the vault's audit log (what
        the consent ledger anchors its entries in: `AuditLog.of(uow)`)."""
        return self._ctx.audit.bind(self._ctx.store.unit_of_work())

    def check_keys(self, keys: Session) -> None:
        """Refuse a master, index or pseudonym key this store was not written with (`Invalid`,
        naming the key, never its bytes); the first call on a store writes its check row in
        `keys` (a key-store session: `store.keys()`), flushed."""
        check_keys(keys, self._ctx.secrets, at=self._ctx.now())

    # ------------------------------------------------------------------ shorthands

    def write(
        self,
        uow: UnitOfWork,
        subject_id: str,
        category: str,
        values: Mapping[str, Any],
        *,
        actor: Actor,
        purpose: str,
        collected_at: datetime | None = None,
    ) -> str:
        """Write one record (`write_many` of one); returns its id."""
        return self.write_many(
            uow,
            [RecordCreate(subject_id, category, dict(values), collected_at)],
            actor=actor,
            purpose=purpose,
        )[0]

    def destroy(
        self,
        uow: UnitOfWork,
        subject_id: str,
        categories: Collection[str],
        *,
        reason: str,
        actor: Actor,
        rule_id: str | None = None,
        request_id: str | None = None,
        clauses: Iterable[str] = (),
        at: datetime | None = None,
    ) -> DestructionReport:
        """Crypto-shred a subject's categories in both tiers once `uow` commits; the report is
        the pending evidence, counting the records that will go."""
        return self.destroy_many(
            uow,
            [(subject_id, categories)],
            reason=reason,
            actor=actor,
            rule_id=rule_id,
            request_id=request_id,
            clauses=clauses,
            count_records=True,
            at=at,
        )[0]

    def refresh_statistics(self, uow: UnitOfWork) -> None:
        """PostgreSQL: fresh planner statistics of the vault's tables before a sweep.

        After a bulk load or a large tiering run, stale estimates make the planner read
        whole tables where an index would do; ANALYZE samples, so it costs little.
        """
        if uow.records.get_bind().dialect.name != "postgresql":
            return
        translate = uow.records.connection().get_execution_options().get("schema_translate_map")
        passive = (translate or {}).get(PASSIVE_SCHEMA, PASSIVE_SCHEMA)
        uow.records.execute(
            text(
                "ANALYZE subjects, records, destruction_evidence, audit_entries, "
                f'"{passive}".passive_records'
            )
        )
        uow.keys.execute(text("ANALYZE data_keys"))
