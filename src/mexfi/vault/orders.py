"""Orders between a driver and a customer (TX-13): while one is open, the customer may see
the driver's location; `Records.require_active_order` checks it on every such read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from mexfi.db import UnitOfWork, new_id
from mexfi.vault.context import VaultContext
from mexfi.vault.errors import RecordNotFound
from mexfi.vault.models import OrderLink
from mexfi.vault.schemas import Actor

__all__ = ["Orders"]


class Orders:
    def __init__(self, ctx: VaultContext) -> None:
        self.ctx = ctx

    def open_order(
        self,
        uow: UnitOfWork,
        *,
        driver_id: str,
        customer_id: str,
        actor: Actor,
        at: datetime | None = None,
    ) -> str:
        """Start an order; returns its id."""
        ctx = self.ctx
        driver = ctx.subject(uow.records, driver_id)
        customer = ctx.subject(uow.records, customer_id)
        link = OrderLink(
            id=new_id(),
            policy_id=driver.policy_id,
            driver_id=driver.id,
            customer_id=customer.id,
            started_at=ctx.now(at),
        )
        uow.records.add(link)
        uow.records.flush()
        return link.id

    def close_order(self, uow: UnitOfWork, order_id: str, *, at: datetime | None = None) -> None:
        """End an order: from now on the customer no longer sees the driver."""
        result = uow.records.execute(
            update(OrderLink)
            .where(OrderLink.id == order_id, OrderLink.ended_at.is_(None))
            .values(ended_at=self.ctx.now(at))
        )
        if not getattr(result, "rowcount", 0) and uow.records.get(OrderLink, order_id) is None:
            raise RecordNotFound(f"no order {order_id!r}")
