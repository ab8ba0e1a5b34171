"""Values and actors shared by the vault's tests and those built on it."""

from __future__ import annotations

from mexfi.vault import Actor

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
