"""App sessions and the geolocation switch (TX-12): location is collected only while the app
is in use, and never once the subject has switched it off.

A policy's `geolocation` names its location categories, the window they are collected in
and whether the subject may switch collection off. The window is checked against the time
each ping was taken (its `collected_at`, else now):

    app_in_use   inside an app session of the subject, opened and closed explicitly by
                 the app's backend (a role granted `open_app_session` / `close_app_session`)
    order        inside an order of the driver (`orders.py`)
    always       any time

and the switch against its state now, in the consent ledger (`mexfi.consent`, notice
`(geolocation, "collection")`: allowed unless the subject opted out, TX-2). The subject
turns it off or on from the app (its own session) or through the app's backend; each turn
is a ledger entry (method `switch`, source `app`). A ping refused stores nothing of its
write: the whole batch is refused, with a code (`no_app_session`, `no_active_order`,
`location_collection_off`), an audited denial naming the subject by pseudonym, and a
counted refusal (`mexfi.consent.count_refusal`: per policy, reason and day, never who or
where), both kept when the caller rolls back. No coordinate is ever in any of them.

A batch costs two queries whatever the number of its pings and subjects: the windows of
all its subjects, and their switches (the consent capability's current-state table, read as
`is_allowed` reads one holder's: allowed unless the explicit choice is an opt-out, TX-2).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from mexfi.audit import AuditAction, AuditOutcome
from mexfi.clock import utc
from mexfi.consent import (
    GEOLOCATION_NOTICE,
    Choice,
    ChoiceInput,
    ConsentStateRow,
    HolderKind,
    Method,
    NoticeKind,
    Source,
    count_refusal,
    is_allowed,
    record_choices,
)
from mexfi.db import UnitOfWork, new_id
from mexfi.policy import LANGS, Geolocation, Lang, NotDeclared, Policy, RoleAction, RoleKind
from mexfi.vault.actions import authorize_action
from mexfi.vault.bulk import one_of
from mexfi.vault.context import SubjectLike, VaultContext
from mexfi.vault.errors import (
    ActionDenied,
    InvalidValue,
    LocationCollectionOff,
    LocationRefused,
    NoActiveOrder,
    NoAppSession,
    RecordNotFound,
    UndeclaredData,
)
from mexfi.vault.models import AppSession, OrderLink, Subject
from mexfi.vault.schemas import Actor, RecordCreate

__all__ = [
    "AppSessionRead",
    "GeolocationSwitch",
    "LocationStatus",
    "check_location_window",
]

#: What the audit log says of a session opened or closed (`AuditAction.SESSION`).
OPENED, CLOSED = "app_session_open", "app_session_close"

_REFUSALS: dict[str, type[LocationRefused]] = {
    "app_in_use": NoAppSession,
    "order": NoActiveOrder,
}
_WORDS = {
    NoAppSession: "no app session of the subject was open when the location was taken",
    NoActiveOrder: "no order of the driver was open when the location was taken",
    LocationCollectionOff: "the subject has switched location collection off",
}
_HINTS = {
    NoAppSession: "open an app session first (POST /api/v1/app-sessions); pings are "
    "accepted for times inside it",
    NoActiveOrder: "location is collected only during an order of the driver",
    LocationCollectionOff: "nothing is collected until the subject switches it on again",
}


@dataclass(frozen=True)
class AppSessionRead:
    """A subject's app session: whose, since when, until when (None: open)."""

    id: str
    policy_id: str
    subject_id: str
    opened_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class LocationStatus:
    """Whether a subject's location is collected now: the switch, the window, the session."""

    subject_id: str
    #: The switch: on unless the subject turned it off (TX-12).
    collecting: bool
    #: The policy's window (`app_in_use`, `order`, `always`).
    window: str
    #: The app session open now, if any.
    session: AppSessionRead | None


def _read(row: AppSession) -> AppSessionRead:
    return AppSessionRead(
        id=row.id,
        policy_id=row.policy_id,
        subject_id=row.subject_id,
        opened_at=utc(row.opened_at),
        closed_at=utc(row.closed_at) if row.closed_at is not None else None,
    )


def _geolocation(policy: Policy, subject: SubjectLike) -> Geolocation:
    """The policy's geolocation, if it collects the location of this kind of subject."""
    geo = policy.geolocation
    if geo is None or not any(policy.category(c).subject == subject.kind for c in geo.categories):
        raise UndeclaredData(
            f"policy {policy.id!r} collects no location of subjects of kind {subject.kind!r}",
            hint="app sessions and the location switch belong to a policy's `geolocation` (TX-12)",
        )
    return geo


# ------------------------------------------------------------------ the write path


def _spans(
    uow: UnitOfWork, window: str, times: Mapping[str, Sequence[datetime]]
) -> dict[str, list[tuple[datetime, datetime | None]]]:
    """{subject: [(from, until or None)]} of the windows around these times: one query."""
    session = uow.records
    earliest = min(t for ts in times.values() for t in ts)
    latest = max(t for ts in times.values() for t in ts)
    if window == "app_in_use":
        query = select(AppSession.subject_id, AppSession.opened_at, AppSession.closed_at).where(
            one_of(session, AppSession.subject_id, list(times)),
            AppSession.opened_at <= latest,
            or_(AppSession.closed_at.is_(None), AppSession.closed_at > earliest),
        )
    else:
        query = select(OrderLink.driver_id, OrderLink.started_at, OrderLink.ended_at).where(
            one_of(session, OrderLink.driver_id, list(times)),
            OrderLink.started_at <= latest,
            or_(OrderLink.ended_at.is_(None), OrderLink.ended_at > earliest),
        )
    found: dict[str, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for subject_id, start, end in session.execute(query):
        found[subject_id].append((utc(start), utc(end) if end is not None else None))
    return found


def _switched_off(uow: UnitOfWork, policy: Policy, holders: Sequence[str]) -> set[str]:
    """The holders whose location switch is off: one query for a batch's subjects.

    `is_allowed` for many holders at once: with no explicit choice, location is collected
    (the contract's default for `(geolocation, "collection")`, TX-2); an explicit choice
    allows it only as an opt-in."""
    state = ConsentStateRow
    rows = uow.records.execute(
        select(state.holder, state.choice).where(
            state.policy_id == policy.id,
            one_of(uow.records, state.holder, holders),
            state.kind == NoticeKind.GEOLOCATION.value,
            state.notice == GEOLOCATION_NOTICE,
        )
    )
    return {holder for holder, choice in rows if choice != Choice.OPT_IN.value}


def _inside(at: datetime, spans: Sequence[tuple[datetime, datetime | None]]) -> bool:
    return any(start <= at and (end is None or at < end) for start, end in spans)


def check_location_window(
    ctx: VaultContext,
    uow: UnitOfWork,
    policy: Policy,
    subjects: Mapping[str, SubjectLike],
    items: Sequence[RecordCreate],
    *,
    purpose: str,
    actor: Actor,
) -> None:
    """Refuse the write if a location ping in it falls outside the policy's window or its
    subject has switched collection off (see the module docstring); nothing is written here.
    Writes of policies without `geolocation`, and of no location category, pass untouched."""
    geo = policy.geolocation
    if geo is None:
        return
    located = set(geo.categories)
    pings = [item for item in items if item.category in located]
    if not pings:
        return
    now = ctx.now()
    times: dict[str, list[datetime]] = defaultdict(list)
    for item in pings:
        times[item.subject_id].append(
            ctx.now(item.collected_at) if item.collected_at is not None else now
        )
    categories = {item.category for item in pings}
    # The subject's own choice first: it is what the app should show when both fail.
    off = _switched_off(uow, policy, [subjects[s].pseudonym for s in times])
    refused: dict[str, type[LocationRefused]] = {
        s: LocationCollectionOff for s in times if subjects[s].pseudonym in off
    }
    refusal = _REFUSALS.get(geo.window)
    if refusal is not None:
        spans = _spans(uow, geo.window, times)
        for subject_id, at in times.items():
            if subject_id not in refused and not all(_inside(t, spans[subject_id]) for t in at):
                refused[subject_id] = refusal
    if refused:
        _refuse(ctx, uow, policy, subjects, refused, sorted(categories), purpose, actor)


def _refuse(
    ctx: VaultContext,
    uow: UnitOfWork,
    policy: Policy,
    subjects: Mapping[str, SubjectLike],
    refused: Mapping[str, type[LocationRefused]],
    categories: Sequence[str],
    purpose: str,
    actor: Actor,
) -> None:
    """Audit and count each refusal (kept on rollback), then raise the first."""
    assert policy.geolocation is not None
    clauses = tuple(policy.geolocation.clauses)
    at = ctx.now()
    by_reason: dict[type[LocationRefused], list[str]] = defaultdict(list)
    for subject_id, kind in refused.items():
        by_reason[kind].append(subject_id)
    for kind, subject_ids in by_reason.items():
        reason = _code(kind)
        one = subjects[subject_ids[0]] if len(subject_ids) == 1 else None
        ctx.record_denial(
            uow,
            ctx.event(
                AuditAction.DENY,
                actor,
                subject=one,
                policy_id=policy.id,
                subjects=None if one else {subjects[s].pseudonym: 0 for s in subject_ids},
                purpose=purpose,
                categories=categories,
                clauses=clauses,
                outcome=AuditOutcome.DENIED,
                count=0,
                reason=reason,
                at=at,
            ),
        )
        for _ in subject_ids:
            _count(uow, policy.id, reason, at)
    subject_id, kind = next(iter(refused.items()))
    error = kind(
        f"location of subject {subject_id!r} refused: {_WORDS[kind]} (nothing was stored)",
        reason=_code(kind),
        clauses=clauses,
    )
    error.hint = _HINTS[kind]
    raise error


def _code(kind: type[LocationRefused]) -> str:
    return {
        NoAppSession: "no_app_session",
        NoActiveOrder: "no_active_order",
        LocationCollectionOff: "location_collection_off",
    }[kind]


def _count(uow: UnitOfWork, policy_id: str, reason: str, at: datetime) -> None:
    """One refusal on the counter now, and again if the caller rolls back."""

    def counted(session: Session) -> None:
        # A unit of work over the rollback's session: the counter writes through it only.
        count_refusal(
            UnitOfWork(lambda: session, lambda: session),
            policy_id=policy_id,
            kind=NoticeKind.GEOLOCATION,
            notice=GEOLOCATION_NOTICE,
            reason=reason,
            at=at,
        )

    counted(uow.records)
    uow.keep_on_rollback(counted)


# ------------------------------------------------------------------ sessions and switch


class GeolocationSwitch:
    """App sessions and the switch of the subjects of policies with `geolocation`."""

    def __init__(self, ctx: VaultContext) -> None:
        self.ctx = ctx

    def _subject(self, uow: UnitOfWork, subject_id: str) -> tuple[Subject, Policy]:
        subject = self.ctx.subject(uow.records, subject_id)
        return subject, self.ctx.policy(subject.policy_id)

    def _authorize(
        self,
        uow: UnitOfWork,
        policy: Policy,
        subject: Subject,
        actor: Actor,
        action: RoleAction,
        audit_action: AuditAction = AuditAction.SESSION,
    ) -> None:
        clauses = policy.geolocation.clauses if policy.geolocation is not None else ()
        authorize_action(
            self.ctx, uow, policy, [subject], actor, action, audit_action=audit_action,
            clauses=clauses,
        )  # fmt: skip

    def _audit(
        self,
        uow: UnitOfWork,
        actor: Actor,
        subject: Subject,
        policy: Policy,
        row: AppSession,
        step: str,
        at: datetime,
    ) -> None:
        ctx = self.ctx
        assert policy.geolocation is not None
        ctx.audit.append(
            uow.records,
            ctx.event(
                AuditAction.SESSION,
                actor,
                subject=subject,
                clauses=policy.geolocation.clauses,
                count=0,
                reason=step,
                reference=row.id,
                at=at,
            ),
        )

    def open_app_session(
        self, uow: UnitOfWork, *, subject_id: str, actor: Actor, at: datetime | None = None
    ) -> AppSessionRead:
        """Open the subject's app session (the app's backend only): from now on its location
        may be collected (TX-12). A session the subject left open is closed at this time."""
        ctx = self.ctx
        now = ctx.now(at)
        subject, policy = self._subject(uow, subject_id)
        self._authorize(uow, policy, subject, actor, RoleAction.OPEN_APP_SESSION)
        _geolocation(policy, subject)
        left_open = list(
            uow.records.scalars(
                select(AppSession).where(
                    AppSession.subject_id == subject.id, AppSession.closed_at.is_(None)
                )
            )
        )
        for row in left_open:
            # An app restarted without closing: its session ends where the new one starts.
            row.closed_at = max(now, utc(row.opened_at))
            self._audit(uow, actor, subject, policy, row, CLOSED, now)
        row = AppSession(
            id=new_id(), policy_id=policy.id, subject_id=subject.id, opened_at=now, closed_at=None
        )
        uow.records.add(row)
        uow.records.flush()
        self._audit(uow, actor, subject, policy, row, OPENED, now)
        return _read(row)

    def close_app_session(
        self, uow: UnitOfWork, session_id: str, *, actor: Actor, at: datetime | None = None
    ) -> AppSessionRead:
        """Close an app session (the app's backend only): pings taken after it are refused.
        Closing a closed session changes nothing."""
        ctx = self.ctx
        now = ctx.now(at)
        row = uow.records.get(AppSession, session_id)
        if row is None:
            raise RecordNotFound(f"no app session {session_id!r}")
        subject, policy = self._subject(uow, row.subject_id)
        self._authorize(uow, policy, subject, actor, RoleAction.CLOSE_APP_SESSION)
        _geolocation(policy, subject)
        if now < utc(row.opened_at):
            raise InvalidValue(f"app session {session_id!r} cannot close before it opened")
        result = uow.records.execute(
            update(AppSession)
            .where(AppSession.id == session_id, AppSession.closed_at.is_(None))
            .values(closed_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0):
            self._audit(uow, actor, subject, policy, row, CLOSED, now)
            uow.records.refresh(row)
        return _read(row)

    def app_session(self, uow: UnitOfWork, session_id: str) -> AppSessionRead:
        """An app session by id; `RecordNotFound` otherwise."""
        row = uow.records.get(AppSession, session_id)
        if row is None:
            raise RecordNotFound(f"no app session {session_id!r}")
        return _read(row)

    def app_sessions(
        self, uow: UnitOfWork, subject_id: str, *, open_only: bool = False
    ) -> list[AppSessionRead]:
        """A subject's app sessions, oldest first (only the open one with `open_only`)."""
        query = select(AppSession).where(AppSession.subject_id == subject_id)
        if open_only:
            query = query.where(AppSession.closed_at.is_(None))
        rows = uow.records.scalars(query.order_by(AppSession.opened_at, AppSession.id))
        return [_read(row) for row in rows]

    def location_status(self, uow: UnitOfWork, subject_id: str) -> LocationStatus:
        """Whether the subject's location is collected now: its switch, and its open session."""
        subject, policy = self._subject(uow, subject_id)
        geo = _geolocation(policy, subject)
        collecting = is_allowed(
            uow,
            policy=policy,
            holder=subject.pseudonym,
            kind=NoticeKind.GEOLOCATION,
            notice=GEOLOCATION_NOTICE,
        )
        open_now = self.app_sessions(uow, subject.id, open_only=True)
        return LocationStatus(
            subject_id=subject.id,
            collecting=collecting,
            window=geo.window,
            session=open_now[-1] if open_now else None,
        )

    def switch_location(
        self,
        uow: UnitOfWork,
        subject_id: str,
        *,
        on: bool,
        actor: Actor,
        language: str | None = None,
        at: datetime | None = None,
    ) -> LocationStatus:
        """Turn the subject's location collection off or on (TX-12): the subject itself (its
        own session) or the app's backend (a role granted `open_app_session`). Recorded in
        the consent ledger at once: the next ping is refused, or accepted again."""
        ctx = self.ctx
        now = ctx.now(at)
        subject, policy = self._subject(uow, subject_id)
        if not self._is_subject_itself(policy, subject, actor):
            self._authorize(
                uow,
                policy,
                subject,
                actor,
                RoleAction.OPEN_APP_SESSION,
                AuditAction.CONSENT if on else AuditAction.WITHDRAW,
            )
        geo = _geolocation(policy, subject)
        if not on and not geo.subject_can_switch_off:
            raise ActionDenied(
                f"policy {policy.id!r} offers no switch to stop location collection",
                reason="switch_not_offered",
                clauses=tuple(geo.clauses),
            )
        shown = _language(language, policy)
        record_choices(
            uow,
            policy=policy,
            holder=subject.pseudonym,
            holder_kind=HolderKind.SUBJECT,
            choices=[
                ChoiceInput(
                    NoticeKind.GEOLOCATION,
                    GEOLOCATION_NOTICE,
                    Choice.OPT_IN if on else Choice.OPT_OUT,
                )
            ],
            method=Method.SWITCH,
            source=Source.APP,
            language=shown,
            actor_id=actor.id,
            actor_role=actor.role,
            audit=ctx.audit,
            at=now,
        )
        return self.location_status(uow, subject.id)

    @staticmethod
    def _is_subject_itself(policy: Policy, subject: Subject, actor: Actor) -> bool:
        """The actor is the subject, signed in as its own role (a session of its app)."""
        if actor.subject_id != subject.id:
            return False
        try:
            role = policy.role(actor.role)
        except NotDeclared:
            return False
        return role.kind is RoleKind.SUBJECT and role.id == subject.kind


def _language(language: str | None, policy: Policy) -> Lang:
    if language is None:
        return policy.policy.language
    for lang in LANGS:
        if language == lang:
            return lang
    raise InvalidValue(f"language must be one of {', '.join(LANGS)}")
