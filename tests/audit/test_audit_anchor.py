"""The anchor file: whole lines from concurrent writers, a failed write never fails a commit,
damage is a note, not an alarm."""

from __future__ import annotations

import logging
import multiprocessing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mexfi.audit import AuditAnchor, AuditLog, default_anchor_path, key_fingerprint, verify_log
from mexfi.audit.chain import Checkpoint
from mexfi.db import Store
from mexfi.secrets import Secrets

from .helpers import make_event

WRITERS, LINES = 4, 150


def _write_lines(path: str, seed: bytes, writer: int) -> None:
    key = Ed25519PrivateKey.from_private_bytes(seed)
    anchor = AuditAnchor(path)
    for n in range(LINES):
        ordinal = writer * LINES + n + 1
        anchor.append(
            Checkpoint.sign(
                key,
                key_fingerprint(key.public_key()),
                ordinal=ordinal,
                prev_digest="0" * 64,
                seq=ordinal,
                entry_hash="ab" * 32,
                at=datetime(2026, 3, 2, tzinfo=UTC),
                max_gap=1000,
            )
        )


def test_concurrent_processes_append_whole_lines(tmp_path: Path, secrets: Secrets) -> None:
    path = tmp_path / "audit-anchor.jsonl"
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_write_lines, args=(str(path), secrets.audit_signing_seed, n))
        for n in range(WRITERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    read = AuditAnchor(path).read()
    assert read.unreadable == read.fragments == [] and not read.torn_tail
    ordinals = sorted(line.ordinal or 0 for _, line in read.lines)
    assert ordinals == list(range(1, WRITERS * LINES + 1))
    public = secrets.audit_signing_key.public_key()
    assert all(line.verifies(public) for _, line in read.lines)


def test_a_failed_anchor_write_never_fails_the_commit(
    store: Store, secrets: Secrets, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    log = AuditLog(signing_key=secrets.audit_signing_key, anchor=blocker / "audit-anchor.jsonl")
    with caplog.at_level(logging.WARNING, logger="mexfi.audit"), store.records() as session:
        log.append(session, make_event(0, reason="purpose_not_declared"))
    assert "could not append checkpoint 1 to the audit anchor file" in caplog.text
    assert "purpose_not_declared" not in caplog.text and "ps_" not in caplog.text
    with store.records() as session:
        assert log.entries(session)[0].seq == 1  # committed all the same
        log.anchor = AuditAnchor(tmp_path / "audit-anchor.jsonl")
        log.append(session, make_event(1))
    with store.records() as session:
        # The next commit's line vouches for the entries the lost line would have.
        report = verify_log(session, public_key=log.public_key, anchor=log.anchor)
    assert report.ok and (report.anchor_ordinal, report.anchored_seq) == (2, 2)


def test_a_damaged_line_is_a_note(store: Store, secrets: Secrets, tmp_path: Path) -> None:
    log = AuditLog(signing_key=secrets.audit_signing_key, anchor=tmp_path / "anchor.jsonl")
    with store.records() as session:
        log.append(session, make_event(0))
    assert log.anchor is not None
    with log.anchor.path.open("ab") as handle:
        handle.write(b"\x00\x00\x00 not json\n")
    with store.records() as session:
        report = verify_log(session, public_key=log.public_key, anchor=log.anchor)
    assert report.ok
    assert report.notes == [
        "anchor file lines 2 hold no checkpoint (damaged, or torn by a crash): skipped"
    ]


def test_the_default_anchor_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MEXFI_AUDIT_ANCHOR", raising=False)
    assert default_anchor_path() == tmp_path / "data" / "audit-anchor.jsonl"
    monkeypatch.setenv("MEXFI_AUDIT_ANCHOR", str(tmp_path / "worm" / "anchor.jsonl"))
    assert AuditAnchor.from_env().path == tmp_path / "worm" / "anchor.jsonl"
