"""TX-4.2: every kind of tampering with raw SQL or the anchor file is found, named by entry and
kind, on both backends; the untouched log raises no alarm.

The `filled` log: entries 1–50 in three units of work; checkpoints 1@10, 2@20, 3@30, 4@35,
5@45, 6@50; the anchor file holds checkpoints 2, 4 and 6 (the commits').
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, insert, update

from mexfi.audit import (
    AuditLog,
    TamperKind,
    VerifyReport,
    checkpoint_digest,
    checkpoint_message,
    entry_hash,
    key_fingerprint,
    verify_log,
)
from mexfi.audit.chain import Checkpoint
from mexfi.audit.models import GENESIS_HASH
from mexfi.db import Store

from .helpers import CHECKPOINTS, ENTRIES, HEAD, Tamper, make_event, rows, superuser


def verify(store: Store, log: AuditLog, *, anchored: bool = True, **kwargs: Any) -> VerifyReport:
    with store.records() as session:
        return verify_log(
            session, public_key=log.public_key, anchor=log.anchor if anchored else None, **kwargs
        )


def found(report: VerifyReport) -> list[tuple[int | None, str]]:
    return [(p.seq, p.kind.value) for p in report.problems]


@pytest.fixture(autouse=True)
def intact(filled: Store, log: AuditLog) -> Iterator[None]:
    """Before any tampering, the log verifies with no problem and no note."""
    report = verify(filled, log)
    assert report.ok and report.problems == [] and report.notes == []
    assert (report.checked, report.checkpoints, report.head_seq, report.signed_seq) == (
        50,
        6,
        50,
        50,
    )
    assert (report.anchor_lines, report.anchor_ordinal, report.anchored_seq) == (3, 6, 50)
    yield


def forge(store: Store, values: dict[str, Any]) -> None:
    """Write an entry row directly, its hash made self-consistent."""
    values = {**values, "hash": entry_hash(values)}
    with superuser(store) as connection:
        connection.execute(insert(ENTRIES).values(values))


def rewrite(store: Store, changed: dict[int, dict[str, Any]], *, from_seq: int) -> None:
    """The careful attacker: apply edits, recompute every hash from `from_seq` on, fix the head."""
    entries = rows(store)
    prev = GENESIS_HASH
    with superuser(store) as connection:
        for row in entries:
            if row["seq"] >= from_seq:
                row.update(changed.get(row["seq"], {}), prev_hash=prev)
                row["hash"] = entry_hash(row)
                connection.execute(update(ENTRIES).where(ENTRIES.c.seq == row["seq"]).values(row))
            prev = row["hash"]
        connection.execute(update(HEAD).values(seq=entries[-1]["seq"], hash=prev))


def cut(store: Store, *, after: int, checkpoints_after: int | None = None) -> None:
    """Delete the entries after `after` (and the checkpoints after entry `checkpoints_after`),
    then make the head agree with what is left, its record of the last checkpoint included."""
    last = rows(store)[after - 1]
    with superuser(store) as connection:
        connection.execute(delete(ENTRIES).where(ENTRIES.c.seq > after))
        if checkpoints_after is not None:
            connection.execute(delete(CHECKPOINTS).where(CHECKPOINTS.c.seq > checkpoints_after))
    kept = [Checkpoint(**c) for c in rows(store, CHECKPOINTS)]
    newest = max(kept, key=lambda c: c.ordinal or 0)
    with superuser(store) as connection:
        connection.execute(
            update(HEAD).values(
                seq=after,
                hash=last["hash"],
                checkpoint_ordinal=newest.ordinal,
                checkpoint_seq=newest.seq,
                checkpoint_digest=newest.digest(),
            )
        )


# --- entries ----------------------------------------------------------------------------------


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
        ("subjects", '{"ps_000000000000000000000009":1}'),  # slipped into an entry's hash
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


def test_entry_edited_with_its_hash_recomputed_is_replaced(
    protected: Store, log: AuditLog, tamper: Tamper
) -> None:
    entry = rows(protected)[16]  # entry 17
    entry.update(purpose="marketing")
    tamper(
        "UPDATE audit_entries SET purpose = 'marketing', hash = :hash WHERE seq = 17",
        hash=entry_hash(entry),
    )
    report = verify(protected, log)
    assert found(report) == [(17, "replaced")]
    assert "entry 18 was chained to a different entry 17" in report.problems[0].message


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


def test_entry_inserted_mid_log(protected: Store, log: AuditLog, tamper: Tamper) -> None:
    original = rows(protected)[16]  # entry 17
    tamper("DELETE FROM audit_entries WHERE seq = 17")
    forge(protected, {**original, "prev_hash": "ab" * 32, "purpose": "marketing"})
    report = verify(protected, log)
    assert found(report) == [(17, "inserted")]
    assert "chained neither to entry 16 before it nor to entry 18 after it" in (
        report.problems[0].message
    )


def test_entry_slipped_in_by_renumbering(protected: Store, log: AuditLog, tamper: Tamper) -> None:
    before = rows(protected)[43]  # entry 44
    tamper(
        "UPDATE audit_entries SET seq = seq + 1000 WHERE seq >= 45",
        "UPDATE audit_entries SET seq = seq - 999 WHERE seq >= 1045",
    )
    forge(protected, {**before, "seq": 45, "prev_hash": before["hash"], "reason": "backdated"})
    problems = found(verify(protected, log))
    assert (45, "inserted") in problems
    assert [seq for seq, kind in problems if kind == "reordered"] == list(range(46, 52))
    assert (50, "checkpoint_mismatch") in problems


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


def test_copied_entry_is_inserted(protected: Store, log: AuditLog, tamper: Tamper) -> None:
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


# --- the tail ---------------------------------------------------------------------------------


@pytest.mark.parametrize("anchored", [True, False])
def test_entry_appended_with_the_head_moved_is_appended(
    protected: Store, log: AuditLog, tamper: Tamper, anchored: bool
) -> None:
    last = rows(protected)[-1]
    forged = {**last, "seq": 51, "prev_hash": last["hash"], "reason": "backdated"}
    forge(protected, forged)
    tamper("UPDATE audit_head SET seq = 51, hash = :hash", hash=entry_hash(forged))
    report = verify(protected, log, anchored=anchored)
    assert found(report) == [(51, "appended")]
    assert "entry 51 after the last checkpoint is signed by no checkpoint" in (
        report.problems[0].message
    )


def test_entry_appended_past_the_head_is_inserted(protected: Store, log: AuditLog) -> None:
    last = rows(protected)[-1]
    forge(protected, {**last, "seq": 51, "prev_hash": last["hash"], "reason": "backdated"})
    report = verify(protected, log)
    assert found(report) == [(51, "inserted")]
    assert "beyond the head, which records entry 50" in report.problems[0].message


def test_truncated_tail_is_named_by_the_head(
    protected: Store, log: AuditLog, tamper: Tamper
) -> None:
    tamper("DELETE FROM audit_entries WHERE seq > 46")
    report = verify(protected, log)
    assert found(report) == [(47, "truncated")]
    assert "entries 47 to 50 were deleted from the end" in report.problems[0].message
    assert "the head records entry 50" in report.problems[0].message


def test_tail_cut_with_the_head_reset(protected: Store, log: AuditLog) -> None:
    cut(protected, after=45)
    report = verify(protected, log)
    assert found(report) == [(46, "truncated")]
    assert "vouches for entry 50" in report.problems[0].message


def test_tail_cut_past_a_checkpoint_with_the_later_checkpoints_deleted(
    protected: Store, log: AuditLog
) -> None:
    cut(protected, after=40, checkpoints_after=40)  # checkpoints 5@45 and 6@50 go
    report = verify(protected, log)
    assert found(report) == [(36, "checkpoint_missing"), (41, "truncated")]
    assert report.problems[0].message.startswith(
        "checkpoints 5 to 6 were deleted from the store: the anchor file holds checkpoint 6"
    )
    assert "entries 41 to 50 were deleted from the end of the log" in report.problems[1].message
    # Without the anchor file the store is self-consistent but for its unsigned tail.
    assert found(verify(protected, log, anchored=False)) == [(36, "appended")]


def test_cut_with_the_head_left_names_the_checkpoints_it_recorded(
    protected: Store, log: AuditLog, tamper: Tamper
) -> None:
    last = rows(protected)[39]  # entry 40
    tamper(
        "DELETE FROM audit_entries WHERE seq > 40",
        "DELETE FROM audit_checkpoints WHERE seq > 40",
        "UPDATE audit_head SET seq = 40, hash = :hash",
        hash=last["hash"],
    )
    report = verify(protected, log, anchored=False)
    assert found(report) == [(36, "checkpoint_missing"), (41, "truncated")]
    assert "the head records checkpoint 6 (entry 50) as the last" in report.problems[0].message


def test_store_rolled_back_to_an_older_copy(protected: Store, log: AuditLog) -> None:
    # What an older backup looks like: entries, checkpoints and head all at entry 35.
    cut(protected, after=35, checkpoints_after=35)
    report = verify(protected, log)
    assert found(report) == [(36, "rolled_back")]
    assert report.problems[0].message.startswith(
        "the store is older than its anchor file: it ends at entry 35 and checkpoint 4, the "
        "anchor file records checkpoint 6 at entry 50"
    )
    # The store alone cannot tell.
    assert verify(protected, log, anchored=False).ok


def test_store_emptied_is_older_than_its_anchor(
    protected: Store, log: AuditLog, tamper: Tamper
) -> None:
    tamper(
        "DELETE FROM audit_entries",
        "DELETE FROM audit_checkpoints",
        "DELETE FROM audit_head",
    )
    report = verify(protected, log)
    assert found(report) == [(1, "rolled_back")]
    assert report.problems[0].message.startswith(
        "the store is older than its anchor file: it holds no entry, the anchor file records "
        "checkpoint 6 at entry 50"
    )


def test_store_rolled_back_and_written_again(
    protected: Store, log: AuditLog, tamper: Tamper
) -> None:
    cut(protected, after=35, checkpoints_after=35)
    with protected.records() as session:  # checkpoints 5'@45, 6'@55, 7'@60, new timeline
        log.append_many(session, [make_event(i, reason="after_restore") for i in range(25)])
    report = verify(protected, log)
    assert found(report) == [(55, "rolled_back")]
    assert "checkpoint 6 in the store (entry 55" in report.problems[0].message
    assert "the checkpoint 6 the anchor file recorded (entry 50" in report.problems[0].message


# --- rewrites -----------------------------------------------------------------------------


def test_chain_rewritten_from_entry_2(protected: Store, log: AuditLog) -> None:
    rewrite(protected, {2: {"purpose": "marketing"}}, from_seq=2)
    report = verify(protected, log)
    # The chain itself is consistent again; only the signatures remember.
    assert found(report) == [(seq, "checkpoint_mismatch") for seq in (10, 20, 30, 35, 45, 50)]
    assert report.problems[0].message.startswith(
        "entry 10 is not the entry signed in checkpoint 1 at entry 10 (signed "
    )


def test_rewrite_is_named_after_the_last_checkpoint_that_matches(
    protected: Store, log: AuditLog
) -> None:
    rewrite(protected, {23: {"purpose": "marketing"}}, from_seq=23)
    report = verify(protected, log)
    assert found(report) == [(seq, "checkpoint_mismatch") for seq in (30, 35, 45, 50)]
    assert "after entry 20, the last checkpoint that matches" in report.problems[0].message


def test_chain_rewritten_and_every_checkpoint_deleted(
    protected: Store, log: AuditLog, tamper: Tamper
) -> None:
    rewrite(protected, {2: {"purpose": "marketing"}}, from_seq=2)
    tamper(
        "DELETE FROM audit_checkpoints",
        "UPDATE audit_head SET checkpoint_ordinal = 0, checkpoint_seq = 0, "
        "checkpoint_digest = :genesis",
        genesis=GENESIS_HASH,
    )
    report = verify(protected, log)
    # The anchor file's copies of checkpoints 2, 4 and 6 still sign the original entries.
    assert found(report) == [
        (1, "checkpoint_missing"),
        (20, "checkpoint_mismatch"),
        (35, "checkpoint_mismatch"),
        (50, "checkpoint_mismatch"),
    ]
    assert "as the anchor file holds it" in report.problems[1].message


def test_rewrite_after_the_last_checkpoint_that_matches(protected: Store, log: AuditLog) -> None:
    rewrite(protected, {47: {"reason": "nothing_happened"}}, from_seq=46)
    assert found(verify(protected, log)) == [(50, "checkpoint_mismatch")]


def test_rewrite_after_the_last_checkpoint_with_that_checkpoint_deleted(
    protected: Store, log: AuditLog
) -> None:
    rewrite(protected, {47: {"reason": "nothing_happened"}}, from_seq=46)
    cut(protected, after=50, checkpoints_after=45)  # checkpoint 6@50 goes, the head agrees
    assert found(verify(protected, log)) == [
        (46, "checkpoint_missing"),
        (50, "checkpoint_mismatch"),
    ]
    assert found(verify(protected, log, anchored=False)) == [(46, "appended")]


# --- checkpoints -----------------------------------------------------------------------------


def test_checkpoint_deleted_mid_chain(protected: Store, log: AuditLog, tamper: Tamper) -> None:
    tamper("DELETE FROM audit_checkpoints WHERE seq = 30")
    report = verify(protected, log)
    assert found(report) == [(21, "checkpoint_missing")]
    assert report.problems[0].message == (
        "checkpoint 3 was deleted: checkpoint 4 (entry 35) follows checkpoint 2 (entry 20)"
    )


def test_anchored_checkpoint_deleted_mid_chain(
    protected: Store, log: AuditLog, tamper: Tamper
) -> None:
    tamper("DELETE FROM audit_checkpoints WHERE seq IN (20, 30)")
    report = verify(protected, log)
    assert found(report) == [(11, "checkpoint_missing")]
    assert "checkpoints 2 to 3 were deleted" in report.problems[0].message
    assert "the anchor file still holds checkpoint 2" in report.problems[0].message


def test_checkpoint_signature_altered(protected: Store, log: AuditLog, tamper: Tamper) -> None:
    tamper("UPDATE audit_checkpoints SET signature = :sig WHERE seq = 20", sig="00" * 64)
    report = verify(protected, log)
    assert found(report) == [(20, "bad_signature")]
    assert "altered after signing" in report.problems[0].message


@pytest.mark.parametrize("seq", [35, 50])
def test_checkpoint_time_edited(protected: Store, log: AuditLog, tamper: Tamper, seq: int) -> None:
    value = "2026-03-02 12:30:00.000000" if protected.dialect == "sqlite" else None
    if value is None:
        tamper("UPDATE audit_checkpoints SET at = at + interval '1 hour' WHERE seq = :seq", seq=seq)
    else:
        tamper("UPDATE audit_checkpoints SET at = :at WHERE seq = :seq", at=value, seq=seq)
    assert found(verify(protected, log)) == [(seq, "bad_signature")]


def test_garbled_checkpoint_time(protected: Store, log: AuditLog, tamper: Tamper) -> None:
    if protected.dialect != "sqlite":
        pytest.skip("PostgreSQL refuses a malformed timestamp itself")
    tamper("UPDATE audit_checkpoints SET at = 'never' WHERE seq = 20")
    report = verify(protected, log)
    assert found(report) == [(20, "bad_signature")]
    assert "unreadable time" in report.problems[0].message


def test_checkpoint_naming_another_hash(protected: Store, log: AuditLog, tamper: Tamper) -> None:
    tamper("UPDATE audit_checkpoints SET entry_hash = :h WHERE seq = 45", h="ab" * 32)
    problems = found(verify(protected, log))
    assert problems == [(45, "bad_signature"), (45, "checkpoint_mismatch")]


def test_checkpoints_re_signed_with_another_key(protected: Store, log: AuditLog) -> None:
    rewrite(protected, {23: {"purpose": "marketing"}}, from_seq=23)
    attacker = Ed25519PrivateKey.generate()
    fingerprint = key_fingerprint(attacker.public_key())
    entries = {row["seq"]: row for row in rows(protected)}
    stored = {c["ordinal"]: c for c in rows(protected, CHECKPOINTS)}
    digest = Checkpoint(**stored[2]).digest()
    assert digest is not None
    with superuser(protected) as connection:
        for ordinal in (3, 4, 5, 6):  # the checkpoints after the rewrite, chained anew
            seq, at = stored[ordinal]["seq"], stored[ordinal]["at"]
            message = checkpoint_message(
                seq, entries[seq]["hash"], at, ordinal=ordinal, prev_digest=digest, max_gap=10
            )
            connection.execute(
                update(CHECKPOINTS)
                .where(CHECKPOINTS.c.seq == seq)
                .values(
                    entry_hash=entries[seq]["hash"],
                    prev_digest=digest,
                    signature=attacker.sign(message).hex(),
                    key_fingerprint=fingerprint,
                )
            )
            digest = checkpoint_digest(message)
        connection.execute(update(HEAD).values(checkpoint_digest=digest))
    report = verify(protected, log)
    assert found(report) == [
        (30, "bad_signature"),
        (35, "bad_signature"),
        (35, "checkpoint_mismatch"),  # the anchor file's checkpoint 4
        (45, "bad_signature"),
        (50, "bad_signature"),
        (50, "checkpoint_mismatch"),  # the anchor file's checkpoint 6
    ]
    assert "not by the key given" in report.problems[0].message
    # The store alone: only the signatures say it.
    assert {kind for _, kind in found(verify(protected, log, anchored=False))} == {"bad_signature"}


def test_another_key_fails_every_checkpoint_and_anchor_line(
    protected: Store, log: AuditLog
) -> None:
    stranger = AuditLog(signing_key=Ed25519PrivateKey.generate(), anchor=log.anchor)
    report = verify(protected, stranger)
    assert (
        found(report)
        == [(seq, "bad_signature") for seq in (10, 20, 30, 35, 45, 50)] + [(None, "bad_anchor")] * 3
    )


# --- the head --------------------------------------------------------------------------------


def test_head_row_deleted(protected: Store, log: AuditLog, tamper: Tamper) -> None:
    tamper("DELETE FROM audit_head")
    assert found(verify(protected, log)) == [(None, "head_mismatch")]


def test_head_set_back(protected: Store, log: AuditLog, tamper: Tamper) -> None:
    tamper("UPDATE audit_head SET seq = 45, hash = :hash", hash=rows(protected)[44]["hash"])
    report = verify(protected, log)
    assert found(report) == [(45, "head_mismatch")]
    assert report.problems[0].message == (
        "the head was set back to entry 45: entries 46 to 50 after it are signed by a checkpoint"
    )


def test_head_naming_another_hash(protected: Store, log: AuditLog, tamper: Tamper) -> None:
    tamper("UPDATE audit_head SET hash = :h", h="cd" * 32)
    assert found(verify(protected, log)) == [(50, "head_mismatch")]


def test_head_naming_another_checkpoint_digest(
    protected: Store, log: AuditLog, tamper: Tamper
) -> None:
    tamper("UPDATE audit_head SET checkpoint_digest = :h", h="cd" * 32)
    assert found(verify(protected, log)) == [(50, "head_mismatch")]


# --- the anchor file -------------------------------------------------------------------------


def test_anchor_line_forged_with_another_key(protected: Store, log: AuditLog) -> None:
    attacker = Ed25519PrivateKey.generate()
    entry = rows(protected)[-1]
    forged = Checkpoint.sign(
        attacker,
        key_fingerprint(attacker.public_key()),
        ordinal=7,
        prev_digest="ab" * 32,
        seq=60,
        entry_hash="cd" * 32,
        at=entry["at"],
        max_gap=10,
    )
    assert log.anchor is not None
    log.anchor.append(forged)
    report = verify(protected, log)
    assert found(report) == [(None, "bad_anchor")]
    assert report.problems[0].message.startswith(
        "line 4 of the anchor file, for checkpoint 7 at entry 60, has a bad signature: it was "
        "signed by key "
    )


def test_anchor_line_altered(protected: Store, log: AuditLog) -> None:
    assert log.anchor is not None
    path = log.anchor.path
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace('"seq":35', '"seq":36')
    path.write_text("\n".join(lines) + "\n")
    report = verify(protected, log)
    assert found(report) == [(None, "bad_anchor")]
    assert "its signature does not verify" in report.problems[0].message


def test_torn_last_anchor_line_is_no_tampering(protected: Store, log: AuditLog) -> None:
    assert log.anchor is not None
    with log.anchor.path.open("ab") as handle:
        handle.write(b'{"hash":"9a8b7c","key":"d3')  # a crash mid-write
    report = verify(protected, log)
    assert report.ok and report.problems == []
    assert report.notes == [
        "the anchor file's last line is incomplete (a write torn by a crash): skipped"
    ]


def test_torn_line_followed_by_another_writers_line(protected: Store, log: AuditLog) -> None:
    assert log.anchor is not None
    path = log.anchor.path
    lines = path.read_bytes().splitlines(keepends=True)
    # A writer crashed mid-line; the next one's line was glued to the fragment.
    path.write_bytes(lines[0] + lines[1][:40] + lines[1] + lines[2])
    report = verify(protected, log)
    assert report.ok and report.problems == []
    assert (report.anchor_lines, report.anchor_ordinal) == (3, 6)
    assert report.notes == [
        "anchor file lines 2 begin with the fragment of a write torn by a crash"
    ]


def test_anchor_lines_out_of_order_are_fine(protected: Store, log: AuditLog) -> None:
    assert log.anchor is not None
    path = log.anchor.path
    path.write_bytes(b"".join(reversed(path.read_bytes().splitlines(keepends=True))))
    assert verify(protected, log).ok


def test_missing_anchor_file_is_a_note(protected: Store, log: AuditLog) -> None:
    assert log.anchor is not None
    log.anchor.path.unlink()
    report = verify(protected, log)
    assert report.ok
    assert report.notes[0].startswith("no anchor file at ")
    assert verify(protected, log, anchored=False).notes[0].startswith("no anchor file was given")


def test_every_kind_has_a_test() -> None:
    covered = {
        "edited",
        "deleted",
        "inserted",
        "replaced",
        "reordered",
        "truncated",
        "appended",
        "bad_signature",
        "checkpoint_mismatch",
        "checkpoint_missing",
        "head_mismatch",
        "rolled_back",
        "bad_anchor",
        "index_mismatch",  # tests/audit/test_audit_subjects.py
    }
    assert {kind.value for kind in TamperKind} == covered
