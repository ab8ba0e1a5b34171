"""Keys that cannot be lost or confused (issue 10, item 4), through the real root command.

The findings: `generate` wrote a second key file when none was found; a key file with the
right master key id and other bytes let `generate` write records no correct key opens; a
wrong index key made every look-up miss in silence; `keys rotate` with MEXFI_MASTER_KEY
set added an unused key; malformed key files ended in internal error 70; the stores were
0644 in a 0755 directory; `policy render --out keys.json` overwrote the key file.
Each case checks the exit code, the message, and that nothing was written.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mexfi.audit import AuditEntry
from mexfi.db import Store, StoreConfig
from mexfi.errors import Invalid
from mexfi.secrets import MasterKey, Secrets
from mexfi.vault import Vault
from mexfi.vault.keycheck import CHECK_KEY_ID
from mexfi.vault.models import DataKey, Record, Subject
from tests.cli.runner import point_cli_at_store
from tests.cli.test_exit_codes import REPO, run
from tests.vault.test_vault import register_rider

Run = Callable[..., tuple[int, str]]
GENERATE = ("generate", "--riders", "2", "--drivers", "1", "--days", "1", "--seed", "3")


def _clear_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "MEXFI_KEY_FILE",
        "MEXFI_MASTER_KEY",
        "MEXFI_INDEX_KEY",
        "MEXFI_PSEUDONYM_KEY",
        "MEXFI_AUDIT_SIGNING_KEY",
        "MEXFI_AUDIT_KEY_FILE",
        "MEXFI_AUDIT_PUBLIC_KEY",
        "MEXFI_AUDIT_ANCHOR",
        "MEXFI_DEBUG",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data directory (SQLite stores and key files by default), not yet created."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MEXFI_POLICY_DIR", str(REPO / "policies"))
    for name in ("MEXFI_DATABASE_URL", "MEXFI_KEYSTORE_URL"):
        monkeypatch.delenv(name, raising=False)
    _clear_key_env(monkeypatch)
    return tmp_path / "data"


@pytest.fixture
def mexfi(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """`mexfi ARGS` as the console script runs it: (exit code, stderr)."""

    def call(*args: str) -> tuple[int, str]:
        return run(monkeypatch, capsys, *args)

    return call


@pytest.fixture
def on_store(fresh_store: Store, data: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The CLI pointed at a fresh store of each backend (key files in `data`)."""
    # The working, data and policy directories are the ones `data` set.
    point_cli_at_store(monkeypatch, fresh_store.config, None, policies=None)
    yield fresh_store


def _counts(store: Store) -> tuple[int, int, int, int]:
    """Subjects, records, audit entries and data keys: what a write would change."""
    with store.records() as records, store.keys() as keys:
        return (
            int(records.scalar(select(func.count()).select_from(Subject)) or 0),
            int(records.scalar(select(func.count()).select_from(Record)) or 0),
            int(records.scalar(select(func.count()).select_from(AuditEntry)) or 0),
            int(keys.scalar(select(func.count()).select_from(DataKey)) or 0),
        )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _edited(key_file: Path, target: Path, edit: Callable[[dict[str, object]], None]) -> Path:
    content = json.loads(key_file.read_text())
    edit(content)
    target.write_text(json.dumps(content))
    return target


# ----------------------------------------------------------------- only `init` creates keys


def test_no_command_but_init_creates_a_key_file(data: Path, mexfi: Run) -> None:
    for args in (GENERATE, ("retention", "run"), ("requests", "list"), ("keys", "reseal")):
        code, err = mexfi(*args)
        assert code == 5, (args, err)
        squashed = "".join(err.split())  # a long path may be folded at 80 columns
        assert "".join(f"key file {data / 'keys.json'}: nothing there".split()) in squashed
        assert "MEXFI_KEY_FILE" in squashed and "MEXFI_MASTER_KEY" in squashed
        assert "`mexfiinit`createsanewstore" in squashed
        assert not data.exists(), f"{args} created {sorted(data.iterdir())}"

    code, _ = mexfi("init")  # also spelled `keys init`
    assert code == 0
    key_file = data / "keys.json"
    keys = ("keys.json", "audit-signing.key", "audit-signing.pub")
    written = {name: _digest(data / name) for name in keys}
    assert {p.name for p in data.iterdir()} >= {*keys, "mexfi.sqlite", "mexfi-keys.sqlite"}

    code, err = mexfi("keys", "init")
    assert code == 3 and "already exist" in err
    code, _ = mexfi("init", "--if-missing")  # the README's one-line job, run again
    assert code == 0
    assert {name: _digest(data / name) for name in keys} == written
    assert mexfi(*GENERATE)[0] == 0
    assert _digest(key_file) == written["keys.json"]


# ----------------------------------------------------------------- check values and the canary


def test_a_master_key_with_the_right_id_and_other_bytes_is_refused_before_any_write(
    on_store: Store, data: Path, mexfi: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert mexfi("keys", "init")[0] == 0
    assert mexfi(*GENERATE)[0] == 0
    before = _counts(on_store)
    assert before[1] > 0
    key_file = data / "keys.json"
    good = json.loads(key_file.read_text())["master_keys"][0]
    other = os.urandom(32)

    def swap_bytes(content: dict[str, object]) -> None:
        content["master_keys"] = [{"id": good["id"], "key": _b64(other)}]

    monkeypatch.setenv("MEXFI_KEY_FILE", str(_edited(key_file, data / "other.json", swap_bytes)))
    for args in (GENERATE, ("retention", "run"), ("keys", "rotate")):
        code, err = mexfi(*args)
        flat = " ".join(err.split())
        assert code == 3, (args, err)
        assert f"master key {good['id']} is not the key this key store was written with" in flat
        assert "nothing was written" in flat
        assert _b64(other) not in err and good["key"] not in err  # the id, never the bytes
        assert _counts(on_store) == before
    assert len(json.loads((data / "other.json").read_text())["master_keys"]) == 1

    # The same key from the environment, the key file untouched: refused the same way.
    monkeypatch.delenv("MEXFI_KEY_FILE")
    monkeypatch.setenv("MEXFI_MASTER_KEY", f"{good['id']}:{_b64(other)}")
    code, err = mexfi(*GENERATE)
    assert code == 3 and f"master key {good['id']}" in err
    assert _counts(on_store) == before
    monkeypatch.delenv("MEXFI_MASTER_KEY")
    assert mexfi(*GENERATE)[0] == 0  # the right key file still works


CANARIES = [("index_key", "MEXFI_INDEX_KEY"), ("pseudonym_key", "MEXFI_PSEUDONYM_KEY")]


@pytest.mark.parametrize(("field", "variable"), CANARIES)
def test_a_wrong_index_or_pseudonym_key_is_caught_by_its_canary(
    on_store: Store,
    data: Path,
    mexfi: Run,
    monkeypatch: pytest.MonkeyPatch,
    field: str,
    variable: str,
) -> None:
    assert mexfi("keys", "init")[0] == 0
    assert mexfi(*GENERATE)[0] == 0
    before = _counts(on_store)
    what = field.replace("_", " ")

    def swap(content: dict[str, object]) -> None:
        content[field] = _b64(os.urandom(32))

    monkeypatch.setenv("MEXFI_KEY_FILE", str(_edited(data / "keys.json", data / "x.json", swap)))
    code, err = mexfi(*GENERATE)
    assert code == 3 and f"the {what} is not the one this store" in err and "canary" in err
    assert _counts(on_store) == before
    # Before the canary, a wrong index key answered every request `subject_not_matched`.
    monkeypatch.delenv("MEXFI_KEY_FILE")
    monkeypatch.setenv(variable, _b64(os.urandom(32)))
    code, err = mexfi("requests", "list")
    assert code == 3 and f"the {what} is not the one this store" in err
    assert _counts(on_store) == before


def test_the_check_row_follows_a_rotation(on_store: Store, data: Path, mexfi: Run) -> None:
    assert mexfi("keys", "init")[0] == 0
    assert mexfi(*GENERATE)[0] == 0
    assert mexfi("keys", "rotate")[0] == 0
    current = json.loads((data / "keys.json").read_text())["master_keys"][0]["id"]
    with on_store.keys() as keys:
        masters = set(keys.scalars(select(DataKey.master_key_id)))
        check = keys.scalar(select(DataKey.master_key_id).where(DataKey.id == CHECK_KEY_ID))
    assert masters == {current} and check == current
    assert mexfi(*GENERATE)[0] == 0


def test_check_keys_on_each_backend(vault: Vault, store: Store, secrets: Secrets) -> None:
    impostors = {
        "master key mk-test-1 is not the key": Secrets(
            (MasterKey("mk-test-1", os.urandom(32)),),
            secrets.index_key,
            secrets.pseudonym_key,
            secrets.audit_signing_seed,
        ),
        "the index key is not": Secrets(
            secrets.master_keys, os.urandom(32), secrets.pseudonym_key, secrets.audit_signing_seed
        ),
    }
    # A store written before the check row: its master key is checked against its data keys.
    with vault.unit_of_work() as uow:
        register_rider(vault, uow)
    with store.keys() as keys, pytest.raises(Invalid, match="master key mk-test-1 is not"):
        Vault(store, vault.policies, impostors["master key mk-test-1 is not the key"]).check_keys(
            keys
        )
    with store.keys() as keys:
        assert keys.get(DataKey, CHECK_KEY_ID) is None  # nothing written on refusal
        vault.check_keys(keys)  # the right keys write the check row
    with store.keys() as keys:
        vault.check_keys(keys)  # and read it back
        assert keys.scalar(select(func.count()).where(DataKey.id == CHECK_KEY_ID)) == 1
    for message, impostor in impostors.items():
        with store.keys() as keys, pytest.raises(Invalid, match=message):
            Vault(store, vault.policies, impostor).check_keys(keys)


# ----------------------------------------------------------------- rotate, malformed key files


def test_keys_rotate_with_master_keys_from_the_environment_says_what_to_do(
    data: Path, mexfi: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert mexfi("keys", "init")[0] == 0
    key_file = data / "keys.json"
    master = json.loads(key_file.read_text())["master_keys"][0]
    before = _digest(key_file)
    monkeypatch.setenv("MEXFI_MASTER_KEY", f"{master['id']}:{master['key']}")
    code, err = mexfi("keys", "rotate")
    flat = " ".join(err.split())
    assert code == 3 and "MEXFI_MASTER_KEY is set" in flat
    assert "first in MEXFI_MASTER_KEY" in flat and "keys rotate --resume" in flat
    assert _digest(key_file) == before


KEY = _b64(bytes(32))
MALFORMED: dict[str, tuple[bytes | None, str]] = {
    "not JSON": (b'{"master_keys": [', "is not valid JSON"),
    "empty": (b"", "is not valid JSON"),
    "a list": (b"[]", "must hold a JSON object"),
    "not UTF-8": (b'{"index_key": "\xff\xfe"}', "is not utf-8 text"),
    "no master keys": (json.dumps({"index_key": KEY}).encode(), "has no master_keys"),
    "a master key without its key": (
        json.dumps({"master_keys": [{"id": "mk-1"}]}).encode(),
        'not an object with a string "id" and "key"',
    ),
    "a master key not an object": (
        json.dumps({"master_keys": ["mk-1"]}).encode(),
        'not an object with a string "id" and "key"',
    ),
    "a master key not base64": (
        json.dumps({"master_keys": [{"id": "mk-1", "key": "*not base64*"}]}).encode(),
        "is not valid base64",
    ),
    "a master key of 16 bytes": (
        json.dumps({"master_keys": [{"id": "mk-1", "key": _b64(bytes(16))}]}).encode(),
        "must be 32 bytes, got 16",
    ),
    "one id twice": (
        json.dumps(
            {"master_keys": [{"id": "mk-1", "key": KEY}, {"id": "mk-1", "key": KEY}]}
        ).encode(),
        "names master key mk-1 twice",
    ),
    "no index key": (
        json.dumps({"master_keys": [{"id": "mk-1", "key": KEY}], "pseudonym_key": KEY}).encode(),
        "has no index_key",
    ),
    "an index key that is a number": (
        json.dumps(
            {"master_keys": [{"id": "mk-1", "key": KEY}], "index_key": 7, "pseudonym_key": KEY}
        ).encode(),
        "is not a base64 string",
    ),
    "a directory": (None, "is a directory, not a file"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_key_file_is_invalid_never_an_internal_error(
    data: Path, tmp_path: Path, mexfi: Run, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    content, message = MALFORMED[case]
    path = tmp_path / "keys.json"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    monkeypatch.setenv("MEXFI_KEY_FILE", str(path))
    monkeypatch.setenv("MEXFI_AUDIT_SIGNING_KEY", KEY)
    for args in (GENERATE, ("retention", "run"), ("keys", "rotate")):
        code, err = mexfi(*args)
        assert code == 3, (case, args, err)
        assert message in " ".join(err.split()), (case, err)
        assert "internal error" not in err
        assert not data.exists()  # no store was created
    if content is not None:
        assert path.read_bytes() == content


def test_a_malformed_audit_key_file_is_invalid(data: Path, mexfi: Run) -> None:
    assert mexfi("keys", "init")[0] == 0
    (data / "audit-signing.key").unlink()
    (data / "audit-signing.key").mkdir()
    code, err = mexfi(*GENERATE)
    assert code == 3 and "is a directory, not a file" in err


# ----------------------------------------------------------------- file modes


def test_stores_and_key_files_are_owner_only_whatever_the_umask(data: Path, mexfi: Run) -> None:
    previous = os.umask(0o022)  # the usual default, that left the stores 0644
    try:
        assert mexfi("keys", "init")[0] == 0
        code, err = mexfi(*GENERATE)
        assert code == 0, err
        assert data.stat().st_mode & 0o777 == 0o700
        for name in ("keys.json", "audit-signing.key", "audit-anchor.jsonl",
                     "mexfi.sqlite", "mexfi-keys.sqlite"):  # fmt: skip
            assert (data / name).stat().st_mode & 0o777 == 0o600, name
        # SQLite gives its -wal and -shm the database file's mode: look while they exist.
        store = Store(StoreConfig.from_env())
        try:
            with store.records() as records, store.keys() as keys:
                records.scalar(select(func.count()).select_from(Record))
                keys.scalar(select(func.count()).select_from(DataKey))
                journals = sorted(data.glob("*.sqlite-*"))
                assert journals
                for journal in journals:
                    assert journal.stat().st_mode & 0o777 == 0o600, journal.name
        finally:
            store.dispose()
    finally:
        os.umask(previous)


def test_a_data_directory_left_open_is_tightened_when_opened(
    data: Path, mexfi: Run, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """A data directory made by an older mexfi (0755, stores 0644) is tightened, not refused:
    a refusal would stop the worker's destruction over a mode. It says so."""
    assert mexfi("keys", "init")[0] == 0
    assert mexfi(*GENERATE)[0] == 0
    stores = [data / "mexfi.sqlite", data / "mexfi-keys.sqlite"]
    os.chmod(data, 0o755)
    for path in stores:
        os.chmod(path, 0o644)
    with caplog.at_level("WARNING", logger="mexfi.db"):
        code, err = mexfi("retention", "status")
    assert code == 0, err
    assert data.stat().st_mode & 0o777 == 0o700
    for path in stores:
        assert path.stat().st_mode & 0o777 == 0o600, path.name
    tightened = " ".join(r.getMessage() for r in caplog.records)
    assert f"{data} was mode 0755, readable by other local users: tightened to 0700" in tightened
    assert "mexfi.sqlite was mode 0644" in tightened
    # A store kept in a directory of the operator's choosing: its files are mexfi's, the
    # directory is not.
    elsewhere = tmp_path / "srv"
    elsewhere.mkdir(mode=0o755)
    os.chmod(elsewhere, 0o755)
    store = Store(
        StoreConfig(
            records_url=f"sqlite:///{elsewhere / 'records.sqlite'}",
            keys_url=f"sqlite:///{elsewhere / 'keys.sqlite'}",
        )
    )
    store.dispose()
    assert elsewhere.stat().st_mode & 0o777 == 0o755
    assert (elsewhere / "records.sqlite").stat().st_mode & 0o777 == 0o600


# ----------------------------------------------------------------- output options


def test_no_output_option_overwrites_without_force_nor_ever_the_key_files(
    data: Path, tmp_path: Path, mexfi: Run
) -> None:
    assert mexfi("keys", "init")[0] == 0
    assert mexfi(*GENERATE)[0] == 0
    policy = str(REPO / "policies" / "taxsee-driver.yaml")
    own = {p: _digest(p) for p in data.iterdir() if p.is_file()}
    assert {"keys.json", "audit-signing.key", "audit-signing.pub", "audit-anchor.jsonl",
            "mexfi.sqlite", "mexfi-keys.sqlite"} <= {p.name for p in own}  # fmt: skip

    report = tmp_path / "notice.md"
    report.write_text("mine")
    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"id": "1", "text": "no personal data"}\n')
    existing = tmp_path / "out.jsonl"
    existing.write_text("mine")
    (tmp_path / "answers").mkdir()
    (tmp_path / "answers" / f"{'f' * 32}.json").write_text("mine")
    refused_without_force = [
        ("policy", "render", policy, "--out", str(report)),
        ("policy", "datamap", policy, "-o", str(report)),
        ("scan", "--jsonl", str(notes), "--out", str(existing)),
        ("redact", str(notes), "--out", str(existing)),
        ("requests", "answer", "f" * 32, "--out", str(tmp_path / "answers")),
    ]
    for args in refused_without_force:
        code, err = mexfi(*args)
        flat = " ".join(err.split())
        assert code == 3 and "already exists" in flat and "--force" in flat, (args, err)
    assert report.read_text() == existing.read_text() == "mine"
    assert (tmp_path / "answers" / f"{'f' * 32}.json").read_text() == "mine"

    code, _ = mexfi("policy", "render", policy, "--out", str(report), "--force")
    assert code == 0 and report.read_text().startswith("#")

    link = tmp_path / "innocent.md"
    link.symlink_to(data / "keys.json")
    for path in (*own, link):
        for args in (
            ("policy", "render", policy, "--out", str(path), "--force"),
            ("policy", "datamap", policy, "--out", str(path), "--force"),
            ("redact", str(notes), "--out", str(path), "--force"),
            ("scan", "--jsonl", str(notes), "--out", str(path), "--force"),
        ):
            code, err = mexfi(*args)
            assert code == 4 and "is mexfi's own file" in " ".join(err.split()), (args, err)
    # Spark replaces its output directory whole: never one that holds mexfi's files.
    code, err = mexfi("scan", "--spark", str(tmp_path), "--out", str(data.parent), "--force")
    assert code == 4 and "holds mexfi's own file" in " ".join(err.split())
    assert {p: _digest(p) for p in own} == own
