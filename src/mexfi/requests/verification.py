"""Proving that a request's author is its subject, before anything of the subject is read
(TX-11, BK-3.2, TX-4.1).

A request that passes intake stays `verifying`. Two ways out:

- a one-time code: `send_code` draws 6 digits (`secrets`), keeps only the vault's keyed MAC
  of them, and hands them to a `CodeSender` (an SMS gateway; `ConsoleSender` prints them for
  development and the demo) addressed to the subject's registered phone, which only the vault
  decrypts. `verify_code` checks what the requester read back. A code lives
  `CODE_TTL` (10 minutes); only the newest code of a request counts; `MAX_ATTEMPTS` (3)
  wrong codes lock the request (`locked`: no more codes);
- the DPO's out-of-band check (`verify_out_of_band`: seen in person with the identity
  document, a notarised letter, a qualified e-signature), with a reason screened for personal
  data. It also opens a `locked` request: a subject who mistyped is not shut out, yet nobody
  can keep guessing. (The subject may also make a new request; the rate limits still apply.)

Codes are rate-limited per subject and per phone, the phone counted by its blind-index bucket
(never the phone): `CODES_PER_HOUR` each an hour. A bucket is shared by the few subjects
registered under it, so a limit reached by another subject of the bucket shows as a wait.

Every step is an audit entry of the request (`AuditAction.REQUEST`, reference the request
id): `code_sent_<sender>`, `code_not_sent_<sender>`, `codes_rate_limited`, `code_accepted`,
`code_wrong_<n>_of_3`, `code_expired`, `no_code`, `verification_locked`, and the move to
`in_progress` naming the method. A refused attempt stays on record though the caller's unit
of work rolls back. Codes, ids and counts only: never a code or a phone.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from importlib.metadata import entry_points
from typing import Any, Protocol, TextIO, runtime_checkable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mexfi.db import UnitOfWork, new_id
from mexfi.policy import LANGS, Lang
from mexfi.requests.errors import (
    CodeNotSent,
    InvalidRequest,
    NoPhoneOnRecord,
    RequestStateConflict,
    TooManyCodes,
    UnknownCodeSender,
    VerificationDenied,
    VerificationFailed,
)
from mexfi.requests.models import SubjectRequest, VerificationCode
from mexfi.requests.schemas import RequestRead, RequestState
from mexfi.requests.service import _event, _row, _to_read, open_verified
from mexfi.scan import refuse_personal_data
from mexfi.vault import Actor, Vault

__all__ = [
    "CODES_PER_HOUR",
    "CODE_TTL",
    "MAX_ATTEMPTS",
    "CodeMessage",
    "CodeSender",
    "ConsoleSender",
    "OutOfBand",
    "VerificationRead",
    "code_sender",
    "send_code",
    "verification_status",
    "verify_code",
    "verify_out_of_band",
]

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 3
#: Codes a subject may get an hour, and codes a phone (its blind-index bucket) may get.
CODES_PER_HOUR = 3
RATE_WINDOW = timedelta(hours=1)
#: The role that records an out-of-band verification (the DPO's role id in both policies).
DPO_ROLE = "dpo"
#: The environment variable naming the sender, and the group senders plug in under.
SENDER_VARIABLE = "MEXFI_CODE_SENDER"
SENDER_ENTRY_POINTS = "mexfi.code_senders"

_CODE_RE = re.compile(rf"\d{{{CODE_DIGITS}}}")
_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")


class OutOfBand(StrEnum):
    """How the DPO verified a request's author without a code."""

    IN_PERSON = "in_person"  # seen in person with the identity document
    NOTARISED_LETTER = "notarised_letter"  # a letter whose signature a notary certified
    E_SIGNATURE = "e_signature"  # signed with a qualified electronic signature (ASAN İmza)


# --------------------------------------------------------------------------- senders


@dataclass(frozen=True)
class CodeMessage:
    """One code on its way: to `phone`, in `language`. The phone, the code and the text
    holding it never appear in a `repr`, hence in no log or traceback."""

    request_id: str
    policy_id: str
    language: str
    expires_at: datetime
    phone: str = field(repr=False)
    code: str = field(repr=False)
    text: str = field(repr=False)


@runtime_checkable
class CodeSender(Protocol):
    """Delivers a one-time code to a phone: an SMS gateway's client, or `ConsoleSender`.

    `send` raises `CodeNotSent` (or any error, reported as one) when the code did not go;
    it never logs the phone.
    """

    @property
    def name(self) -> str:
        """A short code naming the sender in the audit log (`console`, `sms_azercell`)."""
        ...

    def send(self, message: CodeMessage) -> None: ...


class ConsoleSender:
    """Development and the demo: prints the code and the request id (never the phone) on
    standard error, for the person at the console to read back."""

    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, message: CodeMessage) -> None:
        stream = self._stream or sys.stderr
        until = message.expires_at.isoformat(timespec="seconds")
        print(
            f"[console sender, no SMS sent] code {message.code} for request "
            f"{message.request_id}, valid until {until}",
            file=stream,
            flush=True,
        )


_BUILT_IN: dict[str, Callable[[], CodeSender]] = {"console": ConsoleSender}


def code_sender(name: str | None = None) -> CodeSender:
    """The sender `name` names, else `MEXFI_CODE_SENDER`, else `console`: a built-in one or
    one installed under the `mexfi.code_senders` entry-point group (an SMS gateway)."""
    chosen = (name or os.environ.get(SENDER_VARIABLE) or "console").strip()
    factory = _BUILT_IN.get(chosen)
    plugged = {e.name: e for e in entry_points(group=SENDER_ENTRY_POINTS)}
    if factory is None and chosen in plugged:
        factory = plugged[chosen].load()
    if factory is None:
        known = sorted({*_BUILT_IN, *plugged})
        raise UnknownCodeSender(
            f"no code sender {chosen[:40]!r} ({SENDER_VARIABLE})",
            hint=f"known senders: {', '.join(known)}; an SMS gateway plugs in as a CodeSender "
            f"under the {SENDER_ENTRY_POINTS!r} entry-point group",
        )
    sender = factory()
    if not _NAME_RE.fullmatch(str(getattr(sender, "name", ""))):
        raise UnknownCodeSender(
            f"code sender {chosen[:40]!r} has no valid name",
            hint="a sender's name is a short lowercase code (letters, digits, _)",
        )
    return sender


_TEXTS: dict[str, str] = {
    "az": "{operator}: {request} nömrəli sorğunuzun təsdiq kodu: {code}. Kod {minutes} dəqiqə "
    "etibarlıdır. Sorğu göndərməmisinizsə, bu mesajı nəzərə almayın.",
    "en": "{operator}: the code confirming your request {request} is {code}. It is valid for "
    "{minutes} minutes. If you made no request, ignore this message.",
    "ru": "{operator}: код подтверждения вашего запроса {request}: {code}. Код действует "
    "{minutes} минут. Если вы не отправляли запрос, проигнорируйте это сообщение.",
}


def _text(vault: Vault, row: SubjectRequest, code: str) -> str:
    policy = vault.policy(row.policy_id)
    lang: Lang = next((x for x in LANGS if x == row.language), policy.policy.language)
    operator = policy.operator.names(lang) if policy.operator.names else policy.operator.name
    return _TEXTS[lang].format(
        operator=operator,
        request=row.id,
        code=code,
        minutes=int(CODE_TTL.total_seconds() // 60),
    )


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class VerificationRead:
    """Where a request's verification stands: codes sent, wrong codes, the live code's expiry,
    how it was verified; never a code."""

    request_id: str
    state: RequestState
    method: str | None
    verified_at: datetime | None
    codes_sent: int
    failed_attempts: int
    attempts_left: int
    #: Expiry of the newest code, if one is unspent and alive at `as_of`.
    code_expires_at: datetime | None
    identity_checks: dict[str, str]
    as_of: datetime

    @property
    def verified(self) -> bool:
        return self.verified_at is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "state": self.state.value,
            "verified": self.verified,
            "method": self.method,
            "verified_at": self.verified_at.isoformat() if self.verified_at else None,
            "codes_sent": self.codes_sent,
            "failed_attempts": self.failed_attempts,
            "attempts_left": self.attempts_left,
            "code_expires_at": self.code_expires_at.isoformat() if self.code_expires_at else None,
            "identity_checks": self.identity_checks,
        }


def _newest_code(session: Session, row: SubjectRequest) -> VerificationCode | None:
    """The request's newest code, sent to its current subject (an amended request that
    matched another subject does not take the first one's codes)."""
    return session.scalar(
        select(VerificationCode)
        .where(
            VerificationCode.request_id == row.id,
            VerificationCode.subject_id == row.subject_id,
        )
        .order_by(VerificationCode.sent_at.desc(), VerificationCode.id.desc())
        .limit(1)
    )


def verification_status(vault: Vault, uow: UnitOfWork, request_id: str) -> VerificationRead:
    """Where request `request_id`'s verification stands now."""
    row = _row(uow, request_id)
    now = vault.clock.now()
    sent = uow.records.scalar(
        select(func.count())
        .select_from(VerificationCode)
        .where(VerificationCode.request_id == row.id)
    )
    newest = _newest_code(uow.records, row)
    live = (
        newest.expires_at
        if newest is not None and newest.used_at is None and now < newest.expires_at
        else None
    )
    request = _to_read(vault, row)
    # An amended request matched to another subject waits again: an earlier proof is void.
    waiting = request.state in (RequestState.VERIFYING, RequestState.LOCKED)
    return VerificationRead(
        request_id=row.id,
        state=request.state,
        method=None if waiting else row.verification,
        verified_at=None if waiting else row.verified_at,
        codes_sent=int(sent or 0),
        failed_attempts=row.failed_attempts or 0,
        attempts_left=max(0, MAX_ATTEMPTS - (row.failed_attempts or 0)),
        code_expires_at=live if request.state is RequestState.VERIFYING else None,
        identity_checks=request.identity_checks,
        as_of=now,
    )


# --------------------------------------------------------------------------- checks


def _open_for_verification(row: SubjectRequest, step: str) -> None:
    """Refuse `step` unless the request waits for verification."""
    state = RequestState(row.state)
    if state is RequestState.VERIFYING:
        return
    if state is RequestState.LOCKED:
        raise RequestStateConflict(
            f"request {row.id} is locked after {MAX_ATTEMPTS} wrong codes: no more codes "
            f"are sent or checked",
            hint=f"verify the subject another way: `mexfi requests verify {row.id} "
            f"--out-of-band in_person --reason …` (the DPO), or `mexfi requests reject "
            f"{row.id} --reason identity_not_confirmed`; the subject may make a new request",
        )
    if row.verified_at is not None:
        raise RequestStateConflict(
            f"request {row.id} is already verified ({row.verification}); it is {state.value}",
            hint=f"answer it: `mexfi requests answer {row.id}`",
        )
    raise RequestStateConflict(
        f"request {row.id} is {state.value}: cannot {step}",
        hint="only a request waiting for verification (verifying) is verified",
    )


def _check_role(vault: Vault, row: SubjectRequest, actor: Actor, step: str) -> None:
    policy = vault.policy(row.policy_id)
    roles = policy.purpose(policy.requests.purposes.subject_request).roles
    if actor.role not in roles:
        raise VerificationDenied(
            f"role {actor.role!r} may not {step} (policy {policy.id!r})",
            hint=f"roles that may: {', '.join(roles)}",
        )


def _kept(uow: UnitOfWork, write: Callable[[Session], Any]) -> Any:
    """Make `write` now, and again if the caller's unit of work rolls back (a refused attempt
    stays on record, as a denied read does)."""
    result = write(uow.records)
    uow.keep_on_rollback(write)
    return result


def _row_in(session: Session, request_id: str) -> SubjectRequest:
    query = select(SubjectRequest).where(SubjectRequest.id == request_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = session.scalar(query)
    assert row is not None  # the caller found it in this transaction or the rolled-back one
    return row


def _audit_step(
    vault: Vault, actor: Actor, request_id: str, code: str, at: datetime
) -> Callable[[Session], None]:
    """A write auditing one verification step of the request (a code, never a value)."""

    def write(session: Session) -> None:
        row = _row_in(session, request_id)
        vault.audit.append(
            session, _event(vault, row, actor, RequestState(row.state), codes=[code], at=at)
        )
        session.flush()

    return write


# --------------------------------------------------------------------------- sending


def _rate_limit(
    vault: Vault, uow: UnitOfWork, row: SubjectRequest, actor: Actor, *, bucket: int | None
) -> None:
    """Refuse a code past the hour's limit of the request's subject or, given its bucket, of
    its phone (`TooManyCodes`, audited)."""
    now = vault.clock.now()
    since = now - RATE_WINDOW
    what, column, value = (
        ("subject", VerificationCode.subject_id, row.subject_id)
        if bucket is None
        else ("phone", VerificationCode.phone_bucket, bucket)
    )
    sent = list(
        uow.records.scalars(
            select(VerificationCode.sent_at)
            .where(column == value, VerificationCode.sent_at > since)
            .order_by(VerificationCode.sent_at)
        )
    )
    if len(sent) >= CODES_PER_HOUR:
        retry_at = sent[len(sent) - CODES_PER_HOUR] + RATE_WINDOW
        _kept(uow, _audit_step(vault, actor, row.id, f"codes_rate_limited_{what}", now))
        raise TooManyCodes(
            f"the {what} of request {row.id} has had {len(sent)} codes in the last hour "
            f"(at most {CODES_PER_HOUR}); no code was sent",
            retry_at=retry_at,
            hint=f"send one after {retry_at.isoformat(timespec='seconds')}, or verify the "
            f"subject another way: `mexfi requests verify {row.id} --out-of-band "
            f"in_person --reason …`",
        )


def send_code(
    vault: Vault, uow: UnitOfWork, request_id: str, *, actor: Actor, sender: CodeSender
) -> VerificationRead:
    """Send a new one-time code for a `verifying` request to its subject's registered phone.

    The code replaces any earlier one. Refused: a request not waiting for verification
    (`RequestStateConflict`), no phone on record (`NoPhoneOnRecord`), the hour's codes spent
    (`TooManyCodes`), the sender failing (`CodeNotSent`, nothing stored but the audit entry).
    """
    row = _row(uow, request_id, lock=True)
    _open_for_verification(row, "send a code")
    _check_role(vault, row, actor, "send verification codes")
    assert row.subject_id is not None  # a verifying request matched its subject
    _rate_limit(vault, uow, row, actor, bucket=None)  # before the phone is even read
    contact = vault.verification_contact(uow, row.subject_id, actor=actor, request_id=row.id)
    if contact is None:
        raise NoPhoneOnRecord(
            f"the store holds no phone of the subject of request {row.id} (none registered, "
            "or destroyed): no code can be sent",
            hint=f"verify the subject another way: `mexfi requests verify {row.id} "
            "--out-of-band in_person --reason …`",
        )
    _rate_limit(vault, uow, row, actor, bucket=contact.phone_bucket)
    now = vault.clock.now()
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    code_id = new_id()
    expires = now + CODE_TTL
    try:
        with uow.savepoint():
            uow.records.add(
                VerificationCode(
                    id=code_id,
                    request_id=row.id,
                    subject_id=row.subject_id,
                    phone_bucket=contact.phone_bucket,
                    code_mac=vault.verification_code_mac(code_id, row.id, code),
                    sender=sender.name,
                    sent_at=now,
                    expires_at=expires,
                    sent_by=actor.id,
                    attempts=0,
                    used_at=None,
                )
            )
            vault.audit.append(
                uow.records,
                _event(
                    vault, row, actor, RequestState.VERIFYING,
                    codes=[f"code_sent_{sender.name}"], at=now,
                ),
            )  # fmt: skip
            uow.records.flush()
            message = CodeMessage(
                request_id=row.id,
                policy_id=row.policy_id,
                language=row.language,
                expires_at=expires,
                phone=contact.phone,
                code=code,
                text=_text(vault, row, code),
            )
            sender.send(message)
    except CodeNotSent:
        _kept(uow, _audit_step(vault, actor, row.id, f"code_not_sent_{sender.name}", now))
        raise
    except Exception as exc:
        _kept(uow, _audit_step(vault, actor, row.id, f"code_not_sent_{sender.name}", now))
        raise CodeNotSent(
            f"sender {sender.name!r} did not take the code for request {row.id} "
            f"({type(exc).__name__}); nothing was sent",
            hint="try again later, or verify the subject another way (--out-of-band)",
        ) from exc
    return verification_status(vault, uow, row.id)


# --------------------------------------------------------------------------- checking


def verify_code(
    vault: Vault, uow: UnitOfWork, request_id: str, code: str, *, actor: Actor
) -> RequestRead:
    """Check the code the requester read back: right, the request is verified and moves to
    `in_progress` (its reads open); else `VerificationFailed` (`code_wrong`, `code_expired`,
    `no_code`), the attempt on record even if the caller rolls back. The `MAX_ATTEMPTS`-th
    wrong code locks the request."""
    entered = re.sub(r"[\s-]", "", code)
    if not _CODE_RE.fullmatch(entered):
        # Not an attempt: a typo in the form, checked before anything is looked up.
        raise InvalidRequest(
            f"a verification code is {CODE_DIGITS} digits",
            hint="enter the code the subject received: --code 123456",
        )
    row = _row(uow, request_id, lock=True)
    _open_for_verification(row, "check a code")
    _check_role(vault, row, actor, "check verification codes")
    now = vault.clock.now()
    newest = _newest_code(uow.records, row)
    if newest is None:
        _kept(uow, _audit_step(vault, actor, row.id, "no_code", now))
        raise VerificationFailed(
            f"no code was sent for request {row.id}",
            reason="no_code",
            attempts_left=MAX_ATTEMPTS - row.failed_attempts,
            hint=f"send one: `mexfi requests send-code {row.id}`",
        )
    if now >= newest.expires_at:
        _kept(uow, _audit_step(vault, actor, row.id, "code_expired", now))
        raise VerificationFailed(
            f"the code of request {row.id} expired at "
            f"{newest.expires_at.isoformat(timespec='seconds')}",
            reason="code_expired",
            attempts_left=MAX_ATTEMPTS - row.failed_attempts,
            hint=f"send a new one: `mexfi requests send-code {row.id}`",
        )
    mac = vault.verification_code_mac(newest.id, row.id, entered)
    if hmac.compare_digest(mac, newest.code_mac):
        newest.attempts += 1
        newest.used_at = now
        vault.audit.append(
            uow.records,
            _event(vault, row, actor, RequestState.VERIFYING, codes=["code_accepted"], at=now),
        )
        return _to_read(vault, open_verified(vault, uow, row, actor, method="code"))
    code_id = newest.id

    def wrong(session: Session) -> int:
        request = _row_in(session, request_id)
        sent = session.get(VerificationCode, code_id)
        assert sent is not None
        sent.attempts += 1
        request.failed_attempts = (request.failed_attempts or 0) + 1
        request.updated_at = now
        failed = request.failed_attempts
        step = f"code_wrong_{failed}_of_{MAX_ATTEMPTS}"
        vault.audit.append(
            session, _event(vault, request, actor, RequestState.VERIFYING, codes=[step], at=now)
        )
        if failed >= MAX_ATTEMPTS and request.state == RequestState.VERIFYING.value:
            request.state = RequestState.LOCKED.value
            vault.audit.append(
                session,
                _event(
                    vault, request, actor, RequestState.LOCKED,
                    codes=["verification_locked"], at=now,
                ),
            )  # fmt: skip
        session.flush()
        return max(0, MAX_ATTEMPTS - failed)

    left = int(_kept(uow, wrong))
    if left == 0:
        raise VerificationFailed(
            f"wrong code for request {row.id}: {MAX_ATTEMPTS} wrong codes, the request is "
            "now locked",
            reason="code_wrong",
            attempts_left=0,
            hint=f"verify the subject another way: `mexfi requests verify {row.id} "
            f"--out-of-band in_person --reason …` (the DPO), or reject it",
        )
    raise VerificationFailed(
        f"wrong code for request {row.id}: {left} attempt{'s' if left > 1 else ''} left",
        reason="code_wrong",
        attempts_left=left,
        hint="check the code with the subject and enter it again",
    )


def verify_out_of_band(
    vault: Vault,
    uow: UnitOfWork,
    request_id: str,
    *,
    method: OutOfBand | str,
    reason: str,
    actor: Actor,
) -> RequestRead:
    """The DPO records having verified the author another way (`method`), with a reason (no
    personal data: it goes to the audit log); the request, `verifying` or `locked`, moves to
    `in_progress`. What a written request's details matched is on the request
    (`identity_checks`)."""
    try:
        how = OutOfBand(method)
    except ValueError:
        raise InvalidRequest(
            f"unknown out-of-band verification {str(method)[:40]!r}",
            hint=f"one of: {', '.join(m.value for m in OutOfBand)}",
        ) from None
    note = " ".join(reason.split())
    if not note:
        raise InvalidRequest(
            "an out-of-band verification states how the subject was identified",
            hint="e.g. --reason 'identity card checked at the Baku office, case 2026-114'",
        )
    refuse_personal_data(note, field="the verification reason")
    refuse_personal_data(actor.id, field="the actor id")
    row = _row(uow, request_id, lock=True)
    if RequestState(row.state) is not RequestState.LOCKED:
        _open_for_verification(row, "verify out of band")
    if actor.role != DPO_ROLE:
        raise VerificationDenied(
            f"only the DPO records an out-of-band verification, not role {actor.role!r}",
            hint=f"act as the DPO (--role {DPO_ROLE}), or verify with a code (send-code)",
        )
    assert row.subject_id is not None  # a verifying request matched its subject
    method_code = f"out_of_band_{how.value}"
    # The reason goes into the audit log with the step (screened above).
    return _to_read(vault, open_verified(vault, uow, row, actor, method=method_code, codes=[note]))
