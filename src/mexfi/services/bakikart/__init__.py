"""BakıKart (K Group LLC): riders, transport cards, e-wallet, taps, top-ups, QR tickets."""

from mexfi.services.bakikart.synthetic import POLICY_ID, SERVICE_ACTOR, generate_riders

__all__ = ["POLICY_ID", "SERVICE_ACTOR", "generate_riders"]
