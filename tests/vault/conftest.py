from __future__ import annotations

import pytest

from mexfi.clock import FixedClock
from mexfi.db import Store
from mexfi.policy.loader import load_bundled_policies
from mexfi.policy.schema import Policy
from mexfi.secrets import Secrets
from mexfi.vault import Actor, Vault

RIDER_PHONE = "+994 50 123 45 67"
DRIVER = {
    "full_name": "Məmmədov Rəşad Əli oğlu",
    "date_of_birth": "1988-03-12",
    "phone": "+994 55 765 43 21",
    "photo": b"\x89PNG\r\n\x1a\nfake-photo-bytes-\xde\xad\xbe\xef",
    "licence_series": "AB",
    "licence_number": "123456",
    "licence_issued_on": "2015-06-01",
    "plate": "10-AB-123",
}

SERVICE = Actor("svc-bakikart", "service")
SYSTEM = Actor("svc-taxsee", "system")
SUPPORT = Actor("staff-17", "support")
DPO = Actor("dpo-1", "dpo")


@pytest.fixture(scope="session")
def policies() -> dict[str, Policy]:
    return load_bundled_policies()


@pytest.fixture
def vault(store: Store, policies: dict[str, Policy], secrets: Secrets, clock: FixedClock) -> Vault:
    return Vault(store, policies, secrets, clock=clock)
