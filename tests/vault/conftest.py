"""Values and actors shared by the vault's tests and those built on it."""

from __future__ import annotations

from collections.abc import Collection

from mexfi.db import UnitOfWork, new_id
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


def open_request(
    vault: Vault,
    uow: UnitOfWork,
    subject_id: str,
    *,
    purpose: str = "subject_request",
    categories: Collection[str] = (),
    include_passive: bool = True,
) -> str:
    """The id of a verified, open request of the subject, recorded as the request workflow
    records one: what a read for a request purpose cites (`request_id`)."""
    request_id = new_id()
    vault.open_request(
        uow, request_id, subject_id, purpose=purpose, categories=categories,
        include_passive=include_passive, actor=DPO,
    )  # fmt: skip
    return request_id
