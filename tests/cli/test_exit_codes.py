"""The error tree maps to exit codes through the real root command (`mexfi.cli.app.main`):
0 ok, 1 a check failed, 2 usage, 3 not found or invalid, 4 denied, 5 unavailable, 70 a bug."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mexfi.cli.app import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MEXFI_POLICY_DIR", str(REPO / "policies"))
    for name in ("MEXFI_DATABASE_URL", "MEXFI_KEYSTORE_URL", "MEXFI_KEY_FILE", "MEXFI_MASTER_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("MEXFI_DEBUG", raising=False)
    return tmp_path


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    """Exit code and stderr of `mexfi ARGS` as the console script runs it."""
    monkeypatch.setattr(sys, "argv", ["mexfi", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), capsys.readouterr().err


def test_ok_is_0(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, capsys, "--help")[0] == 0
    assert run(monkeypatch, capsys, "keys", "init")[0] == 0


def test_a_failed_check_is_1(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The bundled BakıKart policy contradicts itself (BK-2.1 against BK-2.2): an error finding.
    code, _ = run(monkeypatch, capsys, "policy", "lint", str(REPO / "policies" / "bakikart.yaml"))
    assert code == 1


def test_usage_is_2(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(monkeypatch, capsys, "requests", "add", "--kind", "access")
    assert code == 2 and "--policy" in err


def test_not_found_and_invalid_are_3(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, capsys, "keys", "init")[0] == 0
    code, err = run(monkeypatch, capsys, "requests", "show", "f" * 32)
    assert code == 3 and "no request" in err
    code, err = run(monkeypatch, capsys, "retention", "run", "--now", "yesterday")
    assert code == 3 and "ISO 8601" in err


def test_denied_is_4(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, capsys, "keys", "init")[0] == 0
    # BakıKart offers no right of destruction: the policy forbids the request.
    code, err = run(
        monkeypatch, capsys, "requests", "add", "--policy", "bakikart", "--kind", "destruction",
        "--channel", "written", "--subject", "f" * 32,
    )  # fmt: skip
    assert code == 4 and "does not list the right" in err


def test_unavailable_is_5(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, capsys, "keys", "init")[0] == 0  # keys first: none is refused too
    monkeypatch.setenv("MEXFI_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("MEXFI_KEYSTORE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none_keys")
    code, err = run(monkeypatch, capsys, "requests", "list")
    assert code == 5 and "cannot be reached" in err


def test_a_bug_is_70_without_a_traceback(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import mexfi.policy

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("an internal failure")

    monkeypatch.setattr(mexfi.policy, "lint_policy", broken)
    code, err = run(monkeypatch, capsys, "policy", "lint", str(REPO / "policies" / "bakikart.yaml"))
    assert code == 70
    assert "internal error: RuntimeError" in err and "Traceback" not in err
    assert "an internal failure" not in err  # exception text may carry data: not shown
