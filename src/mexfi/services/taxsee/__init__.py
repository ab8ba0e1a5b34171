"""Taxsee Driver: drivers, their vehicles, location, orders, payouts and bank cards."""

from mexfi.services.taxsee.synthetic import POLICY_ID, SYSTEM_ACTOR, generate_drivers

__all__ = ["POLICY_ID", "SYSTEM_ACTOR", "generate_drivers"]
