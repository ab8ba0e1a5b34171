"""Orders between a driver and a customer (TX-13): while one is open, the customer may see
where the driver is now; `Records.require_active_order` checks it on every such read.

Only the order backend (a role granted `open_order` / `close_order`: the policy's system
role) opens and closes orders; both are audited, and so is every refusal.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from mexfi.audit import AuditAction
from mexfi.db import UnitOfWork, new_id
from mexfi.policy import Policy, RoleAction
from mexfi.vault.actions import authorize_action
from mexfi.vault.context import VaultContext
from mexfi.vault.errors import InvalidValue, RecordNotFound
from mexfi.vault.models import OrderLink, Subject
from mexfi.vault.schemas import Actor

__all__ = ["Orders", "order_clauses"]


def order_clauses(policy: Policy) -> tuple[str, ...]:
    """The clauses by which an order lets its customer see the driver (TX-13)."""
    return tuple(sorted({c for p in policy.purposes if p.requires_active_order for c in p.clauses}))


class Orders:
    def __init__(self, ctx: VaultContext) -> None:
        self.ctx = ctx

    def _authorize(
        self,
        uow: UnitOfWork,
        policy: Policy,
        driver: Subject,
        actor: Actor,
        action: RoleAction,
        audit_action: AuditAction,
    ) -> None:
        authorize_action(
            self.ctx,
            uow,
            policy,
            [driver],
            actor,
            action,
            audit_action=audit_action,
            clauses=order_clauses(policy),
        )

    def _audit(
        self,
        uow: UnitOfWork,
        action: AuditAction,
        actor: Actor,
        policy: Policy,
        link: OrderLink,
        at: datetime,
    ) -> None:
        ctx = self.ctx
        pseudonyms = {ctx.pseudonym(link.driver_id), ctx.pseudonym(link.customer_id)}
        ctx.audit.append(
            uow.records,
            ctx.event(
                action,
                actor,
                policy_id=policy.id,
                # Both sides: the order shows in the driver's and the customer's access logs.
                subjects=dict.fromkeys(pseudonyms, 0),
                clauses=order_clauses(policy),
                count=0,
                reference=link.id,
                at=at,
            ),
        )

    def open_order(
        self,
        uow: UnitOfWork,
        *,
        driver_id: str,
        customer_id: str,
        actor: Actor,
        at: datetime | None = None,
    ) -> str:
        """Start an order (the order backend only); returns its id."""
        ctx = self.ctx
        now = ctx.now(at)
        driver = ctx.subject(uow.records, driver_id)
        policy = ctx.policy(driver.policy_id)
        self._authorize(uow, policy, driver, actor, RoleAction.OPEN_ORDER, AuditAction.ORDER_OPEN)
        customer = ctx.subject(uow.records, customer_id)
        if customer.policy_id != driver.policy_id or customer.id == driver.id:
            raise InvalidValue(
                "an order joins a driver and another subject of the same policy",
                hint=f"the driver is a subject of {policy.id!r}",
            )
        link = OrderLink(
            id=new_id(),
            policy_id=policy.id,
            driver_id=driver.id,
            customer_id=customer.id,
            started_at=now,
        )
        uow.records.add(link)
        uow.records.flush()
        self._audit(uow, AuditAction.ORDER_OPEN, actor, policy, link, now)
        return link.id

    def close_order(
        self, uow: UnitOfWork, order_id: str, *, actor: Actor, at: datetime | None = None
    ) -> None:
        """End an order (the order backend only): from now on the customer no longer sees the
        driver. Closing a closed order changes nothing."""
        ctx = self.ctx
        now = ctx.now(at)
        link = uow.records.get(OrderLink, order_id)
        if link is None:
            raise RecordNotFound(f"no order {order_id!r}")
        policy = ctx.policy(link.policy_id)
        driver = ctx.subject(uow.records, link.driver_id)
        self._authorize(uow, policy, driver, actor, RoleAction.CLOSE_ORDER, AuditAction.ORDER_CLOSE)
        result = uow.records.execute(
            update(OrderLink)
            .where(OrderLink.id == order_id, OrderLink.ended_at.is_(None))
            .values(ended_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0):
            self._audit(uow, AuditAction.ORDER_CLOSE, actor, policy, link, now)
