"""Values in and out: normalise each declared field type, encode it to bytes, pack ciphertexts.

Normalisation happens before encryption so equal values look equal after
decryption (an E.164 phone, a lower-case e-mail domain, a `Decimal` amount).
Every error names the field and what was expected, never the value.
"""

from __future__ import annotations

import ipaddress
import json
import re
import struct
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers

from mexfi.policy.schema import Category, DataField, FieldType
from mexfi.scan.cards import find_card_numbers, find_security_codes, luhn_valid
from mexfi.vault.errors import CardDataRefused, InvalidValue, UndeclaredData

__all__ = [
    "decode_value",
    "encode_value",
    "normalise_phone",
    "normalise_record",
    "pack_fields",
    "unpack_fields",
]

_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_DIGITS_RE = re.compile(r"^\d+$")
_IBAN_RE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
_BIC_RE = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")

#: Field types whose content is checked for card data. A transport card number is not a bank
#: card (BK-2.2) and a payout card number is declared by TX-16; both are validated by type.
_CARD_EXEMPT = {FieldType.TRANSPORT_CARD_NUMBER, FieldType.PAYMENT_CARD_NUMBER, FieldType.BYTES}


def normalise_phone(value: str, *, region: str = "AZ") -> str:
    """E.164 form of a phone number; `InvalidValue` if it is not a valid number."""
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise InvalidValue(
            "the phone number is not a valid number",
            hint="give it in international form (+994 50 123 45 67) or as an Azerbaijani "
            "number (050 123 45 67)",
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _where(category: Category, field: DataField) -> str:
    return f"field {field.name!r} of category {category.id!r}"


def _check_card_data(category: Category, field: DataField, text: str) -> None:
    hits = find_card_numbers(text) + find_security_codes(text)
    if hits:
        hit = hits[0]
        what = "a payment card number" if hit.kind == "card_number" else "a card security code"
        raise CardDataRefused(
            f"{_where(category, field)} carries {what} (characters {hit.start}-{hit.end}); "
            "card data is never stored (TX-14, TX-15)",
            hint="bind bank cards through the acquirer and keep only its token, brand and "
            "last four digits; remove the number from free text",
        )


def _normalise(category: Category, field: DataField, value: Any) -> Any:
    kind = field.type
    where = _where(category, field)

    def bad(expected: str) -> InvalidValue:
        return InvalidValue(f"{where} expects {expected}")

    if kind is FieldType.BYTES:
        if not isinstance(value, bytes | bytearray | memoryview):
            raise bad("bytes")
        return bytes(value)
    if kind is FieldType.BOOLEAN:
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind is FieldType.INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("a whole number")
        return value
    if kind in (FieldType.DECIMAL, FieldType.MONEY):
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            raise bad("a number")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise bad("a number") from None
        if not number.is_finite():
            raise bad("a finite number")
        return number.quantize(Decimal("0.01")) if kind is FieldType.MONEY else number
    if kind is FieldType.DATE:
        if isinstance(value, datetime):
            raise bad("a date without time")
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise bad("a date (YYYY-MM-DD)") from None
        if not isinstance(value, date):
            raise bad("a date")
        return value
    if kind is FieldType.DATETIME:
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                raise bad("an ISO 8601 date-time") from None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise bad("a timezone-aware date-time")
        return value
    if kind is FieldType.GEO_POINT:
        if isinstance(value, Mapping):
            value = (value.get("lat"), value.get("lon"))
        if not isinstance(value, tuple | list) or len(value) != 2:
            raise bad("a point (lat, lon)")
        try:
            lat, lon = float(value[0]), float(value[1])
        except (TypeError, ValueError):
            raise bad("a point of two numbers (lat, lon)") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise bad("a latitude in [-90, 90] and a longitude in [-180, 180]")
        return (lat, lon)

    # Everything else is text.
    if not isinstance(value, str):
        raise bad("text")
    text = value.strip()
    if field.required and not text:
        raise bad("a non-empty text")
    if kind not in _CARD_EXEMPT:
        _check_card_data(category, field, text)
    if kind is FieldType.PHONE:
        try:
            return normalise_phone(text)
        except InvalidValue as exc:
            raise InvalidValue(f"{where}: {exc.message}", hint=exc.hint) from None
    if kind is FieldType.EMAIL:
        if not _EMAIL_RE.match(text):
            raise bad("an e-mail address")
        local, _, domain = text.rpartition("@")
        return f"{local}@{domain.lower()}"
    if kind is FieldType.IP_ADDRESS:
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            raise bad("an IPv4 or IPv6 address") from None
    if kind is FieldType.ENUM:
        if text not in (field.values or []):
            raise bad(f"one of {', '.join(field.values or [])}")
        return text
    if kind is FieldType.CARD_LAST4:
        if not re.fullmatch(r"\d{4}", text):
            raise bad("the last four digits of a card")
        return text
    if kind is FieldType.PAYMENT_CARD_NUMBER:
        digits = re.sub(r"[ \-]", "", text)
        if not (_DIGITS_RE.match(digits) and 13 <= len(digits) <= 19 and luhn_valid(digits)):
            raise bad("a valid payment card number")
        return digits
    if kind is FieldType.TRANSPORT_CARD_NUMBER:
        digits = re.sub(r"[ \-]", "", text)
        if not (_DIGITS_RE.match(digits) and 8 <= len(digits) <= 20):
            raise bad("a transport card number of 8 to 20 digits")
        return digits
    if kind is FieldType.IBAN:
        compact = text.replace(" ", "").upper()
        if (
            not _IBAN_RE.match(compact)
            or int("".join(str(int(c, 36)) for c in compact[4:] + compact[:4])) % 97 != 1
        ):
            raise bad("a valid IBAN")
        return compact
    if kind is FieldType.BIC:
        compact = text.replace(" ", "").upper()
        if not (_BIC_RE.match(compact) or re.fullmatch(r"\d{6,9}", compact)):
            raise bad("a bank identification code (BIC/SWIFT or a national bank code)")
        return compact
    if kind is FieldType.COUNTRY:
        if not re.fullmatch(r"[A-Za-z]{2}", text):
            raise bad("a two-letter country code")
        return text.upper()
    if kind is FieldType.LANGUAGE:
        if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z]{2,4})?", text):
            raise bad("a language code such as az, ru or en")
        return text
    if kind is FieldType.CARD_TOKEN and find_card_numbers(text):
        raise CardDataRefused(
            f"{where} looks like a card number, not an acquirer token (TX-14, TX-15)"
        )
    return text


def normalise_record(
    category: Category, values: Mapping[str, Any], *, policy_id: str
) -> dict[str, Any]:
    """Check `values` against the category's declared fields and normalise each one."""
    if not isinstance(values, Mapping):
        raise InvalidValue(f"the values of category {category.id!r} must be a mapping of fields")
    out: dict[str, Any] = {}
    for name, value in values.items():
        field = category.field(name)
        if field is None:
            declared = ", ".join(f.name for f in category.fields)
            raise UndeclaredData(
                f"field {name!r} is not declared in category {category.id!r} of policy "
                f"{policy_id!r}",
                hint=f"declared fields: {declared}",
            )
        if value is None:
            if field.required:
                raise InvalidValue(f"{_where(category, field)} is required")
            continue
        out[name] = _normalise(category, field, value)
    missing = [f.name for f in category.fields if f.required and f.name not in out]
    if missing:
        raise InvalidValue(
            f"category {category.id!r} of policy {policy_id!r} requires field(s) "
            f"{', '.join(missing)}"
        )
    return out


def encode_value(kind: FieldType, value: Any) -> bytes:
    if kind is FieldType.BYTES:
        return bytes(value)
    if isinstance(value, Decimal | date | datetime):
        value = str(value) if isinstance(value, Decimal) else value.isoformat()
    elif isinstance(value, tuple):
        value = list(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def decode_value(kind: FieldType, raw: bytes) -> Any:
    if kind is FieldType.BYTES:
        return raw
    value = json.loads(raw)
    if kind in (FieldType.DECIMAL, FieldType.MONEY):
        return Decimal(value)
    if kind is FieldType.DATE:
        return date.fromisoformat(value)
    if kind is FieldType.DATETIME:
        return datetime.fromisoformat(value)
    if kind is FieldType.GEO_POINT:
        return (float(value[0]), float(value[1]))
    return value


_HEADER = struct.Struct(">HI")


def pack_fields(ciphertexts: Mapping[str, bytes]) -> bytes:
    """[u16 name length][u32 ciphertext length][name][ciphertext] for each field."""
    parts = []
    for name, blob in ciphertexts.items():
        raw_name = name.encode()
        parts.append(_HEADER.pack(len(raw_name), len(blob)))
        parts.append(raw_name)
        parts.append(blob)
    return b"".join(parts)


def unpack_fields(payload: bytes) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    offset = 0
    view = memoryview(payload)
    while offset < len(payload):
        name_len, blob_len = _HEADER.unpack_from(view, offset)
        offset += _HEADER.size
        name = bytes(view[offset : offset + name_len]).decode()
        offset += name_len
        out[name] = bytes(view[offset : offset + blob_len])
        offset += blob_len
    return out
