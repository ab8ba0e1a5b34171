"""Record formats: how a record's fields become one sealed payload, and back.

**Format 2** (written since vault v2): the record's fields, names included, as one
UTF-8 JSON object, sealed in one AES-256-GCM ciphertext whose associated data binds
format, policy, subject, record id, category and tier (`crypto.record_aad`). Values
are stored in their JSON form, the one an access export prints:

    text kinds           "…"                   decimal, money  "12.50"
    date                 "2026-03-02"          datetime        "2026-03-02T09:00:00+00:00"
    integer              42                    boolean         true
    geo point            [40.4093, 49.8671]    bytes           {"base64": "…"}

so an export splices the decrypted plaintext into its output unparsed, and one AEAD
call opens a whole record.

**Format 1** (vault v1): one ciphertext per field, each bound to its field name
(`crypto.field_aad`), packed as `[u16 name length][u32 ciphertext length][name]
[ciphertext]`, values as UTF-8 text (bytes raw, booleans `1`/`0`, points `lat,lon`).
Still read; `Vault.reseal` converts such records to format 2 under the same key.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

from mexfi.policy import FieldType
from mexfi.vault import crypto
from mexfi.vault.crypto import AESGCM

__all__ = [
    "FORMAT",
    "FORMAT_V1",
    "RecordPlace",
    "open_record",
    "python_values",
    "seal_record",
    "seal_record_v1",
    "values_json",
]

FORMAT_V1 = 1
#: The format every record is written in.
FORMAT = 2

RecordPlace = tuple[str, str, str, str, str]
"""Where a record belongs: (policy id, subject id, record id, category, tier)."""


# --------------------------------------------------------------------------- format 2


def _bytes_json(value: Any) -> Any:
    return {"base64": base64.b64encode(bytes(value)).decode("ascii")}


#: Normalised Python value -> JSON form, by field type; types not listed are text.
_TO_JSON: dict[FieldType, Callable[[Any], Any]] = {
    FieldType.BYTES: _bytes_json,
    FieldType.BOOLEAN: bool,
    FieldType.INTEGER: int,
    FieldType.DECIMAL: str,
    FieldType.MONEY: str,
    FieldType.DATE: date.isoformat,
    FieldType.DATETIME: datetime.isoformat,
    FieldType.GEO_POINT: lambda point: [float(point[0]), float(point[1])],
}


def _bytes_python(value: Any) -> bytes:
    return base64.b64decode(value["base64"])


#: JSON form -> Python value, by field type; types not listed are text.
_TO_PYTHON: dict[FieldType, Callable[[Any], Any]] = {
    FieldType.BYTES: _bytes_python,
    FieldType.DECIMAL: Decimal,
    FieldType.MONEY: Decimal,
    FieldType.DATE: date.fromisoformat,
    FieldType.DATETIME: datetime.fromisoformat,
    FieldType.GEO_POINT: tuple,
}


def values_json(types: Mapping[str, FieldType], values: Mapping[str, Any]) -> bytes:
    """The format-2 plaintext of normalised `values`."""
    document = {}
    for name, value in values.items():
        convert = _TO_JSON.get(types[name])
        document[name] = value if convert is None else convert(value)
    return orjson.dumps(document)


def python_values(types: Mapping[str, FieldType], plaintext: bytes) -> dict[str, Any]:
    """The Python values of a format-2 plaintext (dates, decimals, bytes, points restored)."""
    document: dict[str, Any] = orjson.loads(plaintext)
    for name, value in document.items():
        convert = _TO_PYTHON.get(types.get(name, FieldType.STRING))
        if convert is not None:
            document[name] = convert(value)
    return document


def seal_record(aead: AESGCM, plaintext: bytes, place: RecordPlace) -> bytes:
    """Seal a format-2 plaintext for its place (policy, subject, record, category, tier)."""
    return crypto.seal(aead, plaintext, crypto.record_aad(*place))


def open_record(
    aead: AESGCM,
    payload: bytes,
    record_format: int,
    place: RecordPlace,
    types: Mapping[str, FieldType],
) -> bytes:
    """The format-2 plaintext of a stored record of either format; `DecryptionFailed` if the
    payload was moved, altered or its key destroyed."""
    if record_format == FORMAT:
        try:
            return crypto.open_sealed(aead, payload, crypto.record_aad(*place))
        except crypto.DecryptionFailed:
            raise _failed(place) from None
    if record_format == FORMAT_V1:
        return _open_v1(aead, payload, place, types)
    raise crypto.DecryptionFailed(
        f"record {place[2]} has format {record_format}, which this version does not know",
        hint="upgrade mexfi",
    )


def _failed(place: RecordPlace) -> crypto.DecryptionFailed:
    return crypto.DecryptionFailed(
        f"record {place[2]} does not decrypt: it was moved from its row, altered, or its key "
        "was destroyed"
    )


# --------------------------------------------------------------------------- format 1

_V1_HEADER = struct.Struct(">HI")

#: Format-1 text of a value -> Python value, by field type; types not listed are text.
_V1_DECODERS: dict[FieldType, Callable[[str], Any]] = {
    FieldType.DECIMAL: Decimal,
    FieldType.MONEY: Decimal,
    FieldType.INTEGER: int,
    FieldType.BOOLEAN: lambda text: text == "1",
    FieldType.DATE: date.fromisoformat,
    FieldType.DATETIME: datetime.fromisoformat,
    FieldType.GEO_POINT: lambda text: tuple(float(part) for part in text.split(",", 1)),
}


def _v1_encode(kind: FieldType, value: Any) -> bytes:
    if kind is FieldType.BYTES:
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    if kind is FieldType.BOOLEAN:
        return b"1" if value else b"0"
    if kind is FieldType.GEO_POINT:
        return f"{value[0]!r},{value[1]!r}".encode()
    if isinstance(value, date | datetime):
        return value.isoformat().encode()
    return str(value).encode()


def _v1_decode(kind: FieldType, raw: bytes) -> Any:
    if kind is FieldType.BYTES:
        return raw
    decoder = _V1_DECODERS.get(kind)
    return raw.decode() if decoder is None else decoder(raw.decode())


def _v1_fields(payload: bytes) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    offset, end = 0, len(payload)
    while offset < end:
        name_len, blob_len = _V1_HEADER.unpack_from(payload, offset)
        offset += _V1_HEADER.size
        name = payload[offset : offset + name_len].decode()
        offset += name_len
        out[name] = payload[offset : offset + blob_len]
        offset += blob_len
    return out


def _open_v1(
    aead: AESGCM, payload: bytes, place: RecordPlace, types: Mapping[str, FieldType]
) -> bytes:
    policy_id, subject_id, record_id, category, _tier = place
    values = {}
    try:
        fields = _v1_fields(payload)
    except (struct.error, UnicodeDecodeError):
        # An altered length or name: as unauthentic as a failed tag.
        raise _failed(place) from None
    for name, blob in fields.items():
        aad = crypto.field_aad(policy_id, subject_id, record_id, category, name)
        try:
            raw = crypto.open_sealed(aead, blob, aad)
        except crypto.DecryptionFailed:
            raise _failed(place) from None
        values[name] = _v1_decode(types.get(name, FieldType.STRING), raw)
    return values_json({name: types.get(name, FieldType.STRING) for name in values}, values)


def seal_record_v1(
    aead: AESGCM,
    types: Mapping[str, FieldType],
    values: Mapping[str, Any],
    place: RecordPlace,
) -> bytes:
    """A format-1 payload, as vault v1 wrote it: only for tests of the upgrade path."""
    policy_id, subject_id, record_id, category, _tier = place
    parts = []
    for name, value in values.items():
        blob = crypto.seal(
            aead,
            _v1_encode(types[name], value),
            crypto.field_aad(policy_id, subject_id, record_id, category, name),
        )
        raw_name = name.encode()
        parts += [_V1_HEADER.pack(len(raw_name), len(blob)), raw_name, blob]
    return b"".join(parts)
