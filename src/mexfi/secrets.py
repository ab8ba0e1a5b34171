"""Secrets: master keys, the blind-index and pseudonym keys, and, apart, the audit signing key.

The data secrets come from the environment or from a key file (`MEXFI_KEY_FILE`,
default `<data dir>/keys.json`, mode 0600), never from the repository:

- `MEXFI_MASTER_KEY`: comma-separated `id:base64` master keys (32 bytes each), the first current;
- `MEXFI_INDEX_KEY`, `MEXFI_PSEUDONYM_KEY`: base64, 32 bytes.

An environment variable wins over the file, key by key.

The audit signing key (an Ed25519 seed, 32 bytes) lives apart from them, so whoever
holds the records and keys.json still cannot sign a checkpoint:

- `MEXFI_AUDIT_SIGNING_KEY`: base64 of the seed; else
- its own file, `MEXFI_AUDIT_KEY_FILE` (default `<data dir>/audit-signing.key`, mode 0600,
  one line of base64), with the public key beside it (`audit-signing.pub`, base64 of the
  raw 32 bytes), which is all an auditor needs (`MEXFI_AUDIT_PUBLIC_KEY` may give it too).

A key file written before the split still holds `audit_signing_key`. It keeps working:
`load_secrets` uses it (logging a warning) when no audit key file exists, and refuses
(`Conflict`) when both exist and differ, since it cannot tell which one signed the log.
Nothing moves it silently: rewriting keys.json behind a concurrent `mexfi keys rotate`
could lose a master key. `mexfi keys init` moves it: it writes the audit key file and
the public key, then removes the field from keys.json.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets as stdlib_secrets
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

from mexfi.db import data_dir
from mexfi.errors import Conflict, Invalid, NotFound, Unavailable

__all__ = [
    "MasterKey",
    "Secrets",
    "add_master_key",
    "audit_key_path",
    "audit_public_key_path",
    "init_audit_key",
    "init_key_file",
    "key_file_lock",
    "key_file_path",
    "load_audit_public_key",
    "load_audit_signing_key",
    "load_secrets",
    "master_keys_from_environment",
    "move_legacy_audit_key",
    "refuse_master_keys_from_environment",
    "remove_master_keys",
    "save_key_file",
]

KEY_BYTES = 32
_log = logging.getLogger("mexfi.secrets")
#: The field a key file written before the audit key moved out holds it in.
LEGACY_AUDIT_FIELD = "audit_signing_key"


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

    @property
    def api_key_hash_key(self) -> bytes:
        """The key API keys are hashed under (HMAC-SHA256), derived from the pseudonym key
        with a label of its own: no key file entry to add, and no other use shares it."""
        return hmac.new(self.pseudonym_key, b"mexfi/api-key-hash/v1", hashlib.sha256).digest()

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
    _refuse_duplicate_ids(keys, "MEXFI_MASTER_KEY")
    return tuple(keys)


#: What a key file holds, for the errors about a malformed one.
_FILE_SHAPE = (
    'a key file is the JSON object {"master_keys": [{"id": ..., "key": <base64 of 32 bytes>}, '
    '...], "index_key": <base64>, "pseudonym_key": <base64>} that `mexfi keys init` writes; '
    "restore it from its backup"
)


def _read_text(path: Path, what: str, *, encoding: str = "utf-8") -> str:
    """The text of a secret's file; `Invalid` for a directory or non-text, never an OSError."""
    try:
        return path.read_text(encoding=encoding)
    except IsADirectoryError:
        raise Invalid(f"{what} {path} is a directory, not a file", hint=_FILE_SHAPE) from None
    except UnicodeDecodeError:
        raise Invalid(f"{what} {path} is not {encoding} text", hint=_FILE_SHAPE) from None
    except OSError as exc:
        raise Unavailable(
            f"{what} {path} cannot be read ({exc.strerror or type(exc).__name__})",
            hint="check that the user mexfi runs as owns it (mode 0600)",
        ) from None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(_read_text(path, "key file"))
    except json.JSONDecodeError as exc:
        raise Invalid(
            f"key file {path} is not valid JSON (line {exc.lineno})", hint=_FILE_SHAPE
        ) from None
    if not isinstance(data, dict):
        raise Invalid(f"key file {path} must hold a JSON object", hint=_FILE_SHAPE)
    return data


def _file_masters(path: Path, data: dict[str, Any]) -> tuple[MasterKey, ...]:
    """The master keys of a key file's data, checked item by item."""
    items = data.get("master_keys")
    if not isinstance(items, list) or not items:
        raise Invalid(f"key file {path} has no master_keys list", hint=_FILE_SHAPE)
    keys = []
    for number, item in enumerate(items, start=1):
        if not (
            isinstance(item, dict)
            and isinstance(item.get("id"), str)
            and item["id"]
            and isinstance(item.get("key"), str)
        ):
            raise Invalid(
                f"master key {number} in key file {path} is not an object with a string "
                '"id" and "key"',
                hint=_FILE_SHAPE,
            )
        keys.append(MasterKey(item["id"], _b64(item["key"], f"master key {item['id']} in {path}")))
    _refuse_duplicate_ids(keys, f"key file {path}")
    return tuple(keys)


def _refuse_duplicate_ids(keys: list[MasterKey], where: str) -> None:
    seen: set[str] = set()
    for key in keys:
        if key.id in seen:
            raise Invalid(
                f"{where} names master key {key.id} twice",
                hint="each master key id must be unique: keep the entry the data was written with",
            )
        seen.add(key.id)


def _private_parent(path: Path) -> None:
    """Create `path`'s directory readable by its owner only (0700) if it is missing."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)


def _write_file(path: Path, data: dict[str, Any]) -> None:
    _private_parent(path)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)
    _fsync_directory(path.parent)


def _to_file_data(value: Secrets) -> dict[str, Any]:
    """The key file's contents: every secret but the audit signing key."""
    return {
        "master_keys": [{"id": k.id, "key": _enc(k.key)} for k in value.master_keys],
        "index_key": _enc(value.index_key),
        "pseudonym_key": _enc(value.pseudonym_key),
    }


def save_key_file(value: Secrets, path: Path, *, audit_key_file: Path | None = None) -> Path:
    """Write `value` to a key file (mode 0600), replacing any file there.

    The audit signing key goes to `audit_key_file` (and its .pub) when given; without it,
    into the key file's legacy field, so that a process handed only `MEXFI_KEY_FILE`
    (a test's subprocess) signs with the same key.
    """
    data = _to_file_data(value)
    if audit_key_file is None:
        data[LEGACY_AUDIT_FIELD] = _enc(value.audit_signing_seed)
    else:
        _write_audit_key(audit_key_file, value.audit_signing_seed, replace=True)
    _write_file(path, data)
    return path


def init_key_file(path: Path | None = None) -> Path:
    """Write a new key file with fresh secrets, the audit key aside; refuse to overwrite one."""
    path = path or key_file_path()
    if path.exists():
        raise Conflict(
            f"key file {path} already exists",
            hint="a new key file would make every stored record unreadable; "
            "use `mexfi keys rotate` to change the master key",
        )
    _write_file(path, _to_file_data(Secrets.generate()))
    return path


# --- the audit signing key -----------------------------------------------------------------


def audit_key_path() -> Path:
    """`MEXFI_AUDIT_KEY_FILE`, else `<data dir>/audit-signing.key`."""
    configured = os.environ.get("MEXFI_AUDIT_KEY_FILE")
    return Path(configured) if configured else data_dir() / "audit-signing.key"


def audit_public_key_path(key_path: Path | None = None) -> Path:
    """The public key beside the audit key file: `audit-signing.pub` by default."""
    return (key_path or audit_key_path()).with_suffix(".pub")


def _public_b64(seed: bytes) -> str:
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return _enc(public.public_bytes(Encoding.Raw, PublicFormat.Raw))


def _write_audit_key(path: Path, seed: bytes, *, replace: bool = False) -> Path:
    """Write the seed (mode 0600) and its public key beside it; refuse to replace unless told."""
    _private_parent(path)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if replace else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise Conflict(
            f"audit key file {path} already exists",
            hint="a new audit key would not verify the checkpoints signed so far",
        ) from None
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(_enc(seed) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    public = audit_public_key_path(path)
    public.write_text(_public_b64(seed) + "\n", encoding="ascii")
    return path


def init_audit_key(path: Path | None = None) -> Path:
    """Write a fresh audit signing key and its .pub; refuse to overwrite one."""
    return _write_audit_key(path or audit_key_path(), os.urandom(KEY_BYTES))


def _read_seed_file(path: Path) -> bytes:
    return _b64(_read_text(path, "audit key file", encoding="ascii"), f"the audit key in {path}")


def _legacy_seed(path: Path, data: dict[str, Any]) -> bytes | None:
    value = data.get(LEGACY_AUDIT_FIELD)
    return None if value is None else _b64(str(value), f"{LEGACY_AUDIT_FIELD} in {path}")


def _audit_seed(key_file: Path, file_data: dict[str, Any]) -> bytes | None:
    """The audit seed: the variable, else its own file, else a legacy key file's field."""
    if "MEXFI_AUDIT_SIGNING_KEY" in os.environ:
        return _b64(os.environ["MEXFI_AUDIT_SIGNING_KEY"], "MEXFI_AUDIT_SIGNING_KEY")
    legacy = _legacy_seed(key_file, file_data)
    path = audit_key_path()
    if path.exists():
        seed = _read_seed_file(path)
        if legacy is not None and legacy != seed:
            raise Conflict(
                f"the key file {key_file} holds an audit signing key that differs from {path}",
                hint="find which one signed the log's checkpoints (`mexfi audit verify "
                "--public-key`), keep it, and remove the other",
            )
        if legacy is not None:
            _log.warning(
                "the key file %s still holds the audit signing key: run `mexfi keys init` "
                "to remove it from there",
                key_file,
            )
        return seed
    if legacy is not None:
        _log.warning(
            "the audit signing key is read from the key file %s: run `mexfi keys init` to "
            "move it to %s, apart from the master keys",
            key_file,
            path,
        )
    return legacy


def move_legacy_audit_key(key_file: Path | None = None) -> Path | None:
    """Move a legacy key file's audit key into its own file (+ .pub); None if none is there.

    The audit key file is written first; the field is removed from the key file only once
    the file holds the same key.
    """
    key_file = key_file or key_file_path()
    if not key_file.exists():
        return None
    data = _read_file(key_file)
    seed = _legacy_seed(key_file, data)
    if seed is None:
        return None
    path = audit_key_path()
    if path.exists():
        if _read_seed_file(path) != seed:
            raise Conflict(
                f"the key file {key_file} holds an audit signing key that differs from {path}",
                hint="find which one signed the log's checkpoints (`mexfi audit verify "
                "--public-key`), keep it, and remove the other",
            )
        if not audit_public_key_path(path).exists():
            audit_public_key_path(path).write_text(_public_b64(seed) + "\n", encoding="ascii")
    else:
        _write_audit_key(path, seed)
    del data[LEGACY_AUDIT_FIELD]
    _write_file(key_file, data)
    return path


def load_audit_signing_key() -> Ed25519PrivateKey:
    """The audit signing key alone, without the master keys (see the module docstring)."""
    key_file = key_file_path()
    data = _read_file(key_file) if key_file.exists() else {}
    seed = _audit_seed(key_file, data)
    if seed is None:
        raise _no_audit_key()
    return Ed25519PrivateKey.from_private_bytes(seed)


def _no_audit_key() -> Unavailable:
    return Unavailable(
        "no audit signing key configured: set MEXFI_AUDIT_SIGNING_KEY or MEXFI_AUDIT_KEY_FILE",
        hint=f"run `mexfi keys init` to write {audit_key_path()}",
    )


def _parse_public_key(text: str, what: str) -> Ed25519PublicKey:
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = load_pem_public_key(text.encode("ascii"))
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError("not an Ed25519 key")
            return key
        raw = base64.b64decode(text, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise Invalid(
            f"{what} is not an Ed25519 public key (base64 of 32 bytes, or PEM)",
            hint="it is the content of audit-signing.pub beside the audit key file",
        ) from None


def _public_key_from(value: str, what: str) -> Ed25519PublicKey:
    """`value` as a path to a public key file, else as the key itself."""
    candidate = Path(value).expanduser()
    try:
        is_file = len(value) < 4096 and candidate.is_file()
    except OSError:
        is_file = False
    if is_file:
        return _parse_public_key(candidate.read_text(encoding="ascii"), f"{what} ({candidate})")
    try:
        return _parse_public_key(value, what)
    except Invalid:
        # Base64 has "/" too: only a value that is no key is taken for a missing file.
        if os.sep in value or value.endswith((".pub", ".pem")):
            raise NotFound(f"{what}: no public key file at {candidate}") from None
        raise


def load_audit_public_key(value: str | None = None) -> Ed25519PublicKey:
    """The public key that verifies the audit log; needs no other secret.

    `value` (a file or the base64 key), else `MEXFI_AUDIT_PUBLIC_KEY` (the same), else the
    .pub file beside the audit key file, else the public half of the signing key.
    """
    if value is not None:
        return _public_key_from(value, "the public key given")
    if os.environ.get("MEXFI_AUDIT_PUBLIC_KEY"):
        return _public_key_from(os.environ["MEXFI_AUDIT_PUBLIC_KEY"], "MEXFI_AUDIT_PUBLIC_KEY")
    public = audit_public_key_path()
    if public.is_file():
        return _parse_public_key(public.read_text(encoding="ascii"), str(public))
    try:
        return load_audit_signing_key().public_key()
    except Unavailable:
        raise Unavailable(
            "no audit public key: give --public-key, set MEXFI_AUDIT_PUBLIC_KEY, or put "
            f"the public key at {public}",
            hint="the operator's audit-signing.pub holds it",
        ) from None


def add_master_key(path: Path | None = None) -> MasterKey:
    """Put a fresh master key first in the key file (older ones stay, to unwrap)."""
    refuse_master_keys_from_environment("rotate")
    path = path or key_file_path()
    with key_file_lock(path):
        return _add_master_key(path)


def _add_master_key(path: Path) -> MasterKey:
    if not path.exists():
        raise Unavailable(f"key file {path} does not exist", hint="run `mexfi keys init` first")
    data = _read_file(path)
    _file_masters(path, data)  # a malformed file is refused before it is rewritten
    key = MasterKey(_new_key_id(), os.urandom(KEY_BYTES))
    data["master_keys"] = [{"id": key.id, "key": _enc(key.key)}, *data.get("master_keys", [])]
    _write_file(path, data)
    return key


def _no_key_file(path: Path) -> Unavailable:
    """Nothing to load: say where mexfi looked, and how to give it keys."""
    return Unavailable(
        f"no key file at {path} (MEXFI_KEY_FILE, default <MEXFI_DATA_DIR>/keys.json) and "
        "MEXFI_MASTER_KEY is not set",
        hint="point MEXFI_KEY_FILE (or MEXFI_DATA_DIR) at the key file this store was written "
        "with; `mexfi init` creates a new store with its key file, and no other command "
        "creates one, since data written under a second key file is lost to the first",
    )


def load_secrets() -> Secrets:
    """Secrets from the environment and the key files; never creates one (`mexfi keys init` does).

    The audit signing key comes from its own variable or file (see the module docstring).
    """
    path = key_file_path()
    file_data: dict[str, Any] = {}
    has_file = path.exists()
    if has_file:
        file_data = _read_file(path)
    elif "MEXFI_MASTER_KEY" not in os.environ:
        raise _no_key_file(path)
    audit_seed = _audit_seed(path, file_data)

    def pick(env: str, key: str) -> bytes:
        if env in os.environ:
            return _b64(os.environ[env], env)
        if key in file_data:
            value = file_data[key]
            if not isinstance(value, str):
                raise Invalid(f"{key} in key file {path} is not a base64 string", hint=_FILE_SHAPE)
            return _b64(value, f"{key} in {path}")
        if has_file:
            raise Invalid(f"key file {path} has no {key} and {env} is not set", hint=_FILE_SHAPE)
        raise Unavailable(
            f"no {key.replace('_', ' ')} configured: {env} is not set and there is no key "
            f"file at {path}",
            hint=f"set {env} too, or point MEXFI_KEY_FILE at the key file",
        )

    if "MEXFI_MASTER_KEY" in os.environ:
        masters = _parse_master_env(os.environ["MEXFI_MASTER_KEY"])
    else:
        masters = _file_masters(path, file_data)
    return Secrets(
        master_keys=masters,
        index_key=pick("MEXFI_INDEX_KEY", "index_key"),
        pseudonym_key=pick("MEXFI_PSEUDONYM_KEY", "pseudonym_key"),
        audit_signing_seed=_require_audit_seed(audit_seed),
    )


def _require_audit_seed(seed: bytes | None) -> bytes:
    if seed is None:
        raise _no_audit_key()
    return seed


# --- master-key epochs: the key file edited under a lock ---------------------------------


def _fsync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable: without it a power cut may bring the old file back."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def key_file_lock(path: Path | None = None) -> Iterator[Path]:
    """Hold the key file's lock (`keys.json.lock` beside it) for a read-modify-write.

    Two processes rewriting the file at once (a rotation and a retirement, two workers)
    would otherwise each write back what it read, and one of them would lose a key.
    """
    path = path or key_file_path()
    _private_parent(path)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield path
    finally:
        os.close(fd)  # closing releases the lock


def master_keys_from_environment() -> bool:
    """Whether the master keys come from `MEXFI_MASTER_KEY`, which mexfi cannot edit."""
    return "MEXFI_MASTER_KEY" in os.environ


def refuse_master_keys_from_environment(action: str) -> None:
    """Raise `Conflict`, saying what to do by hand, when the master keys come from the env.

    The one refusal of `keys rotate` (before anything is opened) and `keys retire` with
    such keys, whoever calls first: the CLI, the vault's epochs, the key-file functions.
    """
    if not master_keys_from_environment():
        return
    if action == "rotate":
        what = "add a master key there (one added to the key file would never be used)"
        hint = (
            "add the new key yourself: put `<new id>:<base64 of 32 random bytes>` first in "
            "MEXFI_MASTER_KEY (the current keys after it), restart every mexfi process, then "
            "run `mexfi keys rotate --resume` to rewrap the data keys under it"
        )
    else:
        what = "remove master keys from it"
        hint = (
            "remove them yourself: take the keys `mexfi keys retire --dry-run` lists as "
            "retirable out of MEXFI_MASTER_KEY and out of wherever it is kept (old versions "
            "in a secret manager included), then restart every mexfi process"
        )
    raise Conflict(
        f"MEXFI_MASTER_KEY is set: the master keys come from the environment, and mexfi "
        f"cannot {what}",
        hint=hint,
    )


def remove_master_keys(key_ids: Collection[str], path: Path | None = None) -> tuple[str, ...]:
    """Destroy these master keys: rewrite the key file without them (atomically, locked).

    The current (first) key is never removed. Returns the ids removed; ids not in the file
    (retired before) are skipped.
    """
    refuse_master_keys_from_environment("retire")
    path = path or key_file_path()
    with key_file_lock(path):
        if not path.exists():
            raise Unavailable(f"key file {path} does not exist", hint="run `mexfi keys init` first")
        data = _read_file(path)
        items = data.get("master_keys")
        if not isinstance(items, list) or not items:
            raise Invalid(f"key file {path} has no master_keys list")
        current = items[0].get("id") if isinstance(items[0], dict) else None
        if current in key_ids:
            raise Conflict(
                f"master key {current} is the current one and cannot be retired",
                hint="run `mexfi keys rotate` first; it is retirable once superseded",
            )
        kept = [i for i in items if not (isinstance(i, dict) and i.get("id") in key_ids)]
        removed = tuple(
            str(i["id"]) for i in items if isinstance(i, dict) and i.get("id") in key_ids
        )
        if removed:
            data["master_keys"] = kept
            _write_file(path, data)
        return removed
