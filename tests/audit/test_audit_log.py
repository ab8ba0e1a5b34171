"""The audit log service: appends chain, every commit signs, reads filter, writers never fork."""

from __future__ import annotations

import itertools
import json
import random
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from mexfi.audit import (
    AuditAction,
    AuditAnchor,
    AuditCheckpoint,
    AuditEntry,
    AuditLog,
    AuditLogBroken,
    AuditOutcome,
    checkpoint_message,
    entry_hash,
    protect_audit_tables,
    verify_log,
)
from mexfi.audit.models import GENESIS_HASH
from mexfi.clock import FixedClock
from mexfi.db import Store
from mexfi.errors import Invalid
from mexfi.secrets import Secrets

from .helpers import CHECKPOINTS, SIGNED_AT, T0, Tamper, head, make_event, rows, subject


def checkpoints(store: Store) -> list[dict[str, Any]]:
    return rows(store, CHECKPOINTS)


def anchored(log: AuditLog) -> list[dict[str, Any]]:
    assert log.anchor is not None
    if not log.anchor.path.exists():
        return []
    return [json.loads(line) for line in log.anchor.path.read_text().splitlines()]


def test_an_empty_log_verifies(store: Store, log: AuditLog) -> None:
    with store.records() as session:
        report = verify_log(session, public_key=log.public_key, anchor=log.anchor)
    assert report.ok and (report.checked, report.checkpoints, report.signed_seq) == (0, 0, None)


def test_append_numbers_and_chains(store: Store, log: AuditLog) -> None:
    with store.records() as session:
        assert log.append(session, make_event(0)) == 1
        assert log.append(session, make_event(1)) == 2
    with store.records() as session:
        assert log.append_many(session, [make_event(i) for i in range(2, 6)]) == [3, 4, 5, 6]
        assert log.append_many(session, []) == []
    entries = rows(store)
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0]["prev_hash"] == GENESIS_HASH
    for before, after in itertools.pairwise(entries):
        assert after["prev_hash"] == before["hash"]
    assert all(entry_hash(e) == e["hash"] for e in entries)


def test_entries_round_trip(store: Store, log: AuditLog) -> None:
    event = make_event(3)  # a DENY with a reason
    with store.records() as session:
        log.append(session, event)
        (entry,) = log.entries(session)
    assert entry.seq == 1
    assert (entry.action, entry.outcome) == (AuditAction.DENY, AuditOutcome.DENIED)
    assert entry.at == event.at and entry.at.tzinfo is not None
    assert entry.categories == event.categories and entry.clauses == event.clauses
    assert (entry.subject, entry.reason, entry.reference, entry.count, entry.subjects) == (
        event.subject,
        event.reason,
        event.reference,
        event.count,
        {},
    )


def test_every_commit_signs_the_head_at_the_clocks_time(
    store: Store, log: AuditLog, audit_clock: FixedClock
) -> None:
    with store.records() as session:
        log.append_many(session, [make_event(i) for i in range(3)])
        assert session.scalar(select(func.count()).select_from(AuditCheckpoint)) == 0
    audit_clock.advance(minutes=5)
    with store.records() as session:
        log.append(session, make_event(3))
    (first, second) = checkpoints(store)
    entries = {e["seq"]: e for e in rows(store)}
    assert (first["ordinal"], first["seq"], first["at"]) == (1, 3, SIGNED_AT)
    assert (second["ordinal"], second["seq"], second["at"]) == (
        2,
        4,
        SIGNED_AT + timedelta(minutes=5),
    )
    # Signed when it was signed, not when the event happened.
    assert first["at"] != entries[3]["at"]
    assert first["prev_digest"] == GENESIS_HASH and first["max_gap"] == 10
    message = checkpoint_message(
        3,
        str(entries[3]["hash"]),
        SIGNED_AT,
        ordinal=1,
        prev_digest=GENESIS_HASH,
        max_gap=10,
    )
    log.public_key.verify(bytes.fromhex(str(first["signature"])), message)
    assert head(store)["checkpoint_ordinal"] == 2
    # The anchor file repeats each commit's checkpoint, signature and all.
    assert [(a["ordinal"], a["seq"], a["sig"]) for a in anchored(log)] == [
        (1, 3, first["signature"]),
        (2, 4, second["signature"]),
    ]
    with store.records() as session:
        report = verify_log(session, public_key=log.public_key, anchor=log.anchor)
    assert report.ok and report.notes == [] and report.signed_seq == 4


def test_a_commit_without_entries_signs_nothing(store: Store, log: AuditLog) -> None:
    with store.records() as session:
        log.append(session, make_event(0))
    with store.records() as session:
        log.entries(session)
    with store.records() as session:
        session.execute(text("SELECT 1"))
    assert len(checkpoints(store)) == 1 and len(anchored(log)) == 1


def test_a_big_unit_of_work_is_signed_every_checkpoint_every_entries(
    store: Store, log: AuditLog
) -> None:
    with store.records() as session:
        log.append_many(session, [make_event(i) for i in range(25)])
        for i in range(25, 31):
            log.append(session, make_event(i))
        log.append_many(session, [make_event(i) for i in range(31, 33)])
    assert [(c["ordinal"], c["seq"]) for c in checkpoints(store)] == [
        (1, 10),
        (2, 20),
        (3, 30),
        (4, 33),
    ]
    assert [a["ordinal"] for a in anchored(log)] == [4]  # the commit's only


def test_only_at_commit_when_checkpoint_every_is_0(store: Store, secrets: Secrets) -> None:
    quiet = AuditLog(signing_key=secrets.audit_signing_key, checkpoint_every=0)
    with store.records() as session:
        quiet.append_many(session, [make_event(i) for i in range(2500)])
        assert session.scalar(select(func.count()).select_from(AuditCheckpoint)) == 0
    ((seq, max_gap),) = [(c["seq"], c["max_gap"]) for c in checkpoints(store)]
    assert (seq, max_gap) == (2500, 0)
    for bad in (-1, True):
        with pytest.raises(Invalid):
            AuditLog(signing_key=secrets.audit_signing_key, checkpoint_every=bad)


def test_a_rolled_back_unit_signs_and_anchors_nothing(store: Store, log: AuditLog) -> None:
    with pytest.raises(RuntimeError), store.records() as session:
        log.append_many(session, [make_event(i) for i in range(15)])  # one checkpoint at 10
        raise RuntimeError("the vault's write failed")
    assert checkpoints(store) == [] and anchored(log) == []
    with store.records() as session:
        assert log.entries(session) == []
        assert log.append(session, make_event(1)) == 1  # the head did not move either
    assert [(c["ordinal"], c["seq"]) for c in checkpoints(store)] == [(1, 1)]
    assert [a["ordinal"] for a in anchored(log)] == [1]


def test_a_session_reused_after_a_rollback(store: Store, log: AuditLog) -> None:
    with Session(store.records_engine) as session:
        log.append(session, make_event(0))
        session.rollback()
        log.append(session, make_event(1))
        session.commit()
        log.append(session, make_event(2))
        session.commit()
    assert [(c["ordinal"], c["seq"]) for c in checkpoints(store)] == [(1, 1), (2, 2)]
    assert [a["ordinal"] for a in anchored(log)] == [1, 2]


def test_a_released_savepoint_signs_at_the_outer_commit(store: Store, log: AuditLog) -> None:
    with Session(store.records_engine) as session:
        log.append(session, make_event(0))
        with session.begin_nested():
            log.append(session, make_event(1))
        assert session.scalar(select(func.count()).select_from(AuditCheckpoint)) == 0
        session.commit()
    assert [(c["ordinal"], c["seq"]) for c in checkpoints(store)] == [(1, 2)]


def test_a_rolled_back_savepoint_keeps_the_outer_entries_pending(
    store: Store, log: AuditLog
) -> None:
    with Session(store.records_engine) as session:
        log.append_many(session, [make_event(i) for i in range(5)])
        nested = session.begin_nested()
        log.append_many(session, [make_event(i) for i in range(5, 12)])  # signs 1@10
        nested.rollback()
        session.commit()
    # The savepoint's checkpoint went with it; the commit signed the outer entries.
    assert [(c["ordinal"], c["seq"]) for c in checkpoints(store)] == [(1, 5)]
    assert [(a["ordinal"], a["seq"]) for a in anchored(log)] == [(1, 5)]
    with store.records() as session:
        assert verify_log(session, public_key=log.public_key, anchor=log.anchor).ok


def test_a_session_joined_through_a_savepoint_is_signed_at_its_commit(
    store: Store, secrets: Secrets
) -> None:
    # A test harness: the session commits into a savepoint of an outer transaction that is
    # rolled back at the end. It passes anchor=None: the head it would anchor never persists.
    harness_log = AuditLog(signing_key=secrets.audit_signing_key, anchor=None)
    with store.records_engine.connect() as connection:
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        harness_log.append_many(session, [make_event(i) for i in range(3)])
        session.commit()
        signed = connection.execute(select(CHECKPOINTS.c.ordinal, CHECKPOINTS.c.seq)).all()
        assert [tuple(row) for row in signed] == [(1, 3)]
        with Session(bind=connection, join_transaction_mode="create_savepoint") as again:
            harness_log.append(again, make_event(3))
            again.commit()
        with Session(bind=connection) as reader:
            report = verify_log(reader, public_key=harness_log.public_key)
        assert report.ok and report.checkpoints == 2
        session.close()
        outer.rollback()
    assert checkpoints(store) == []


def test_two_logs_in_one_session_sign_once(store: Store, log: AuditLog, secrets: Secrets) -> None:
    other = AuditLog(signing_key=secrets.audit_signing_key, checkpoint_every=3)
    with store.records() as session:
        log.append_many(session, [make_event(i) for i in range(5)])
        other.append_many(session, [make_event(i) for i in range(5, 7)])  # 5 unsigned: signs 6
    signed = [(c["ordinal"], c["seq"], c["max_gap"]) for c in checkpoints(store)]
    assert signed == [(1, 6, 6), (2, 7, 10)]
    with store.records() as session:
        assert verify_log(session, public_key=log.public_key, anchor=log.anchor).ok


def test_checkpoint_on_demand(store: Store, log: AuditLog, audit_clock: FixedClock) -> None:
    with store.records() as session:
        assert log.checkpoint(session) is None  # nothing to sign yet
    with store.records() as session:
        log.append_many(session, [make_event(i) for i in range(7)])
        audit_clock.advance(hours=1)
        made = log.checkpoint(session)
        assert made is not None and (made.ordinal, made.seq) == (1, 7)
        assert made.at == SIGNED_AT + timedelta(hours=1)
        assert log.checkpoint(session) == made  # the head is signed: returned as is
    assert len(checkpoints(store)) == 1 and [a["ordinal"] for a in anchored(log)] == [1]


def test_tx_3_4_who_read_my_data(store: Store, log: AuditLog) -> None:
    with store.records() as session:
        log.append_many(session, [make_event(i) for i in range(60)])
    with store.records() as session:
        reads = log.entries(session, subject=subject(2), actions={AuditAction.READ})
        assert reads and all(
            e.subject == subject(2) and e.action is AuditAction.READ for e in reads
        )
        assert {e.actor_id for e in reads} <= {"staff-0", "staff-1", "staff-2"}
        since = log.entries(session, since=T0 + timedelta(minutes=55))
        assert [e.seq for e in since] == [56, 57, 58, 59, 60]
        newest = log.entries(session, subject=subject(0), limit=3)
        assert [e.seq for e in newest] == [43, 50, 57]
        assert log.entries(session, actions=()) == []
        with pytest.raises(Invalid):
            log.entries(session, limit=0)


def test_many_units_of_random_sizes_verify(
    store: Store, log: AuditLog, audit_clock: FixedClock
) -> None:
    seed = random.randrange(2**32)
    print(f"\nrandom units of work, seed {seed}")
    rng = random.Random(seed)
    count = 0
    for _ in range(40):
        with store.records() as session:
            for _ in range(rng.randint(1, 3)):
                size = rng.choice([1, 1, 2, 3, 9, 10, 11, 25])
                if rng.random() < 0.5:
                    log.append_many(session, [make_event(count + i) for i in range(size)])
                else:
                    for i in range(size):
                        log.append(session, make_event(count + i))
                count += size
        audit_clock.advance(seconds=rng.randint(0, 90))
    with store.records() as session:
        report = verify_log(session, public_key=log.public_key, anchor=log.anchor)
    assert report.ok, (seed, report.problems)
    assert (report.checked, report.head_seq, report.signed_seq) == (count, count, count)
    assert report.notes == [] and report.anchor_lines == 40
    signed = [0, *(c["seq"] for c in checkpoints(store))]
    assert max(b - a for a, b in itertools.pairwise(signed)) <= 10, seed


def test_a_few_thousand_entries_verify(store: Store, secrets: Secrets, tmp_path: Path) -> None:
    big = AuditLog(
        signing_key=secrets.audit_signing_key,
        checkpoint_every=1000,
        anchor=AuditAnchor(tmp_path / "anchor.jsonl"),
    )
    with store.records() as session:
        big.append_many(session, [make_event(i) for i in range(2000)])
    for chunk in range(10):
        with store.records() as session:
            big.append_many(session, [make_event(i) for i in range(chunk * 150, chunk * 150 + 150)])
    with store.records() as session:
        report = verify_log(session, public_key=big.public_key, anchor=big.anchor)
    assert report.ok, report.problems
    assert (report.checked, report.checkpoints, report.head_seq) == (3500, 12, 3500)


def test_appending_10000_entries_in_one_batch(store: Store, log: AuditLog) -> None:
    # How fast is for the benchmarks to say; here: one batch, numbered and verifiable.
    events = [make_event(i) for i in range(10_000)]
    with store.records() as session:
        seqs = log.append_many(session, events)
    assert seqs == list(range(1, 10_001))
    with store.records() as session:
        assert verify_log(session, public_key=log.public_key, anchor=log.anchor).ok


def test_concurrent_appenders_never_fork(store: Store, log: AuditLog) -> None:
    per_thread, threads = 200, 2
    start = threading.Barrier(threads)
    failures: list[BaseException] = []

    def appender(worker: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with store.records() as session:
                    log.append(session, make_event(i, actor_id=f"worker-{worker}"))
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    workers = [threading.Thread(target=appender, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    entries = rows(store)
    assert [e["seq"] for e in entries] == list(range(1, per_thread * threads + 1))
    by_worker = {f"worker-{n}": 0 for n in range(threads)}
    for e in entries:
        by_worker[e["actor_id"]] += 1
    assert set(by_worker.values()) == {per_thread}
    with store.records() as session:
        report = verify_log(session, public_key=log.public_key, anchor=log.anchor)
    assert report.ok, report.problems
    # One checkpoint a commit, each anchored; lines may have landed out of order.
    assert report.checkpoints == report.anchor_lines == per_thread * threads


def test_triggers_refuse_update_and_delete(protected: Store, log: AuditLog) -> None:
    with protected.records() as session:
        log.append_many(session, [make_event(i) for i in range(12)])
        log.append(session, make_event(12, subjects={subject(1): 2}))
    for statement in (
        "UPDATE audit_entries SET reason = 'edited' WHERE seq = 3",
        "DELETE FROM audit_entries WHERE seq = 3",
        "UPDATE audit_checkpoints SET entry_hash = 'x' WHERE seq = 10",
        "DELETE FROM audit_checkpoints",
        "DELETE FROM audit_entry_subjects",
        "UPDATE audit_entry_subjects SET count = 0",
        "DELETE FROM audit_head",
    ):
        with pytest.raises(DBAPIError, match="append-only"), protected.records() as session:
            session.execute(text(statement))
    if protected.dialect == "postgresql":
        for table in ("audit_entries", "audit_entry_subjects", "audit_checkpoints"):
            with pytest.raises(DBAPIError, match="append-only"), protected.records() as session:
                session.execute(text(f"TRUNCATE {table}"))
    with protected.records() as session:  # appending still works: the head may move
        assert log.append(session, make_event(13)) == 14
    with protected.records() as session:
        report = verify_log(session, public_key=log.public_key, anchor=log.anchor)
    assert report.ok and report.checked == 14


def test_protection_is_idempotent(protected: Store) -> None:
    with protected.records_engine.begin() as connection:
        protect_audit_tables(connection)


def test_missing_head_is_seeded_on_an_empty_log(
    store: Store, log: AuditLog, tamper: Tamper
) -> None:
    tamper("DELETE FROM audit_head")  # tables made by a migration without the seed
    with store.records() as session:
        assert log.append(session, make_event(0)) == 1
    with store.records() as session:
        assert verify_log(session, public_key=log.public_key).ok


def test_missing_head_beside_entries_refuses_to_append(
    store: Store, log: AuditLog, tamper: Tamper
) -> None:
    with store.records() as session:
        log.append(session, make_event(0))
    tamper("DELETE FROM audit_head")
    with pytest.raises(AuditLogBroken, match="head row is missing"), store.records() as session:
        log.append(session, make_event(1))


def test_entry_beyond_the_head_refuses_to_append(
    store: Store, log: AuditLog, tamper: Tamper
) -> None:
    with store.records() as session:
        log.append(session, make_event(0))
    tamper("UPDATE audit_head SET seq = 0")
    with pytest.raises(AuditLogBroken, match="entry 1 already exists"), store.records() as session:
        log.append(session, make_event(1))


def test_checkpoint_beyond_the_heads_record_refuses_to_commit(
    store: Store, log: AuditLog, tamper: Tamper
) -> None:
    with store.records() as session:
        log.append_many(session, [make_event(i) for i in range(3)])
    tamper("UPDATE audit_head SET checkpoint_seq = 0, checkpoint_ordinal = 0")
    with (
        pytest.raises(AuditLogBroken, match=r"checkpoint 1 \(entry 3\) already exists"),
        store.records() as session,
    ):
        log.checkpoint(session)


def test_the_table_has_no_personal_columns(store: Store) -> None:
    # What the log can hold is fixed: ids, codes, counts, pseudonyms and hashes.
    assert [c.name for c in AuditEntry.__table__.columns] == [
        "seq",
        "at",
        "actor_id",
        "actor_role",
        "action",
        "outcome",
        "purpose",
        "policy_id",
        "subject",
        "categories",
        "clauses",
        "count",
        "reason",
        "reference",
        "prev_hash",
        "hash",
        "subjects",
    ]
