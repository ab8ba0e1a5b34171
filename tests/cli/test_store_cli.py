"""One store, found or refused: a command that finds no store says where it looked and how to
point elsewhere, and creates nothing; only `mexfi init` creates one, and says where."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from mexfi.cli.app import main
from tests.conftest import POSTGRES_URL, _drop_schemas, _postgres_reason

REPO = Path(__file__).resolve().parents[2]

#: Commands that open the store, each of another group.
OPENING = [
    ("requests", "list"),
    ("subjects", "find", "--id", "f" * 32),
    ("retention", "run"),
    ("generate", "--riders", "1", "--drivers", "1"),
    ("keys", "reseal"),
    ("db", "upgrade"),
]


def mexfi(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """`mexfi ARGS` as the console script runs it: (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["mexfi", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    code = exited.value.code
    captured = capsys.readouterr()
    return (code if isinstance(code, int) else 0), captured.out, captured.err


def flat(text: str) -> str:
    return " ".join(text.split())


def squashed(text: str) -> str:
    """`text` without any whitespace: a long path may be folded at the terminal's width."""
    return "".join(text.split())


def says(err: str, expected: str) -> bool:
    return squashed(expected) in squashed(err)


@pytest.fixture
def empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory and no MEXFI_DATA_DIR: the default ./.mexfi applies."""
    directory = tmp_path / "elsewhere"
    directory.mkdir()
    monkeypatch.chdir(directory)
    monkeypatch.delenv("MEXFI_DATA_DIR")
    monkeypatch.setenv("MEXFI_POLICY_DIR", str(REPO / "policies"))
    return directory


def test_a_command_from_an_empty_directory_says_where_it_looked_and_creates_nothing(
    empty: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = empty / ".mexfi"
    for args in OPENING:
        code, out, err = mexfi(monkeypatch, capsys, *args)
        assert code == 5, (args, err)
        text = flat(err)
        assert says(err, f"data dir {data} (default ./.mexfi)"), (args, text)
        assert says(err, f"sqlite:///{data / 'mexfi.sqlite'}: nothing there")
        assert says(err, f"sqlite:///{data / 'mexfi-keys.sqlite'}: nothing there")
        assert says(err, str(data / "keys.json"))
        for variable in ("MEXFI_DATA_DIR", "MEXFI_DATABASE_URL", "MEXFI_KEY_FILE"):
            assert variable in text, (args, variable)
        assert "`mexfi init` creates a new store (nothing was created)" in text
        assert out == ""
        assert list(empty.iterdir()) == [], f"{args} created {sorted(empty.iterdir())}"
    # The audit log alone (an auditor's command) is refused the same way.
    code, _, err = mexfi(monkeypatch, capsys, "audit", "show")
    assert code == 5 and says(err, f"no audit log) at sqlite:///{data / 'mexfi.sqlite'}")
    assert "`mexfi init`" in flat(err)
    assert list(empty.iterdir()) == []


def test_init_creates_the_store_says_where_and_is_the_only_one_that_does(
    empty: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = empty / ".mexfi"
    code, out, err = mexfi(monkeypatch, capsys, "init")
    assert code == 0, err
    text = flat(out)
    assert "created the store:" in text
    assert says(out, f"records sqlite:///{data / 'mexfi.sqlite'}")
    assert says(out, f"key store sqlite:///{data / 'mexfi-keys.sqlite'}")
    assert says(out, f"key file {data / 'keys.json'}")
    assert {p.name for p in data.iterdir()} >= {
        "keys.json",
        "audit-signing.key",
        "audit-signing.pub",
        "mexfi.sqlite",
        "mexfi-keys.sqlite",
    }
    key_file = (data / "keys.json").read_bytes()
    code, _, err = mexfi(monkeypatch, capsys, "init")
    assert code == 3 and "already exist" in err
    code, out, _ = mexfi(monkeypatch, capsys, "init", "--if-missing")  # README's main job
    assert code == 0 and "nothing created" in out
    assert (data / "keys.json").read_bytes() == key_file
    # The store is found now: commands run, and `db upgrade` upgrades it in place.
    assert mexfi(monkeypatch, capsys, "requests", "list")[0] == 0
    code, out, _ = mexfi(monkeypatch, capsys, "db", "upgrade")
    assert code == 0 and "up to date" in out


def test_a_store_without_its_key_file_is_refused_and_init_writes_no_new_one(
    empty: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = empty / ".mexfi"
    assert mexfi(monkeypatch, capsys, "init")[0] == 0
    assert mexfi(monkeypatch, capsys, "generate", "--riders", "2", "--drivers", "1")[0] == 0
    (data / "keys.json").rename(empty / "keys-elsewhere.json")
    code, _, err = mexfi(monkeypatch, capsys, "requests", "list")
    assert code == 5
    text = flat(err)
    assert "the store is there but not its key file" in text
    assert says(err, f"key file {data / 'keys.json'}: nothing there")
    assert "MEXFI_KEY_FILE" in text
    code, _, err = mexfi(monkeypatch, capsys, "init")
    assert code == 3 and "a new key file would open none of it" in flat(err)
    assert not (data / "keys.json").exists()
    monkeypatch.setenv("MEXFI_KEY_FILE", str(empty / "keys-elsewhere.json"))
    assert mexfi(monkeypatch, capsys, "requests", "list")[0] == 0


def test_a_key_file_pointing_at_no_store_is_refused_and_nothing_is_created(
    empty: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mexfi(monkeypatch, capsys, "init")[0] == 0
    other = empty / "other"
    monkeypatch.setenv("MEXFI_DATABASE_URL", f"sqlite:///{other / 'records.sqlite'}")
    monkeypatch.setenv("MEXFI_KEYSTORE_URL", f"sqlite:///{other / 'keys.sqlite'}")
    code, _, err = mexfi(monkeypatch, capsys, "retention", "run")
    assert code == 5
    text = flat(err)
    assert "no mexfi store here" in text
    assert says(err, f"sqlite:///{other / 'records.sqlite'}: nothing there")
    assert says(err, f"key file {empty / '.mexfi' / 'keys.json'}: found")
    assert not other.exists()


@pytest.mark.postgres
def test_a_postgres_url_is_shown_with_its_password_masked_and_no_schema_is_created(
    empty: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    reason = _postgres_reason()
    if reason:
        pytest.skip(reason)
    url = make_url(POSTGRES_URL).set(password="s3cret-pw").render_as_string(hide_password=False)
    schemas = ("t_nostore_records", "t_nostore_keys", "t_nostore_passive")
    monkeypatch.setenv("MEXFI_DATABASE_URL", url)
    monkeypatch.setenv("MEXFI_KEYSTORE_URL", url)
    monkeypatch.setenv("MEXFI_KEYSTORE_SHARED_DATABASE", "1")
    for variable, schema in zip(
        ("MEXFI_RECORDS_SCHEMA", "MEXFI_KEYS_SCHEMA", "MEXFI_PASSIVE_SCHEMA"), schemas, strict=True
    ):
        monkeypatch.setenv(variable, schema)
    _drop_schemas(*schemas)
    try:
        code, _, err = mexfi(monkeypatch, capsys, "requests", "list")
        assert code == 5
        assert "s3cret-pw" not in err and "***" in err
        assert "no mexfi store here" in flat(err)
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as connection:
            found = connection.execute(
                text("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 't_nostore_%'")
            ).scalar()
        engine.dispose()
        assert found == 0
        code, out, err = mexfi(monkeypatch, capsys, "init")
        assert code == 0, err
        assert "s3cret-pw" not in out and "created the store" in out
        assert mexfi(monkeypatch, capsys, "requests", "list")[0] == 0
    finally:
        _drop_schemas(*schemas)
