"""TX-4.2: every kind of tampering with raw SQL is found, and named by entry, on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, update

from mexfi.audit import (
    AuditCheckpoint,
    AuditEntry,
    AuditHead,
    AuditLog,
    TamperKind,
    VerifyReport,
    checkpoint_message,
    entry_hash,
    key_fingerprint,
    verify_log,
)
from mexfi.audit.models import GENESIS_HASH
from mexfi.db import Store

from .helpers import Tamper, rows, superuser

pytestmark = pytest.mark.usefixtures("filled")


def verify(store: Store, log: AuditLog, **kwargs: Any) -> VerifyReport:
    with store.records() as session:
        return verify_log(session, public_key=log.public_key, **kwargs)


def found(report: VerifyReport) -> list[tuple[int | None, str]]:
    return [(p.seq, p.kind.value) for p in report.problems]


def forge(store: Store, values: dict[str, Any]) -> None:
    """Write an entry row directly, its hash made self-consistent."""
    values = {**values, "hash": entry_hash(values)}
    with superuser(store) as connection:
        connection.execute(insert(AuditEntry.__table__).values(values))


def rewrite(store: Store, changed: dict[int, dict[str, Any]], *, from_seq: int) -> None:
    """The careful attacker: apply edits, recompute every hash from `from_seq` on, fix the head."""
    entries = rows(store)
    prev = GENESIS_HASH
    with superuser(store) as connection:
        for row in entries:
            if row["seq"] >= from_seq:
                row.update(changed.get(row["seq"], {}), prev_hash=prev)
                row["hash"] = entry_hash(row)
                connection.execute(
                    update(AuditEntry.__table__)
                    .where(AuditEntry.__table__.c.seq == row["seq"])
                    .values(row)
                )
            prev = row["hash"]
        connection.execute(update(AuditHead.__table__).values(seq=entries[-1]["seq"], hash=prev))


def test_untampered_log_verifies(protected: Store, log: AuditLog) -> None:
    report = verify(protected, log, checkpoint_every=10)
    assert report.ok and report.problems == []
    assert (report.checked, report.checkpoints, report.head_seq) == (50, 5, 50)


def test_edited_entry_is_named(protected: Store, log: AuditLog, tamper: Tamper) -> None:
    tamper("UPDATE audit_entries SET purpose = 'marketing' WHERE seq = 17")
    report = verify(protected, log)
    assert not report.ok
    assert found(report) == [(17, "edited")]
    assert report.problems[0].message == (
        "entry 17 was edited after it was written: its hash does not match its contents"
    )


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor_id", "staff-9"),
        ("subject", "ps_000000000000000000000009"),
        ("categories", '["driver.identity.name"]'),
        ("count", 99),
        ("at", "2020-01-01 00:00:00+00:00"),
        ("prev_hash", "f" * 64),
        ("action", "read"),  # entry 3 is a DENY: now it reads as a READ
    ],
)
def test_any_edited_column_is_found(
    protected: Store, log: AuditLog, tamper: Tamper, column: str, value: object
) -> None:
    if column == "at" and protected.dialect == "sqlite":
        value = "2020-01-01 00:00:00.000000"
    tamper(f"UPDATE audit_entries SET {column} = :value WHERE seq = 3", value=value)
    assert found(verify(protected, log)) == [(3, "edited")]


def test_garbled_timestamp_is_an_edit_not_a_crash(
    protected: Store, log: AuditLog, tamper: Tamper
) -> None:
    if protected.dialect != "sqlite":
        pytest.skip("PostgreSQL refuses a malformed timestamp itself")
    tamper("UPDATE audit_entries SET at = 'yesterday' WHERE seq = 8")
    assert found(verify(protected, log)) == [(8, "edited")]


def test_deleted_entry_is_named(protected: Store, log: AuditLog, tamper: Tamper) -> None:
    tamper("DELETE FROM audit_entries WHERE seq = 17")
    report = verify(protected, log)
    assert found(report) == [(17, "deleted")]
    assert report.problems[0].message == "entry 17 was deleted: entry 16 is followed by entry 18"


def test_deleted_run_and_start_are_named(protected: Store, log: AuditLog, tamper: Tamper) -> None:
    tamper(
        "DELETE FROM audit_entries WHERE seq BETWEEN 1 AND 3",
        "DELETE FROM audit_entries WHERE seq BETWEEN 25 AND 27",
    )
    report = verify(protected, log)
    assert found(report) == [(1, "deleted"), (25, "deleted")]
    assert "the log starts at entry 4" in report.problems[0].message
    assert "entries 25 to 27 were deleted" in report.problems[1].message


def test_deleted_checkpointed_entry(protected: Store, log: AuditLog, tamper: Tamper) -> None:
    tamper("DELETE FROM audit_entries WHERE seq = 20")
    assert found(verify(protected, log)) == [(20, "deleted")]


def test_truncated_tail_is_named_by_the_head(
    protected: Store, log: AuditLog, tamper: Tamper
) -> None:
    tamper("DELETE FROM audit_entries WHERE seq > 46")
    report = verify(protected, log)
    assert found(report) == [(47, "truncated")]
    assert "entries 47 to 50 were deleted from the end" in report.problems[0].message
    assert "the head records entry 50" in report.problems[0].message


def test_truncated_tail_with_fixed_head_is_named_by_the_checkpoint(
    protected: Store, log: AuditLog, tamper: Tamper
) -> None:
    last = rows(protected)[44]  # entry 45
    tamper(
        "DELETE FROM audit_entries WHERE seq > 45",
        "UPDATE audit_head SET seq = 45, hash = :hash",
        hash=last["hash"],
    )
    report = verify(protected, log)
    assert found(report) == [(46, "truncated")]
    assert "vouches for entry 50" in report.problems[0].message


def test_entry_appended_past_the_head_is_inserted(protected: Store, log: AuditLog) -> None:
    last = rows(protected)[-1]
    forge(protected, {**last, "seq": 51, "prev_hash": last["hash"], "reason": "backdated"})
    report = verify(protected, log)
    assert found(report) == [(51, "inserted")]
    assert "beyond the head, which records entry 50" in report.problems[0].message


def test_entry_inserted_in_a_hole_is_named(protected: Store, log: AuditLog, tamper: Tamper) -> None:
    original = rows(protected)[16]  # entry 17
    tamper("DELETE FROM audit_entries WHERE seq = 17")
    forge(protected, {**original, "prev_hash": "ab" * 32, "purpose": "marketing"})
    report = verify(protected, log)
    assert found(report) == [(17, "inserted")]
    assert "chained neither to entry 16 before it nor to entry 18 after it" in (
        report.problems[0].message
    )


def test_duplicate_entry_is_inserted(protected: Store, log: AuditLog, tamper: Tamper) -> None:
    tamper(  # entry 5, verbatim, hash and all, as entry 51
        "INSERT INTO audit_entries (seq, at, actor_id, actor_role, action, outcome, purpose, "
        "policy_id, subject, categories, clauses, count, reason, reference, prev_hash, hash) "
        "SELECT 51, at, actor_id, actor_role, action, outcome, purpose, policy_id, subject, "
        "categories, clauses, count, reason, reference, prev_hash, hash "
        "FROM audit_entries WHERE seq = 5"
    )
    report = verify(protected, log)
    assert found(report) == [(51, "inserted")]
    assert report.problems[0].message == "entry 51 was inserted: it is a copy of entry 5"


def test_single_rehashed_entry_is_replaced(protected: Store, log: AuditLog, tamper: Tamper) -> None:
    entry = rows(protected)[16]  # entry 17
    entry.update(purpose="marketing")
    tamper(
        "UPDATE audit_entries SET purpose = 'marketing', hash = :hash WHERE seq = 17",
        hash=entry_hash(entry),
    )
    report = verify(protected, log)
    assert found(report) == [(17, "replaced")]
    assert "entry 18 was chained to a different entry 17" in report.problems[0].message


def test_swapped_entries_are_reordered(protected: Store, log: AuditLog, tamper: Tamper) -> None:
    tamper(
        "UPDATE audit_entries SET seq = -1 WHERE seq = 12",
        "UPDATE audit_entries SET seq = 12 WHERE seq = 14",
        "UPDATE audit_entries SET seq = 14 WHERE seq = -1",
    )
    report = verify(protected, log)
    assert found(report) == [(12, "reordered"), (14, "reordered")]
    assert "entry 12 was moved: it was written as entry 14" in report.problems[0].message


def test_adjacent_swap_is_reordered(protected: Store, log: AuditLog, tamper: Tamper) -> None:
    tamper(
        "UPDATE audit_entries SET seq = -1 WHERE seq = 33",
        "UPDATE audit_entries SET seq = 33 WHERE seq = 34",
        "UPDATE audit_entries SET seq = 34 WHERE seq = -1",
    )
    assert found(verify(protected, log)) == [(33, "reordered"), (34, "reordered")]


def test_entry_slipped_in_by_renumbering(protected: Store, log: AuditLog, tamper: Tamper) -> None:
    before = rows(protected)[43]  # entry 44
    tamper(
        "UPDATE audit_entries SET seq = seq + 1000 WHERE seq >= 45",
        "UPDATE audit_entries SET seq = seq - 999 WHERE seq >= 1045",
    )
    forge(protected, {**before, "seq": 45, "prev_hash": before["hash"], "reason": "backdated"})
    report = verify(protected, log)
    problems = found(report)
    assert (45, "inserted") in problems
    assert [seq for seq, kind in problems if kind == "reordered"] == list(range(46, 52))
    assert (50, "checkpoint_mismatch") in problems


def test_rewritten_chain_is_caught_by_the_signed_checkpoint(
    protected: Store, log: AuditLog
) -> None:
    rewrite(protected, {23: {"purpose": "marketing"}}, from_seq=23)
    report = verify(protected, log)
    # The chain itself is consistent again; only the signatures remember.
    assert found(report) == [
        (30, "checkpoint_mismatch"),
        (40, "checkpoint_mismatch"),
        (50, "checkpoint_mismatch"),
    ]
    assert report.problems[0].message.startswith(
        "entry 30 is not the entry signed in the checkpoint at entry 30"
    )
    assert "after entry 20, the last checkpoint that matches" in report.problems[0].message


def test_re_signed_checkpoints_fail_their_signature(protected: Store, log: AuditLog) -> None:
    rewrite(protected, {23: {"purpose": "marketing"}}, from_seq=23)
    attacker = Ed25519PrivateKey.generate()
    entries = {row["seq"]: row for row in rows(protected)}
    with superuser(protected) as connection:
        table = AuditCheckpoint.__table__
        for seq in (30, 40, 50):
            at = entries[seq]["at"]
            connection.execute(
                update(table)
                .where(table.c.seq == seq)
                .values(
                    entry_hash=entries[seq]["hash"],
                    signature=attacker.sign(
                        checkpoint_message(seq, entries[seq]["hash"], at)
                    ).hex(),
                    key_fingerprint=key_fingerprint(attacker.public_key()),
                )
            )
    report = verify(protected, log)
    assert found(report) == [(30, "bad_signature"), (40, "bad_signature"), (50, "bad_signature")]
    assert "not by the key given" in report.problems[0].message


def test_deleting_the_revealing_checkpoints_needs_the_cadence(
    protected: Store, log: AuditLog, tamper: Tamper
) -> None:
    rewrite(protected, {23: {"purpose": "marketing"}}, from_seq=23)
    tamper("DELETE FROM audit_checkpoints WHERE seq > 20")
    # Without knowing the cadence, a rewrite that also removes the later checkpoints is
    # indistinguishable from a log that never had them …
    assert verify(protected, log).ok
    # … with it, the removal itself shows.
    report = verify(protected, log, checkpoint_every=10)
    assert found(report) == [
        (30, "checkpoint_missing"),
        (40, "checkpoint_missing"),
        (50, "checkpoint_missing"),
    ]


def test_altered_checkpoint_has_a_bad_signature(
    protected: Store, log: AuditLog, tamper: Tamper
) -> None:
    tamper("UPDATE audit_checkpoints SET signature = :sig WHERE seq = 20", sig="00" * 64)
    report = verify(protected, log)
    assert found(report) == [(20, "bad_signature")]
    assert "altered after signing" in report.problems[0].message


def test_garbled_checkpoint_time(protected: Store, log: AuditLog, tamper: Tamper) -> None:
    if protected.dialect != "sqlite":
        pytest.skip("PostgreSQL refuses a malformed timestamp itself")
    tamper("UPDATE audit_checkpoints SET at = 'never' WHERE seq = 20")
    report = verify(protected, log)
    assert found(report) == [(20, "bad_signature")]
    assert "unreadable time" in report.problems[0].message


def test_checkpoint_naming_another_hash(protected: Store, log: AuditLog, tamper: Tamper) -> None:
    tamper("UPDATE audit_checkpoints SET entry_hash = :h WHERE seq = 40", h="ab" * 32)
    problems = found(verify(protected, log))
    assert problems == [(40, "bad_signature"), (40, "checkpoint_mismatch")]


def test_another_key_fails_every_checkpoint(protected: Store) -> None:
    stranger = AuditLog(signing_key=Ed25519PrivateKey.generate())
    report = verify(protected, stranger)
    assert found(report) == [(seq, "bad_signature") for seq in (10, 20, 30, 40, 50)]


def test_missing_head_row(protected: Store, log: AuditLog, tamper: Tamper) -> None:
    tamper("DELETE FROM audit_head")
    assert found(verify(protected, log)) == [(None, "head_mismatch")]


def test_head_naming_another_hash(protected: Store, log: AuditLog, tamper: Tamper) -> None:
    tamper("UPDATE audit_head SET hash = :h", h="cd" * 32)
    assert found(verify(protected, log)) == [(50, "head_mismatch")]


def test_every_kind_has_a_test() -> None:
    covered = {
        "edited",
        "deleted",
        "inserted",
        "replaced",
        "reordered",
        "truncated",
        "bad_signature",
        "checkpoint_mismatch",
        "checkpoint_missing",
        "head_mismatch",
    }
    assert {kind.value for kind in TamperKind} == covered
