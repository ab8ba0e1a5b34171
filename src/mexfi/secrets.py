"""Secrets: master keys, the blind-index and pseudonym keys, the audit signing key.

They come from the environment or from a key file (`MEXFI_KEY_FILE`, default
`<data dir>/keys.json`, mode 0600), never from the repository:

- `MEXFI_MASTER_KEY`: comma-separated `id:base64` master keys (32 bytes each), the first current;
- `MEXFI_INDEX_KEY`, `MEXFI_PSEUDONYM_KEY`: base64, 32 bytes;
- `MEXFI_AUDIT_SIGNING_KEY`: base64 Ed25519 private seed, 32 bytes.

An environment variable wins over the file, key by key.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets as stdlib_secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mexfi.db import data_dir
from mexfi.errors import Conflict, Invalid, Unavailable

__all__ = [
    "MasterKey",
    "Secrets",
    "add_master_key",
    "init_key_file",
    "key_file_path",
    "load_secrets",
]

KEY_BYTES = 32


@dataclass(frozen=True)
class MasterKey:
    id: str
    key: bytes = field(repr=False)


@dataclass(frozen=True)
class Secrets:
    """Every secret mexfi needs; the first master key wraps new data keys."""

    master_keys: tuple[MasterKey, ...]
    index_key: bytes = field(repr=False)
    pseudonym_key: bytes = field(repr=False)
    audit_signing_seed: bytes = field(repr=False)

    @property
    def current_master(self) -> MasterKey:
        return self.master_keys[0]

    def master(self, key_id: str) -> MasterKey:
        for key in self.master_keys:
            if key.id == key_id:
                return key
        raise Unavailable(
            f"master key {key_id!r} is not configured",
            hint="add it to MEXFI_MASTER_KEY or the key file; data keys wrapped under it "
            "cannot be opened without it",
        )

    @property
    def audit_signing_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.audit_signing_seed)

    @classmethod
    def generate(cls, master_key_id: str | None = None) -> Secrets:
        """Fresh random secrets (tests, `mexfi keys init`)."""
        return cls(
            master_keys=(MasterKey(master_key_id or _new_key_id(), os.urandom(KEY_BYTES)),),
            index_key=os.urandom(KEY_BYTES),
            pseudonym_key=os.urandom(KEY_BYTES),
            audit_signing_seed=os.urandom(KEY_BYTES),
        )


def _new_key_id() -> str:
    return f"mk-{datetime.now(UTC):%Y%m%d}-{stdlib_secrets.token_hex(4)}"


def _b64(value: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(
            f"{what} is not valid base64", hint="generate one with `mexfi keys init`"
        ) from None
    if len(raw) != KEY_BYTES:
        raise Invalid(f"{what} must be {KEY_BYTES} bytes, got {len(raw)}")
    return raw


def _enc(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def key_file_path() -> Path:
    return Path(os.environ.get("MEXFI_KEY_FILE", str(data_dir() / "keys.json")))


def _parse_master_env(value: str) -> tuple[MasterKey, ...]:
    keys = []
    for index, item in enumerate(part for part in value.split(",") if part.strip()):
        key_id, sep, encoded = item.strip().partition(":")
        if not sep:
            raise Invalid(
                "MEXFI_MASTER_KEY entries must be written id:base64",
                hint="for example MEXFI_MASTER_KEY=mk-1:<base64 of 32 random bytes>",
            )
        keys.append(MasterKey(key_id, _b64(encoded, f"MEXFI_MASTER_KEY entry {index + 1}")))
    if not keys:
        raise Invalid("MEXFI_MASTER_KEY is empty")
    return tuple(keys)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise Invalid(f"key file {path} is not valid JSON (line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise Invalid(f"key file {path} must hold a JSON object")
    return data


def _write_file(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)


def _to_file_data(value: Secrets) -> dict[str, Any]:
    return {
        "master_keys": [{"id": k.id, "key": _enc(k.key)} for k in value.master_keys],
        "index_key": _enc(value.index_key),
        "pseudonym_key": _enc(value.pseudonym_key),
        "audit_signing_key": _enc(value.audit_signing_seed),
    }


def save_key_file(value: Secrets, path: Path) -> Path:
    """Write `value` to a key file (mode 0600), replacing any file there."""
    _write_file(path, _to_file_data(value))
    return path


def init_key_file(path: Path | None = None) -> Path:
    """Write a new key file with fresh secrets; refuse to overwrite one."""
    path = path or key_file_path()
    if path.exists():
        raise Conflict(
            f"key file {path} already exists",
            hint="a new key file would make every stored record unreadable; "
            "use `mexfi keys rotate` to change the master key",
        )
    _write_file(path, _to_file_data(Secrets.generate()))
    return path


def add_master_key(path: Path | None = None) -> MasterKey:
    """Put a fresh master key first in the key file (older ones stay, to unwrap)."""
    path = path or key_file_path()
    if not path.exists():
        raise Unavailable(f"key file {path} does not exist", hint="run `mexfi keys init` first")
    data = _read_file(path)
    key = MasterKey(_new_key_id(), os.urandom(KEY_BYTES))
    data["master_keys"] = [{"id": key.id, "key": _enc(key.key)}, *data.get("master_keys", [])]
    _write_file(path, data)
    return key


def load_secrets(*, create: bool = False) -> Secrets:
    """Secrets from the environment and the key file; `create` makes a key file if none exists."""
    path = key_file_path()
    file_data: dict[str, Any] = {}
    if path.exists():
        file_data = _read_file(path)
    elif create and "MEXFI_MASTER_KEY" not in os.environ:
        init_key_file(path)
        file_data = _read_file(path)

    def pick(env: str, key: str) -> bytes:
        if env in os.environ:
            return _b64(os.environ[env], env)
        if key in file_data:
            return _b64(str(file_data[key]), f"{key} in {path}")
        raise Unavailable(
            f"no {key.replace('_', ' ')} configured: set {env} or create a key file",
            hint=f"run `mexfi keys init` to write {path}",
        )

    if "MEXFI_MASTER_KEY" in os.environ:
        masters = _parse_master_env(os.environ["MEXFI_MASTER_KEY"])
    elif file_data.get("master_keys"):
        masters = tuple(
            MasterKey(str(item["id"]), _b64(str(item["key"]), f"master key {item['id']} in {path}"))
            for item in file_data["master_keys"]
        )
    else:
        raise Unavailable(
            "no master key configured: set MEXFI_MASTER_KEY or create a key file",
            hint=f"run `mexfi keys init` to write {path}",
        )
    return Secrets(
        master_keys=masters,
        index_key=pick("MEXFI_INDEX_KEY", "index_key"),
        pseudonym_key=pick("MEXFI_PSEUDONYM_KEY", "pseudonym_key"),
        audit_signing_seed=pick("MEXFI_AUDIT_SIGNING_KEY", "audit_signing_key"),
    )
