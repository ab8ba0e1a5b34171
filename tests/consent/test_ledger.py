"""The consent ledger on SQLite and PostgreSQL: recording, the current state, registration's
acceptance (TX-2, BK-1.2), push preferences (BK-6.1), rebuilding and verifying the chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from mexfi.audit import AuditAction, read_entries
from mexfi.clock import FixedClock
from mexfi.consent import (
    Choice,
    ChoiceInput,
    ConsentEntry,
    ConsentLedgerEntry,
    ConsentNotAnchored,
    ConsentStateRow,
    HolderKind,
    HolderNotPseudonymous,
    LedgerProblemKind,
    Method,
    NoticeKind,
    Source,
    UnknownNotice,
    can_notify,
    current_choices,
    is_allowed,
    ledger_entries,
    notification_preferences,
    rebuild_state,
    record_choices,
    refusal_counts,
    send_notification,
    verify_ledger,
)
from mexfi.consent.chain import content, entry_hash
from mexfi.db import Store, UnitOfWork
from mexfi.errors import Invalid
from mexfi.policy import Policy
from mexfi.vault import Vault
from tests.vault.conftest import SERVICE, SYSTEM

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def rider(vault: Vault, uow: UnitOfWork) -> str:
    """A BakıKart rider's pseudonym (registered with no records)."""
    (subject,) = vault.register_many(
        uow, policy_id="bakikart", kind="rider", count=1, actor=SERVICE
    )
    return subject.pseudonym


def choose(
    uow: UnitOfWork,
    policy: Policy,
    holder: str,
    *choices: tuple[NoticeKind, str, Choice],
    at: datetime = AT,
    method: Method = Method.PORTAL,
) -> list[ConsentEntry]:
    return record_choices(
        uow,
        policy=policy,
        holder=holder,
        holder_kind=HolderKind.SUBJECT,
        choices=[ChoiceInput(kind, notice, choice) for kind, notice, choice in choices],
        method=method,
        source=Source.PORTAL,
        language="az",
        actor_id="portal",
        at=at,
    )


PERSONALIZED_IN = (NoticeKind.NOTIFICATION, "personalized", Choice.OPT_IN)
PERSONALIZED_OUT = (NoticeKind.NOTIFICATION, "personalized", Choice.OPT_OUT)


# ------------------------------------------------------------------ recording


def test_choices_are_chained_and_become_the_current_state(vault: Vault) -> None:
    bakikart = vault.policy("bakikart")
    with vault.unit_of_work() as uow:
        holder = rider(vault, uow)
        first = choose(
            uow,
            bakikart,
            holder,
            PERSONALIZED_IN,
            (NoticeKind.COOKIE, "quality", Choice.OPT_IN),
        )
    assert [e.kind for e in first] == [NoticeKind.NOTIFICATION, NoticeKind.COOKIE]
    assert first[1].seq == first[0].seq + 1 and first[1].prev_hash == first[0].hash
    assert all(e.policy_version == bakikart.policy.version for e in first)
    with vault.unit_of_work() as uow:
        # A withdrawal is a new entry; the first one stays.
        (withdrawal,) = choose(uow, bakikart, holder, PERSONALIZED_OUT, at=AT + timedelta(1))
        assert withdrawal.prev_hash == first[1].hash
        assert current_choices(uow, policy_id="bakikart", holder=holder) == {
            (NoticeKind.NOTIFICATION, "personalized"): Choice.OPT_OUT,
            (NoticeKind.COOKIE, "quality"): Choice.OPT_IN,
            (NoticeKind.POLICY, bakikart.policy.version): Choice.ACKNOWLEDGE,
        }
        history = ledger_entries(uow, policy_id="bakikart", holder=holder)
        assert [(e.notice, e.choice) for e in history][-3:] == [
            ("personalized", Choice.OPT_IN),
            ("quality", Choice.OPT_IN),
            ("personalized", Choice.OPT_OUT),
        ]
        assert verify_ledger(uow).ok


def test_each_call_is_anchored_by_one_audit_entry(vault: Vault) -> None:
    bakikart = vault.policy("bakikart")
    with vault.unit_of_work() as uow:
        holder = rider(vault, uow)
        entries = choose(
            uow,
            bakikart,
            holder,
            PERSONALIZED_IN,
            (NoticeKind.COOKIE, "quality", Choice.OPT_OUT),
        )
        choose(uow, bakikart, holder, PERSONALIZED_OUT)
        audited = read_entries(
            uow.records, subject=holder, actions=[AuditAction.CONSENT, AuditAction.WITHDRAW]
        )
    assert [a.action for a in audited] == [AuditAction.CONSENT, AuditAction.WITHDRAW]
    consent = audited[0]
    assert consent.count == 2 and consent.reason == "portal"
    assert consent.reference is not None and consent.reference.startswith(
        f"consent:{entries[0].id}:2:"
    )
    assert "BK-6.1" in consent.clauses and "BK-5.1" in consent.clauses


def test_a_holder_must_be_a_pseudonym_and_a_notice_declared(vault: Vault) -> None:
    bakikart = vault.policy("bakikart")
    with vault.unit_of_work() as uow:
        holder = rider(vault, uow)
        with pytest.raises(HolderNotPseudonymous) as plain:
            choose(uow, bakikart, "+994501234567", PERSONALIZED_IN)
        assert "994" not in str(plain.value)
        with pytest.raises(UnknownNotice, match="'weekly_digest'"):
            choose(uow, bakikart, holder, (NoticeKind.NOTIFICATION, "weekly_digest", Choice.OPT_IN))
        with pytest.raises(UnknownNotice, match="geolocation"):
            # BakıKart collects no location: it has no geolocation switch.
            choose(uow, bakikart, holder, (NoticeKind.GEOLOCATION, "collection", Choice.OPT_OUT))
        with pytest.raises(Invalid, match="acknowledge"):
            choose(uow, bakikart, holder, (NoticeKind.POLICY, "1.0", Choice.OPT_IN))
        with pytest.raises(HolderNotPseudonymous):
            record_choices(
                uow,
                policy=bakikart,
                holder=holder,  # a subject's pseudonym is not a device's
                holder_kind=HolderKind.DEVICE,
                choices=[ChoiceInput(NoticeKind.COOKIE, "quality", Choice.OPT_IN)],
                method=Method.SAVE,
                source=Source.BANNER,
                language="en",
                actor_id="banner",
                at=AT,
            )
        assert [e.notice for e in ledger_entries(uow, holder=holder)] == ["1.0"]


def test_a_choice_with_no_audit_log_is_refused(vault: Vault, store: Store) -> None:
    with store.unit_of_work() as uow, pytest.raises(ConsentNotAnchored):
        choose(uow, vault.policy("bakikart"), "ps_" + "0" * 24, PERSONALIZED_IN)


def test_device_cookie_choices_and_defaults(vault: Vault) -> None:
    taxsee = vault.policy("taxsee_driver")
    device = vault.value_pseudonym("DEVICE", "3f9c2a7e5b1d4c6a8e0f1a2b3c4d5e6f")
    with vault.unit_of_work() as uow:

        def allowed(category: str) -> bool:
            return is_allowed(
                uow, policy=taxsee, holder=device, kind=NoticeKind.COOKIE, notice=category
            )

        necessary = next(c.id for c in taxsee.cookies if not c.consent_required)
        optional = [c.id for c in taxsee.cookies if c.consent_required]
        assert allowed(necessary) and not any(allowed(c) for c in optional)
        record_choices(
            uow,
            policy=taxsee,
            holder=device,
            holder_kind=HolderKind.DEVICE,
            choices=[ChoiceInput(NoticeKind.COOKIE, c, Choice.OPT_IN) for c in optional],
            method=Method.ACCEPT_ALL,
            source=Source.BANNER,
            language="ru",
            actor_id="banner",
            at=AT,
        )
        assert all(allowed(c) for c in optional)
        audited = read_entries(uow.records, actions=[AuditAction.CONSENT])
        assert audited[-1].subject is None and audited[-1].count == len(optional)


# ------------------------------------------------------------------ registration (TX-2, BK-1.2)


@pytest.mark.parametrize(
    ("policy_id", "kind", "method"),
    [("bakikart", "rider", Method.FIRST_USE), ("taxsee_driver", "driver", Method.REGISTRATION)],
)
def test_registration_writes_the_acceptance_of_the_current_version(
    vault: Vault, policy_id: str, kind: str, method: Method
) -> None:
    policy = vault.policy(policy_id)
    with vault.unit_of_work() as uow:
        subjects = vault.register_many(uow, policy_id=policy_id, kind=kind, count=3, actor=SYSTEM)
    with vault.unit_of_work() as uow:
        for subject in subjects:
            (entry,) = ledger_entries(uow, holder=subject.pseudonym)
            assert (entry.kind, entry.notice, entry.choice, entry.method) == (
                NoticeKind.POLICY,
                policy.policy.version,
                Choice.ACKNOWLEDGE,
                method,
            )
            assert entry.policy_version == policy.policy.version
            assert is_allowed(
                uow,
                policy=policy,
                holder=subject.pseudonym,
                kind=NoticeKind.POLICY,
                notice=policy.policy.version,
            )
        # One audit entry for the registration, which anchors the three acceptances.
        (register,) = read_entries(uow.records, subject=subjects[0].pseudonym)
        assert register.action is AuditAction.REGISTER
        assert register.reference is not None and register.reference.startswith("consent:")
        assert register.reference.split(":")[2] == "3"
        assert verify_ledger(uow).ok


def test_a_single_registration_writes_its_acceptance_too(vault: Vault) -> None:
    with vault.unit_of_work() as uow:
        subject = vault.register(
            uow, policy_id="bakikart", kind="rider", actor=SERVICE, purpose="service_provision"
        )
        (entry,) = ledger_entries(uow, holder=subject.pseudonym)
        assert entry.method is Method.FIRST_USE and entry.actor_id == SERVICE.id
        (register,) = read_entries(uow.records, subject=subject.pseudonym)
        assert register.reference is not None
        assert register.reference.startswith(f"consent:{entry.id}:1:")


def test_a_registration_rolled_back_leaves_no_acceptance(vault: Vault) -> None:
    with pytest.raises(RuntimeError), vault.unit_of_work() as uow:
        pseudonym = rider(vault, uow)
        raise RuntimeError("the caller fails after registering")
    with vault.unit_of_work() as uow:
        assert ledger_entries(uow, holder=pseudonym) == []
        assert verify_ledger(uow).ok


# ------------------------------------------------------------------ push notifications (BK-6.1)


def test_bk_6_1_personalized_pushes_are_refused_until_opt_in(vault: Vault) -> None:
    bakikart = vault.policy("bakikart")
    sent: list[tuple[str, str]] = []

    def sender(*, holder: str, notification: str) -> None:
        sent.append((holder, notification))

    def send(uow: UnitOfWork, holder: str, notification: str, at: datetime = AT) -> bool:
        return send_notification(
            uow, policy=bakikart, holder=holder, notification=notification, at=at, sender=sender
        )

    with vault.unit_of_work() as uow:
        holder = rider(vault, uow)
        assert notification_preferences(uow, policy=bakikart, holder=holder) == {
            "qr_tickets": True,
            "balance_and_payments": True,
            "personalized": False,
        }
        assert send(uow, holder, "qr_tickets")
        assert not send(uow, holder, "personalized")
        choose(uow, bakikart, holder, PERSONALIZED_IN)
        assert can_notify(uow, policy=bakikart, holder=holder, notification="personalized")
        assert send(uow, holder, "personalized")
        choose(uow, bakikart, holder, PERSONALIZED_OUT, at=AT + timedelta(hours=1))
        assert not send(uow, holder, "personalized", AT + timedelta(hours=2))
        assert not send(uow, holder, "personalized", AT + timedelta(days=1))
    assert sent == [(holder, "qr_tickets"), (holder, "personalized")]
    with vault.unit_of_work() as uow:
        counts = refusal_counts(uow, policy_id="bakikart")
        assert [(c.notice, c.reason, c.day.isoformat(), c.count) for c in counts] == [
            ("personalized", "notification_not_allowed", "2026-03-02", 2),
            ("personalized", "notification_not_allowed", "2026-03-03", 1),
        ]
        assert refusal_counts(uow, policy_id="taxsee_driver") == []


def test_an_unknown_notification_type_is_named(vault: Vault) -> None:
    with vault.unit_of_work() as uow, pytest.raises(UnknownNotice, match="'newsletter'"):
        can_notify(
            uow,
            policy=vault.policy("bakikart"),
            holder=rider(vault, uow),
            notification="newsletter",
        )


# ------------------------------------------------------------------ rebuilding and verifying


def test_rebuild_state_restores_a_corrupted_state_table(vault: Vault) -> None:
    bakikart = vault.policy("bakikart")
    with vault.unit_of_work() as uow:
        holders = [rider(vault, uow) for _ in range(3)]
        for holder in holders:
            choose(uow, bakikart, holder, PERSONALIZED_IN)
        choose(uow, bakikart, holders[0], PERSONALIZED_OUT)
    with vault.unit_of_work() as uow:
        before = {h: current_choices(uow, policy_id="bakikart", holder=h) for h in holders}
        # Corrupted: one row flipped, one deleted, one invented.
        uow.records.execute(
            update(ConsentStateRow)
            .where(ConsentStateRow.holder == holders[0], ConsentStateRow.notice == "personalized")
            .values(choice="opt_in")
        )
        uow.records.execute(text("DELETE FROM consent_state WHERE holder = :h"), {"h": holders[1]})
        uow.records.add(
            ConsentStateRow(
                policy_id="bakikart",
                holder=holders[2],
                kind="cookie",
                notice="quality",
                choice="opt_in",
                entry_id="0" * 32,
                recorded_at=AT,
            )
        )
        uow.records.flush()
        assert can_notify(uow, policy=bakikart, holder=holders[0], notification="personalized")
        # From the ledger: 3 acceptances and 3 personalized choices; the invented row goes.
        assert rebuild_state(uow) == 6
    with vault.unit_of_work() as uow:
        after = {h: current_choices(uow, policy_id="bakikart", holder=h) for h in holders}
        assert not can_notify(uow, policy=bakikart, holder=holders[0], notification="personalized")
    assert after == before


@pytest.fixture
def ledger(vault: Vault) -> list[ConsentEntry]:
    """A few calls' worth of entries, committed."""
    bakikart = vault.policy("bakikart")
    with vault.unit_of_work() as uow:
        holder = rider(vault, uow)
        choose(
            uow, bakikart, holder, PERSONALIZED_IN, (NoticeKind.COOKIE, "quality", Choice.OPT_IN)
        )
        choose(uow, bakikart, holder, PERSONALIZED_OUT)
        entries = ledger_entries(uow)
        assert verify_ledger(uow).ok
    return entries


def test_an_edited_entry_is_caught(vault: Vault, ledger: list[ConsentEntry]) -> None:
    target = ledger[2]
    with vault.unit_of_work() as uow:
        uow.records.execute(
            text("UPDATE consent_entries SET choice = 'opt_out' WHERE seq = :seq"),
            {"seq": target.seq},
        )
        report = verify_ledger(uow)
    assert not report.ok and report.first_broken_seq == target.seq
    kinds = {(p.seq, p.kind) for p in report.problems}
    assert (target.seq, LedgerProblemKind.EDITED) in kinds
    assert (ledger[1].seq, LedgerProblemKind.ANCHOR_MISMATCH) in kinds


def test_a_deleted_entry_is_caught(vault: Vault, ledger: list[ConsentEntry]) -> None:
    target = ledger[2]
    with vault.unit_of_work() as uow:
        uow.records.execute(
            text("DELETE FROM consent_entries WHERE seq = :seq"), {"seq": target.seq}
        )
        report = verify_ledger(uow)
    assert not report.ok and report.first_broken_seq == target.seq
    assert LedgerProblemKind.DELETED in {p.kind for p in report.problems}


def test_a_deleted_last_entry_is_caught(vault: Vault, ledger: list[ConsentEntry]) -> None:
    with vault.unit_of_work() as uow:
        uow.records.execute(
            text("DELETE FROM consent_entries WHERE seq = :seq"), {"seq": ledger[-1].seq}
        )
        report = verify_ledger(uow)
    assert {p.kind for p in report.problems} >= {
        LedgerProblemKind.TRUNCATED,
        LedgerProblemKind.DELETED,
    }


def test_a_relinked_entry_is_caught(vault: Vault, ledger: list[ConsentEntry]) -> None:
    """An entry moved to another place in the chain, its own hash recomputed to match."""
    target = ledger[2]
    with vault.unit_of_work() as uow:
        values = target.model_dump()
        values["prev_hash"] = ledger[0].hash
        values["hash"] = entry_hash(values, content(values))
        uow.records.execute(
            update(ConsentLedgerEntry)
            .where(ConsentLedgerEntry.seq == target.seq)
            .values(prev_hash=values["prev_hash"], hash=values["hash"])
        )
        report = verify_ledger(uow)
    assert report.first_broken_seq == target.seq
    assert (target.seq, LedgerProblemKind.RELINKED) in {(p.seq, p.kind) for p in report.problems}


def test_a_ledger_rewritten_with_a_recomputed_chain_still_disagrees_with_the_audit_log(
    vault: Vault, ledger: list[ConsentEntry]
) -> None:
    """Whoever can rewrite every hash cannot rewrite the signed audit log."""
    target = ledger[-1]
    with vault.unit_of_work() as uow:
        session = uow.records
        session.execute(
            update(ConsentLedgerEntry)
            .where(ConsentLedgerEntry.seq == target.seq)
            .values(choice="opt_in")
        )
        prev = ledger[-2].hash
        row = session.execute(
            select(ConsentLedgerEntry.__table__).where(ConsentLedgerEntry.seq == target.seq)
        ).one()
        values = {**dict(row._mapping), "prev_hash": prev}
        new_hash = entry_hash(values, content(values))
        session.execute(
            update(ConsentLedgerEntry)
            .where(ConsentLedgerEntry.seq == target.seq)
            .values(hash=new_hash)
        )
        session.execute(text("UPDATE consent_head SET hash = :h WHERE id = 1"), {"h": new_hash})
        report = verify_ledger(uow)
    assert [(p.seq, p.kind) for p in report.problems] == [
        (target.seq, LedgerProblemKind.ANCHOR_MISMATCH)
    ]


def test_an_entry_added_without_the_service_is_unanchored(
    vault: Vault, ledger: list[ConsentEntry]
) -> None:
    last = ledger[-1]
    values = {
        **last.model_dump(),
        "id": "f" * 32,
        "seq": last.seq + 1,
        "prev_hash": last.hash,
        "choice": "opt_in",
    }
    values["hash"] = entry_hash(values, content(values))
    with vault.unit_of_work() as uow:
        uow.records.add(ConsentLedgerEntry(**values))
        uow.records.execute(
            text("UPDATE consent_head SET seq = :s, hash = :h WHERE id = 1"),
            {"s": values["seq"], "h": values["hash"]},
        )
        uow.records.flush()
        report = verify_ledger(uow)
    assert [(p.seq, p.kind) for p in report.problems] == [
        (values["seq"], LedgerProblemKind.UNANCHORED)
    ]


def test_the_clock_is_the_callers(vault: Vault, clock: FixedClock) -> None:
    """Registration stamps the acceptance with the vault's clock, not the wall clock."""
    with vault.unit_of_work() as uow:
        (entry,) = ledger_entries(uow, holder=rider(vault, uow))
    assert entry.recorded_at == clock.now()
