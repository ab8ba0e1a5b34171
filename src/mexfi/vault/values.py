"""Values in: each field checked against its declared type and normalised.

Normalisation happens before sealing so equal values look equal after opening
(an E.164 phone, a lower-case e-mail domain, a `Decimal` amount). Card data is
refused here (TX-14, TX-15), and so is a value longer than its field's
`max_length` (or the type's default), before anything scans or seals it. Every
error names the field and what was expected, never the value.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers

from mexfi.policy import Category, DataField, FieldType
from mexfi.scan import CARD_SEPARATORS, find_card_numbers, find_security_codes, luhn_valid
from mexfi.vault.errors import CardDataRefused, InvalidValue, SubjectNotFound, UndeclaredData

__all__ = [
    "BYTES_MAX_LENGTH",
    "FREE_TEXT_MAX_LENGTH",
    "TEXT_MAX_LENGTH",
    "check_subject_ids",
    "field_types",
    "max_length",
    "normalise_phone",
    "normalise_record",
]

#: Default `max_length` of free text (text, address), in characters: a note, not a document.
FREE_TEXT_MAX_LENGTH = 4096
#: Default `max_length` of every other text type (names, numbers, codes), in characters.
TEXT_MAX_LENGTH = 256
#: Default `max_length` of bytes (a photograph), in bytes.
BYTES_MAX_LENGTH = 10 * 1024 * 1024
_FREE_TEXT = {FieldType.TEXT, FieldType.ADDRESS}

_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_DIGITS_RE = re.compile(r"^\d+$")
_IBAN_RE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
_BIC_RE = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")

#: Field types whose content is checked for card data. A transport card number is not a bank
#: card (BK-2.2) and a payout card number is declared by TX-16; both are validated by type.
_CARD_EXEMPT = {FieldType.TRANSPORT_CARD_NUMBER, FieldType.PAYMENT_CARD_NUMBER, FieldType.BYTES}


#: Every subject id is `mexfi.db.new_id()`: 32 lower-case hex digits.
_SUBJECT_ID_RE = re.compile(r"[0-9a-f]{32}")


def check_subject_ids(subject_ids: Iterable[object]) -> None:
    """`SubjectNotFound` for an id no subject can have, before it reaches a query (where a
    lone surrogate or a NUL would fail inside the database driver)."""
    for subject_id in subject_ids:
        if not (isinstance(subject_id, str) and _SUBJECT_ID_RE.fullmatch(subject_id)):
            raise SubjectNotFound(
                "no subject: the id given is not a subject id", hint="a subject id is 32 hex digits"
            )


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


_DIGIT = re.compile(r"\d")
_CVV_HINT = re.compile(r"(?i)cv[vc]|cid|code|kod|код|свв")


def _check_card_data(category: Category, field: DataField, text: str) -> None:
    # Cheap pre-checks first: this runs on every text value written (and a text shorter
    # than 13 characters cannot hold 13 digits).
    many_digits = len(text) >= 13 and len(_DIGIT.findall(text)) >= 13
    labelled = _CVV_HINT.search(text) is not None
    if not (many_digits or labelled):
        return
    hits = (find_card_numbers(text) if many_digits else []) + (
        find_security_codes(text) if labelled else []
    )
    if hits:
        hit = hits[0]
        what = "a payment card number" if hit.kind == "card_number" else "a card security code"
        raise CardDataRefused(
            f"{_where(category, field)} carries {what} (characters {hit.start}-{hit.end}); "
            "card data is never stored (TX-14, TX-15)",
            hint="bind bank cards through the acquirer and keep only its token, brand and "
            "last four digits; remove the number from free text",
        )


def _bad(category: Category, field: DataField, expected: str) -> InvalidValue:
    return InvalidValue(f"{_where(category, field)} expects {expected}")


def max_length(field: DataField) -> int:
    """The longest value `field` accepts: its `max_length`, else the default of its type."""
    if field.max_length is not None:
        return field.max_length
    if field.type is FieldType.BYTES:
        return BYTES_MAX_LENGTH
    return FREE_TEXT_MAX_LENGTH if field.type in _FREE_TEXT else TEXT_MAX_LENGTH


def _check_length(category: Category, field: DataField, size: int, unit: str) -> None:
    limit = max_length(field)
    if size > limit:
        raise InvalidValue(
            f"{_where(category, field)} is {size} {unit} long; at most {limit} are accepted",
            hint="shorten the value, or declare a larger `max_length` for the field in the policy",
        )


def _n_bytes(category: Category, field: DataField, value: Any) -> Any:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise _bad(category, field, "bytes")
    _check_length(category, field, memoryview(value).nbytes, "bytes")
    return bytes(value)


def _n_boolean(category: Category, field: DataField, value: Any) -> Any:
    if not isinstance(value, bool):
        raise _bad(category, field, "true or false")
    return value


def _n_integer(category: Category, field: DataField, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(category, field, "a whole number")
    return value


def _n_number(category: Category, field: DataField, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise _bad(category, field, "a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise _bad(category, field, "a number") from None
    if not number.is_finite():
        raise _bad(category, field, "a finite number")
    return number.quantize(Decimal("0.01")) if field.type is FieldType.MONEY else number


def _n_date(category: Category, field: DataField, value: Any) -> Any:
    if isinstance(value, datetime):
        raise _bad(category, field, "a date without time")
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise _bad(category, field, "a date (YYYY-MM-DD)") from None
    if not isinstance(value, date):
        raise _bad(category, field, "a date")
    return value


def _n_datetime(category: Category, field: DataField, value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise _bad(category, field, "an ISO 8601 date-time") from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise _bad(category, field, "a timezone-aware date-time")
    return value


def _n_geo_point(category: Category, field: DataField, value: Any) -> Any:
    if isinstance(value, Mapping):
        value = (value.get("lat"), value.get("lon"))
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise _bad(category, field, "a point (lat, lon)")
    try:
        lat, lon = float(value[0]), float(value[1])
    except (TypeError, ValueError):
        raise _bad(category, field, "a point of two numbers (lat, lon)") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise _bad(category, field, "a latitude in [-90, 90] and a longitude in [-180, 180]")
    return (lat, lon)


def _n_text(category: Category, field: DataField, value: Any) -> Any:
    """Every text type: stripped, checked for card data, then validated by its kind."""
    kind = field.type
    if not isinstance(value, str):
        raise _bad(category, field, "text")
    # Before the card check and the scanner, whose cost grows with the text.
    _check_length(category, field, len(value), "characters")
    text = value.strip()
    if field.required and not text:
        raise _bad(category, field, "a non-empty text")
    if kind not in _CARD_EXEMPT:
        _check_card_data(category, field, text)
    validate = _TEXT_KINDS.get(kind)
    return text if validate is None else validate(category, field, text)


def _t_phone(category: Category, field: DataField, text: str) -> str:
    try:
        return normalise_phone(text)
    except InvalidValue as exc:
        raise InvalidValue(f"{_where(category, field)}: {exc.message}", hint=exc.hint) from None


def _t_email(category: Category, field: DataField, text: str) -> str:
    if not _EMAIL_RE.match(text):
        raise _bad(category, field, "an e-mail address")
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


def _t_ip(category: Category, field: DataField, text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise _bad(category, field, "an IPv4 or IPv6 address") from None


def _t_enum(category: Category, field: DataField, text: str) -> str:
    if text not in (field.values or []):
        raise _bad(category, field, f"one of {', '.join(field.values or [])}")
    return text


def _t_last4(category: Category, field: DataField, text: str) -> str:
    if not re.fullmatch(r"\d{4}", text):
        raise _bad(category, field, "the last four digits of a card")
    return text


_SEPARATORS = re.compile(CARD_SEPARATORS)


def _t_payment_card(category: Category, field: DataField, text: str) -> str:
    digits = _SEPARATORS.sub("", text)
    if not (_DIGITS_RE.match(digits) and 13 <= len(digits) <= 19 and luhn_valid(digits)):
        raise _bad(category, field, "a valid payment card number")
    return digits


def _t_transport_card(category: Category, field: DataField, text: str) -> str:
    digits = _SEPARATORS.sub("", text)
    if not (_DIGITS_RE.match(digits) and 8 <= len(digits) <= 20):
        raise _bad(category, field, "a transport card number of 8 to 20 digits")
    return digits


def _t_iban(category: Category, field: DataField, text: str) -> str:
    compact = text.replace(" ", "").upper()
    if (
        not _IBAN_RE.match(compact)
        or int("".join(str(int(c, 36)) for c in compact[4:] + compact[:4])) % 97 != 1
    ):
        raise _bad(category, field, "a valid IBAN")
    return compact


def _t_bic(category: Category, field: DataField, text: str) -> str:
    compact = text.replace(" ", "").upper()
    if not (_BIC_RE.match(compact) or re.fullmatch(r"\d{6,9}", compact)):
        raise _bad(
            category, field, "a bank identification code (BIC/SWIFT or a national bank code)"
        )
    return compact


def _t_country(category: Category, field: DataField, text: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{2}", text):
        raise _bad(category, field, "a two-letter country code")
    return text.upper()


def _t_language(category: Category, field: DataField, text: str) -> str:
    if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z]{2,4})?", text):
        raise _bad(category, field, "a language code such as az, ru or en")
    return text


def _t_card_token(category: Category, field: DataField, text: str) -> str:
    if find_card_numbers(text):
        raise CardDataRefused(
            f"{_where(category, field)} looks like a card number, not an acquirer token "
            "(TX-14, TX-15)"
        )
    return text


_TEXT_KINDS: dict[FieldType, Callable[[Category, DataField, str], str]] = {
    FieldType.PHONE: _t_phone,
    FieldType.EMAIL: _t_email,
    FieldType.IP_ADDRESS: _t_ip,
    FieldType.ENUM: _t_enum,
    FieldType.CARD_LAST4: _t_last4,
    FieldType.PAYMENT_CARD_NUMBER: _t_payment_card,
    FieldType.TRANSPORT_CARD_NUMBER: _t_transport_card,
    FieldType.IBAN: _t_iban,
    FieldType.BIC: _t_bic,
    FieldType.COUNTRY: _t_country,
    FieldType.LANGUAGE: _t_language,
    FieldType.CARD_TOKEN: _t_card_token,
}

#: The normaliser of each field type; types not listed are text (`_n_text`).
_NORMALISERS: dict[FieldType, Callable[[Category, DataField, Any], Any]] = {
    FieldType.BYTES: _n_bytes,
    FieldType.BOOLEAN: _n_boolean,
    FieldType.INTEGER: _n_integer,
    FieldType.DECIMAL: _n_number,
    FieldType.MONEY: _n_number,
    FieldType.DATE: _n_date,
    FieldType.DATETIME: _n_datetime,
    FieldType.GEO_POINT: _n_geo_point,
}


def _normalise(category: Category, field: DataField, value: Any) -> Any:
    return _NORMALISERS.get(field.type, _n_text)(category, field, value)


_FIELDS: dict[int, tuple[Category, dict[str, DataField], dict[str, FieldType]]] = {}


def _fields(category: Category) -> tuple[Category, dict[str, DataField], dict[str, FieldType]]:
    # Policies are frozen: each category's lookup tables are built once (keyed by identity,
    # holding the category so the id cannot be reused while cached).
    cached = _FIELDS.get(id(category))
    if cached is None or cached[0] is not category:
        by_name = {f.name: f for f in category.fields}
        cached = (category, by_name, {name: f.type for name, f in by_name.items()})
        _FIELDS[id(category)] = cached
    return cached


def field_types(category: Category) -> dict[str, FieldType]:
    """{field name: type} of a category."""
    return _fields(category)[2]


def normalise_record(
    category: Category, values: Mapping[str, Any], *, policy_id: str
) -> dict[str, Any]:
    """Check `values` against the category's declared fields and normalise each one."""
    if not isinstance(values, Mapping):
        raise InvalidValue(f"the values of category {category.id!r} must be a mapping of fields")
    out: dict[str, Any] = {}
    by_name = _fields(category)[1]
    for name, value in values.items():
        field = by_name.get(name)
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
