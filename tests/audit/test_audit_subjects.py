"""Batch entries: one entry names many subjects, each subject's access log still finds it (TX-3.4),
and a subject index made to hide it is noticed."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from mexfi.audit import (
    AuditAction,
    AuditEntrySubject,
    AuditEvent,
    AuditLog,
    AuditTemplate,
    AuditValueRefused,
    entry_hash,
    verify_log,
)
from mexfi.db import Store

from .helpers import T0, Tamper, make_event, rows, subject

TIER = AuditTemplate(
    action=AuditAction.TIER,
    actor_id="svc-retention",
    actor_role="service",
    policy_id="bakikart",
    categories=("rider.trips.taps",),
    clauses=("BK-3.3",),
    reason="moved_to_passive_tier",
    reference="bk-3.3-tier-1y",
)


def batch(first: int, size: int, *, at_minute: int = 0) -> AuditEvent:
    """One batch entry over subjects first … first+size-1, n+1 records each."""
    counts = {subject(n): n % 4 + 1 for n in range(first, first + size)}
    return TIER.event(at=T0.replace(minute=at_minute), subjects=counts, count=sum(counts.values()))


def test_a_batch_entry_is_found_from_each_of_its_subjects(store: Store, log: AuditLog) -> None:
    with store.records() as session:
        log.append_many(session, [make_event(i) for i in range(5)])  # subjects 0–4, one each
        log.append(session, batch(3, 6))  # subjects 3–8
        log.append(session, make_event(5))
    with store.records() as session:
        (entry,) = log.entries(session, subject=subject(7))
        assert entry.seq == 6 and entry.subject is None
        assert entry.subjects == {subject(n): n % 4 + 1 for n in range(3, 9)}
        assert entry.count == sum(entry.subjects.values())
        # The entry's own subject and a batch's subjects alike, oldest first, no duplicates.
        assert [e.seq for e in log.entries(session, subject=subject(3))] == [4, 6]
        assert [e.seq for e in log.entries(session, subject=subject(3), limit=1)] == [6]
        actions = {AuditAction.TIER}
        assert [e.seq for e in log.entries(session, subject=subject(4), actions=actions)] == [6]
        assert log.entries(session, subject=subject(99)) == []
        indexed = session.scalar(select(func.count()).select_from(AuditEntrySubject))
        assert indexed == 6
    with store.records() as session:
        assert verify_log(session, public_key=log.public_key).ok


def test_subjects_are_hashed_only_when_present(store: Store, log: AuditLog) -> None:
    with store.records() as session:
        log.append_many(session, [make_event(0), batch(0, 3)])
    plain, batched = rows(store)
    assert plain["subjects"] is None
    # The canonical form of entries written before batch entries existed, spelled out.
    legacy = {k: v for k, v in plain.items() if k not in ("hash", "subjects")}
    legacy["at"] = legacy["at"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    text = json.dumps(legacy, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert plain["hash"] == hashlib.sha256(text.encode()).hexdigest()
    assert batched["subjects"] == json.dumps(
        {subject(0): 1, subject(1): 2, subject(2): 3}, separators=(",", ":")
    )
    assert entry_hash({**batched, "subjects": None}) != batched["hash"] == entry_hash(batched)


def test_deleted_index_rows_that_hide_an_entry_are_named(
    protected: Store, log: AuditLog, tamper: Tamper
) -> None:
    with protected.records() as session:
        log.append_many(session, [make_event(i) for i in range(4)] + [batch(10, 5)])
    with protected.records() as session:
        assert verify_log(session, public_key=log.public_key).ok
    tamper(
        "DELETE FROM audit_entry_subjects WHERE seq = 5 AND subject IN (:a, :b)",
        a=subject(11),
        b=subject(13),
    )
    with protected.records() as session:
        assert log.entries(session, subject=subject(11)) == []  # what the deletion was for
        report = verify_log(session, public_key=log.public_key)
    assert [(p.seq, p.kind.value) for p in report.problems] == [(5, "index_mismatch")]
    assert report.problems[0].message == (
        "the subject index disagrees with entry 5: 2 of its 5 subjects are missing from it "
        "(rows deleted: the entry no longer shows in those subjects' access logs)"
    )
    assert subject(11) not in report.problems[0].message


@pytest.mark.parametrize(
    ("statement", "params", "seq"),
    [
        ("INSERT INTO audit_entry_subjects VALUES (2, :s, 1)", {"s": subject(40)}, 2),
        ("INSERT INTO audit_entry_subjects VALUES (5, :s, 1)", {"s": subject(40)}, 5),
        ("UPDATE audit_entry_subjects SET count = 9 WHERE subject = :s", {"s": subject(12)}, 5),
    ],
)
def test_index_rows_added_or_changed_are_named(
    protected: Store,
    log: AuditLog,
    tamper: Tamper,
    statement: str,
    params: dict[str, Any],
    seq: int,
) -> None:
    with protected.records() as session:
        log.append_many(session, [make_event(i) for i in range(4)] + [batch(10, 5)])
    with protected.records() as session:
        assert verify_log(session, public_key=log.public_key).problems == []
    tamper(statement, **params)
    with protected.records() as session:
        report = verify_log(session, public_key=log.public_key)
    assert [(p.seq, p.kind.value) for p in report.problems] == [(seq, "index_mismatch")]


def test_index_is_checked_in_chunks(store: Store, log: AuditLog, tamper: Tamper) -> None:
    # More batch entries than one query compares, the tampered one in a later chunk.
    with store.records() as session:
        log.append_many(session, [batch(n, 3) for n in range(450)])
    tamper("DELETE FROM audit_entry_subjects WHERE seq = 420 AND subject = :s", s=subject(420))
    with store.records() as session:
        report = verify_log(session, public_key=log.public_key)
    assert [(p.seq, p.kind.value) for p in report.problems] == [(420, "index_mismatch")]


def test_subjects_take_pseudonyms_and_counts_only() -> None:
    with pytest.raises(AuditValueRefused, match="'subjects'") as caught:
        make_event(0, subjects={"+994501234567": 1})
    assert "+994" not in str(caught.value)
    for bad in ({"ps_nobody": 1}, {subject(1): -1}, {subject(1): True}, ["ps_x"]):
        with pytest.raises(AuditValueRefused, match="'subjects'"):
            make_event(0, subjects=bad)
    event = make_event(0, subjects={subject(2): 1, subject(1): 4})
    assert list(event.subjects) == [subject(1), subject(2)]  # sorted, read-only
    assert hash(event) == hash(make_event(0, subjects={subject(1): 4, subject(2): 1}))
    assert make_event(0).subjects == {}


def test_subject_lookup_uses_the_indexes(store: Store, log: AuditLog) -> None:
    if store.dialect != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    from sqlalchemy import text

    with store.records() as session:
        log.append_many(session, [make_event(i) for i in range(3000)] + [batch(0, 50)])
    with store.records() as session:
        session.execute(text("ANALYZE audit_entries"))
        session.execute(text("ANALYZE audit_entry_subjects"))
        session.execute(text("SET LOCAL enable_seqscan = off"))
        from mexfi.audit.service import _subject_query

        sql = _subject_query(subject(3)).compile(
            session.get_bind(), compile_kwargs={"literal_binds": True}
        )
        plan = "\n".join(session.execute(text(f"EXPLAIN {sql}")).scalars())
    assert "ix_audit_entries_subject" in plan and "ix_audit_entry_subjects_subject" in plan
