"""Running the CLI through its real root command (`mexfi.cli.app.main`) in process, and
pointing it at a test store: shared by the tests that drive `mexfi` end to end."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from mexfi.cli.app import main
from mexfi.db import StoreConfig

REPO = Path(__file__).resolve().parents[2]
#: The policy files bundled with the repository.
BUNDLED_POLICIES = REPO / "policies"


@dataclass
class Cli:
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *args: str) -> tuple[int, str, str]:
        """`mexfi ARGS` as the console script runs it: (exit code, stdout, stderr)."""
        self.monkeypatch.setattr(sys, "argv", ["mexfi", *args])
        with pytest.raises(SystemExit) as exited:
            main()
        code = exited.value.code
        captured = self.capsys.readouterr()
        return (code if isinstance(code, int) else 0), captured.out, captured.err

    def ok(self, *args: str) -> str:
        """The stdout of `mexfi ARGS`, which must exit 0."""
        return self.ok_out_err(*args)[0]

    def ok_out_err(self, *args: str) -> tuple[str, str]:
        """(stdout, stderr) of `mexfi ARGS`, which must exit 0."""
        code, out, err = self(*args)
        assert code == 0, (args, out, err)
        return out, err


def point_cli_at_store(
    monkeypatch: pytest.MonkeyPatch,
    config: StoreConfig,
    tmp_path: Path | None,
    *,
    policies: Path | None = BUNDLED_POLICIES,
) -> None:
    """Point the CLI's environment at the store `config` describes (its URLs, schemas and
    whether the key store shares the records database).

    With `tmp_path`, the CLI also runs in it, its data directory `tmp_path / "data"`; with
    None, the working and data directories are left as they are. `policies` is the policy
    directory (the bundled policies unless told); None leaves MEXFI_POLICY_DIR as it is."""
    if tmp_path is not None:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    if policies is not None:
        monkeypatch.setenv("MEXFI_POLICY_DIR", str(policies))
    monkeypatch.setenv("MEXFI_DATABASE_URL", config.records_url)
    monkeypatch.setenv("MEXFI_KEYSTORE_URL", config.keys_url)
    monkeypatch.setenv("MEXFI_RECORDS_SCHEMA", config.records_schema)
    monkeypatch.setenv("MEXFI_KEYS_SCHEMA", config.keys_schema)
    monkeypatch.setenv("MEXFI_PASSIVE_SCHEMA", config.passive_schema)
    monkeypatch.setenv(
        "MEXFI_KEYSTORE_SHARED_DATABASE", "1" if config.keystore_shared_database else "0"
    )
