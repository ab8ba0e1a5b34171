"""Actions on subjects besides purpose-bound reads and writes: status changes, destruction,
written consents, orders. Each is done only by the roles the policy grants it to (a
role's `actions`); a role not granted it, or not declared at all, is refused, and the
refusal is audited even when the caller rolls back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mexfi.audit import AuditAction, AuditOutcome
from mexfi.db import UnitOfWork
from mexfi.policy import NotDeclared, Policy, Role, RoleAction
from mexfi.vault.context import SubjectLike, VaultContext
from mexfi.vault.errors import ActionDenied
from mexfi.vault.schemas import Actor

__all__ = ["authorize_action", "check_action"]


def check_action(
    policy: Policy, actor: Actor, action: RoleAction, *, clauses: Iterable[str] = ()
) -> Role:
    """The actor's role if the policy grants it `action`; `ActionDenied` citing `clauses`
    (what the action implements) and naming the roles that may, otherwise."""
    allowed = policy.roles_for(action)
    cited = tuple(sorted(set(clauses)))
    hint = (
        f"roles granted {action.value!r} in {policy.id!r}: "
        f"{', '.join(r.id for r in allowed) or 'none'}"
    )
    try:
        role = policy.role(actor.role)
    except NotDeclared:
        raise ActionDenied(
            f"role {actor.role!r} is not declared in policy {policy.id!r}",
            reason="role_not_declared",
            clauses=cited,
            hint=hint,
        ) from None
    if action not in role.actions:
        raise ActionDenied(
            f"role {role.id!r} may not {action.value.replace('_', ' ')} in policy {policy.id!r}",
            reason="action_not_allowed",
            clauses=cited,
            hint=hint,
        )
    return role


def authorize_action(
    ctx: VaultContext,
    uow: UnitOfWork,
    policy: Policy,
    subjects: Sequence[SubjectLike],
    actor: Actor,
    action: RoleAction,
    *,
    audit_action: AuditAction,
    clauses: Iterable[str] = (),
) -> Role:
    """`check_action`, with a denial audited as `audit_action` refused on these subjects."""
    clauses = tuple(clauses)
    try:
        return check_action(policy, actor, action, clauses=clauses)
    except ActionDenied as exc:
        one = subjects[0] if len(subjects) == 1 else None
        ctx.record_denial(
            uow,
            ctx.event(
                audit_action,
                actor,
                subject=one,
                policy_id=policy.id,
                subjects=None if one else {s.pseudonym: 0 for s in subjects},
                clauses=exc.clauses,
                outcome=AuditOutcome.DENIED,
                count=0,
                reason=exc.reason,
            ),
        )
        raise
