"""Data subjects' sessions: a one-time code to the registered phone, then a short-lived token
that reaches the subject's own data only.

`start_session` takes the policy and the phone (from a POST body: never a path or a log),
finds the subject through the blind index and sends a code with the requests capability's
`CodeSender` (the code's keyed MAC is kept: `Vault.verification_code_mac`). A phone nobody
holds gets the same answer and no code, so a start tells nobody who is registered. Codes are
rate-limited as request codes are (`CODES_PER_HOUR` a subject an hour), live `CODE_TTL`, and
`MAX_ATTEMPTS` wrong ones lock the challenge. `verify_session` turns the right code into a
token (random, shown once, stored as a keyed hash, `SESSION_TTL`), acting as the policy's
role of the subject's kind (`Actor(session:<id>, role, subject_id=...)`): the vault's
purpose check then opens only the subject's own data, for the purposes the policy gives that
role. Every step is an audit entry (`AuditAction.SESSION`, codes and ids only); a refused
attempt stays on record though the caller's unit of work rolls back.
"""

from __future__ import annotations

import hmac
import re
import secrets as stdlib_secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from mexfi.apikeys.errors import RoleNotAllowed, SessionLocked, Unauthenticated
from mexfi.apikeys.models import SessionChallenge, SubjectSession
from mexfi.audit import AuditAction, AuditEvent, AuditOutcome
from mexfi.db import UnitOfWork, new_id
from mexfi.errors import Invalid, NotFound
from mexfi.policy import LANGS, Lang, RoleKind
from mexfi.requests import (
    CODE_TTL,
    CODES_PER_HOUR,
    MAX_ATTEMPTS,
    CodeMessage,
    CodeNotSent,
    CodeSender,
    TooManyCodes,
    VerificationFailed,
)
from mexfi.vault import Actor, SubjectRead, Vault, normalise_phone

__all__ = [
    "SESSION_TTL",
    "ChallengeRead",
    "SessionCreated",
    "SessionRead",
    "authenticate_session",
    "is_session_token",
    "revoke_session",
    "start_session",
    "verify_session",
]

SESSION_TTL = timedelta(minutes=15)
RATE_WINDOW = timedelta(hours=1)
TOKEN_PREFIX = "mexfisession_"
CODE_DIGITS = 6
_CODE_RE = re.compile(rf"\d{{{CODE_DIGITS}}}")
#: The MAC's second part: a session challenge, not a request (the MAC binds both ids).
_MAC_SCOPE = "session"

_TEXTS: dict[str, str] = {
    "az": "{operator}: giriş kodunuz {code}. Kod {minutes} dəqiqə etibarlıdır. Giriş "
    "etməmisinizsə, bu mesajı nəzərə almayın.",
    "en": "{operator}: your sign-in code is {code}. It is valid for {minutes} minutes. If you "
    "did not sign in, ignore this message.",
    "ru": "{operator}: ваш код входа {code}. Код действует {minutes} минут. Если вы не входили, "
    "проигнорируйте это сообщение.",
}


@dataclass(frozen=True)
class ChallengeRead:
    """A sign-in under way: its id (for `verify_session`) and when its code expires."""

    id: str
    expires_at: datetime


@dataclass(frozen=True)
class SessionRead:
    """A subject's session: whose, as which role, until when; never the token."""

    id: str
    policy_id: str
    subject_id: str
    role: str
    created_at: datetime
    expires_at: datetime

    @property
    def actor(self) -> Actor:
        """The session as the vault's `Actor`: the subject's role, bound to the subject."""
        return Actor(f"session:{self.id}", self.role, subject_id=self.subject_id)


@dataclass(frozen=True)
class SessionCreated:
    session: SessionRead
    token: str = field(repr=False)


def is_session_token(secret: str) -> bool:
    """Whether `secret` is shaped as a session token (not an API key)."""
    return secret.startswith(TOKEN_PREFIX)


def _subject_role(vault: Vault, subject: SubjectRead) -> str | None:
    """The policy's role a subject of this kind acts as (`rider`, `driver`), if any."""
    for role in vault.policy(subject.policy_id).roles:
        if role.id == subject.kind and role.kind in (RoleKind.SUBJECT, RoleKind.COUNTERPART):
            return role.id
    return None


def _event(
    step: str,
    at: datetime,
    *,
    policy_id: str,
    reference: str,
    pseudonym: str | None = None,
    actor: Actor | None = None,
    denied: bool = False,
) -> AuditEvent:
    return AuditEvent(
        action=AuditAction.SESSION,
        at=at,
        actor_id=actor.id if actor else "subject-sign-in",
        actor_role=actor.role if actor else "subject",
        outcome=AuditOutcome.DENIED if denied else AuditOutcome.OK,
        policy_id=policy_id,
        subject=pseudonym,
        count=0,
        reason=step,
        reference=reference,
    )


def _kept(uow: UnitOfWork, write: Callable[[Session], Any]) -> Any:
    """Write now, and again if the caller's unit of work rolls back (refusals stay on record)."""
    result = write(uow.records)
    uow.keep_on_rollback(write)
    return result


def _text(vault: Vault, policy_id: str, code: str) -> tuple[str, str]:
    policy = vault.policy(policy_id)
    lang: Lang = next((x for x in LANGS if x == policy.policy.language), "az")
    operator = policy.operator.names(lang) if policy.operator.names else policy.operator.name
    minutes = int(CODE_TTL.total_seconds() // 60)
    return lang, _TEXTS[lang].format(operator=operator, code=code, minutes=minutes)


def _limit(
    uow: UnitOfWork,
    now: datetime,
    which: ColumnElement[bool],
    *,
    policy_id: str,
    on_limit: Callable[[], Any] | None = None,
) -> None:
    """`TooManyCodes` once `CODES_PER_HOUR` challenges match `which` in the last hour; the
    same words whichever limit it is, so the answer tells nobody whether the phone is held."""
    sent = list(
        uow.records.scalars(
            select(SessionChallenge.sent_at)
            .where(
                which,
                SessionChallenge.policy_id == policy_id,
                SessionChallenge.sent_at > now - RATE_WINDOW,
            )
            .order_by(SessionChallenge.sent_at)
        )
    )
    if len(sent) < CODES_PER_HOUR:
        return
    if on_limit is not None:
        on_limit()
    retry_at = sent[len(sent) - CODES_PER_HOUR] + RATE_WINDOW
    raise TooManyCodes(
        f"too many sign-in codes were asked for this phone in the last hour (at most "
        f"{CODES_PER_HOUR}); no code was sent",
        retry_at=retry_at,
        hint=f"ask for one after {retry_at.isoformat(timespec='seconds')}",
    )


def start_session(
    vault: Vault, uow: UnitOfWork, *, policy_id: str, phone: str, sender: CodeSender
) -> ChallengeRead:
    """Send a sign-in code to the subject of `policy_id` registered with `phone`; the same
    answer, and no code, when nobody is."""
    vault.policy(policy_id)  # an unknown policy is named, not hidden
    now = vault.clock.now()
    subject = vault.find_by_phone(uow, policy_id, phone)
    role = _subject_role(vault, subject) if subject is not None else None
    phone_key = vault.value_pseudonym("PHONE", normalise_phone(phone), digest_chars=24)
    held = subject is not None and role is not None

    def limited(session: Session) -> None:
        # A known subject's refusal is on its record; a phone nobody holds leaves none.
        if subject is not None and held:
            vault.audit.append(
                session,
                _event(
                    "codes_rate_limited", now, policy_id=policy_id, reference=subject.id,
                    pseudonym=subject.pseudonym, denied=True,
                ),
            )  # fmt: skip
            session.flush()

    def refuse() -> None:
        _kept(uow, limited)

    # Per phone, whether anyone holds it or not: the same 429 for both, and a caller trying
    # phones cannot fill the table with challenges.
    _limit(uow, now, SessionChallenge.phone_key == phone_key, policy_id=policy_id, on_limit=refuse)
    challenge = SessionChallenge(
        id=new_id(),
        policy_id=policy_id,
        subject_id=subject.id if subject is not None and held else None,
        phone_key=phone_key,
        code_mac=None,
        sender=sender.name,
        sent_at=now,
        expires_at=now + CODE_TTL,
        attempts=0,
        used_at=None,
        locked_at=None,
    )
    if subject is None or not held:
        uow.records.add(challenge)
        uow.records.flush()
        return ChallengeRead(challenge.id, challenge.expires_at)
    # Per subject too: a subject whose phone changed keeps one budget.
    _limit(
        uow, now, SessionChallenge.subject_id == subject.id, policy_id=policy_id, on_limit=refuse
    )
    code = f"{stdlib_secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    challenge.code_mac = vault.verification_code_mac(challenge.id, _MAC_SCOPE, code)
    lang, text = _text(vault, policy_id, code)
    try:
        with uow.savepoint():
            uow.records.add(challenge)
            vault.audit.append(
                uow.records,
                _event(
                    f"code_sent_{sender.name}", now, policy_id=policy_id,
                    reference=challenge.id, pseudonym=subject.pseudonym,
                ),
            )  # fmt: skip
            uow.records.flush()
            sender.send(
                CodeMessage(
                    request_id=challenge.id,
                    policy_id=policy_id,
                    language=lang,
                    expires_at=challenge.expires_at,
                    phone=phone,
                    code=code,
                    text=text,
                )
            )
    except Exception as exc:
        raise CodeNotSent(
            f"sender {sender.name!r} did not take the sign-in code ({type(exc).__name__}); "
            "nothing was sent",
            hint="try again later",
        ) from exc
    return ChallengeRead(challenge.id, challenge.expires_at)


def verify_session(vault: Vault, uow: UnitOfWork, challenge_id: str, code: str) -> SessionCreated:
    """The session the right code of `challenge_id` opens; `VerificationFailed` for a wrong
    one (the `MAX_ATTEMPTS`-th locks the challenge), `SessionLocked` for a locked, used or
    expired challenge."""
    entered = re.sub(r"[\s-]", "", code)
    if not _CODE_RE.fullmatch(entered):
        raise Invalid(f"a sign-in code is {CODE_DIGITS} digits", hint="enter the code the SMS gave")
    challenge = uow.records.get(SessionChallenge, challenge_id)
    if challenge is None:
        raise NotFound(
            f"no sign-in challenge {challenge_id!r}",
            hint="start again: POST /api/v1/sessions/start",
        )
    now = vault.clock.now()
    if challenge.locked_at is not None or challenge.used_at is not None:
        raise SessionLocked(
            f"sign-in challenge {challenge.id} takes no more codes (used or locked)",
            hint="start again: POST /api/v1/sessions/start",
        )
    if now >= challenge.expires_at:
        raise SessionLocked(
            f"the code of sign-in challenge {challenge.id} expired at "
            f"{challenge.expires_at.isoformat(timespec='seconds')}",
            hint="start again: POST /api/v1/sessions/start",
        )
    subject = vault.subject(uow, challenge.subject_id) if challenge.subject_id else None
    pseudonym = subject.pseudonym if subject else None
    right = (
        subject is not None
        and challenge.code_mac is not None
        and hmac.compare_digest(
            vault.verification_code_mac(challenge.id, _MAC_SCOPE, entered), challenge.code_mac
        )
    )
    if not right or subject is None:

        def wrong(session: Session) -> int:
            row = session.get(SessionChallenge, challenge_id)
            assert row is not None
            row.attempts += 1
            step = f"code_wrong_{row.attempts}_of_{MAX_ATTEMPTS}"
            if row.attempts >= MAX_ATTEMPTS:
                row.locked_at = now
                step = "locked"
            vault.audit.append(
                session,
                _event(
                    step, now, policy_id=row.policy_id, reference=row.id, pseudonym=pseudonym,
                    denied=True,
                ),
            )  # fmt: skip
            session.flush()
            return max(0, MAX_ATTEMPTS - row.attempts)

        left = int(_kept(uow, wrong))
        raise VerificationFailed(
            f"wrong sign-in code for challenge {challenge_id}: "
            + (f"{left} attempt{'s' if left > 1 else ''} left" if left else "it is now locked"),
            reason="code_wrong",
            attempts_left=left,
            hint="check the code and enter it again" if left else "start again later",
        )
    role = _subject_role(vault, subject)
    assert role is not None  # a code went only to a subject with a role
    challenge.used_at = now
    token = TOKEN_PREFIX + stdlib_secrets.token_urlsafe(32)
    row = SubjectSession(
        id=new_id(),
        digest=vault.api_key_digest(token),
        policy_id=subject.policy_id,
        subject_id=subject.id,
        role=role,
        challenge_id=challenge.id,
        created_at=now,
        expires_at=now + SESSION_TTL,
        revoked_at=None,
    )
    uow.records.add(row)
    uow.records.flush()
    read = _read(row)
    vault.audit.append(
        uow.records,
        _event(
            "started", now, policy_id=row.policy_id, reference=row.id, pseudonym=pseudonym,
            actor=read.actor,
        ),
    )  # fmt: skip
    return SessionCreated(session=read, token=token)


def _read(row: SubjectSession) -> SessionRead:
    return SessionRead(
        id=row.id,
        policy_id=row.policy_id,
        subject_id=row.subject_id,
        role=row.role,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


def authenticate_session(vault: Vault, uow: UnitOfWork, secret: str | None) -> SessionRead:
    """The live session `secret` is; `Unauthenticated` if none, unknown, expired or revoked."""
    hint = "sign in: POST /api/v1/sessions/start, then /api/v1/sessions/verify"
    if not secret:
        raise Unauthenticated("no session token given", hint=hint)
    if not is_session_token(secret):
        raise RoleNotAllowed(
            "this route serves a data subject's own session, not an API key",
            hint="operator routes take API keys; a subject signs in with a one-time code",
        )
    row = uow.records.scalar(
        select(SubjectSession).where(SubjectSession.digest == vault.api_key_digest(secret))
    )
    if row is None or row.revoked_at is not None or vault.clock.now() >= row.expires_at:
        raise Unauthenticated("the session is unknown, expired or ended", hint=hint)
    return _read(row)


def revoke_session(vault: Vault, uow: UnitOfWork, session: SessionRead) -> None:
    """End a session now (the subject signs out); audited."""
    row = uow.records.get(SubjectSession, session.id)
    if row is None or row.revoked_at is not None:
        return
    now = vault.clock.now()
    row.revoked_at = now
    subject = vault.subject(uow, row.subject_id)
    vault.audit.append(
        uow.records,
        _event(
            "ended", now, policy_id=row.policy_id, reference=row.id,
            pseudonym=subject.pseudonym, actor=session.actor,
        ),
    )  # fmt: skip
    uow.records.flush()
