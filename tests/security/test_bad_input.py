"""Issue 10, item 6: bad input is refused with a clear error, never a crash or an exhaustion.

Each CLI case runs through the real root command (`tests/cli/test_exit_codes.py`'s `run`):
3 for invalid input, 5 for a missing dependency, never 70.
"""

from __future__ import annotations

import shutil
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mexfi.clock import FixedClock
from mexfi.db import Store
from mexfi.errors import Invalid
from mexfi.policy import PolicyLoadError, load_bundled_policies, load_policy, parse_policy
from mexfi.policy.loader import MAX_POLICY_BYTES, MAX_POLICY_DEPTH
from mexfi.vault import Actor, CardDataRefused, InvalidValue, Vault
from mexfi.vault.models import Record
from mexfi.vault.values import FREE_TEXT_MAX_LENGTH, TEXT_MAX_LENGTH, normalise_record
from tests.cli.test_exit_codes import env, run  # noqa: F401  (env is a fixture)
from tests.vault.conftest import SYSTEM
from tests.vault.test_vault import register_driver

REPO = Path(__file__).resolve().parents[2]
MINIMAL = REPO / "tests" / "fixtures" / "policies" / "minimal.yaml"

# The "billion laughs" of YAML, 9 levels of 9: 387,420,489 strings from under 400 bytes.
ANCHOR_BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)
ORDER = {
    "started_at": "2026-03-02T10:00:00+04:00",
    "pickup_address": "Nizami küç. 45",
    "destination_address": "Azadlıq pr. 12",
    "tariff": "comfort",
    "payment_method": "card",
}
# A Luhn-valid 16-digit number, and 13- and 19-digit ones.
PAN = "4169738812345670"
PAN_13 = "4222222222222"
PAN_19 = "6250941006528599008"


def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    """`run`, with the console's line wrapping undone (paths are relative: never folded)."""
    code, err = run(monkeypatch, capsys, *args)
    return code, " ".join(err.split())


def _peak_bytes_while(action: object) -> int:
    """Peak of Python allocations while `action()` runs (and raises)."""
    assert callable(action)
    tracemalloc.start()
    try:
        action()
    except Invalid:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


# ---------------------------------------------------------------------- policy YAML


def test_the_anchor_bomb_is_refused_with_flat_memory(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(ANCHOR_BOMB, encoding="utf-8")
    assert len(ANCHOR_BOMB) < 400
    with pytest.raises(PolicyLoadError) as caught:
        load_policy(bomb)
    [problem] = caught.value.problems
    assert problem.line == 1 and "anchors and aliases" in problem.message
    # Before: 12.3 GB. Parsing the first line and refusing it holds a few hundred kB.
    assert _peak_bytes_while(lambda: load_policy(bomb)) < 2 * 1024 * 1024


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: " + "[" * 5000 + "]" * 5000, 1),
        ("".join(" " * depth + "k:\n" for depth in range(100)), MAX_POLICY_DEPTH + 1),
    ],
    ids=["flow", "block"],
)
def test_deep_nesting_is_refused_at_its_line(text: str, line: int) -> None:
    with pytest.raises(PolicyLoadError) as caught:
        parse_policy(text, file="deep.yaml")
    [problem] = caught.value.problems
    assert problem.line == line and f"deeper than {MAX_POLICY_DEPTH} levels" in problem.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("policy: 2026-02-30\n", "not a valid timestamp value"),
        ("policy: " + "1" * 5000 + "\n", "not a valid int value"),
        ("policy: !!timestamp x\n", "not a valid timestamp value"),
        ("policy: !!bool maybe\n", "not a valid bool value"),
        ("policy: \x01\n", "unacceptable character"),
        ("? [a, b]\n: c\n", "a key must be a plain name"),
        ("policy: 1\npolicy: 2\n", "appears twice"),
        ("policy: !!python/object:os.system x\n", "could not determine a constructor"),
    ],
    ids=[
        "impossible-date",
        "huge-int",
        "timestamp-tag",
        "bool-tag",
        "control-char",
        "list-key",
        "twice",
        "python-tag",
    ],
)
def test_malformed_yaml_is_a_located_load_error(text: str, expected: str) -> None:
    with pytest.raises(PolicyLoadError) as caught:
        parse_policy(text, file="bad.yaml")
    assert expected in caught.value.message


def test_a_policy_file_over_the_cap_is_refused_unread(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:
        handle.truncate(1 << 30)  # 1 GiB, sparse
    peak = _peak_bytes_while(lambda: load_policy(huge))
    with pytest.raises(PolicyLoadError, match=f"larger than {MAX_POLICY_BYTES // 1024} KiB"):
        load_policy(huge)
    assert peak < 2 * MAX_POLICY_BYTES


def test_a_folder_given_as_a_policy_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyLoadError, match="cannot be read"):
        load_policy(tmp_path)


def test_two_policies_with_one_id_are_an_error_naming_both_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(MINIMAL, tmp_path / "scooter.yaml")
    shutil.copy(MINIMAL, tmp_path / "scooter-copy.yaml")
    monkeypatch.setenv("MEXFI_POLICY_DIR", str(tmp_path))
    with pytest.raises(PolicyLoadError) as caught:
        load_bundled_policies()
    message = caught.value.message
    assert "'scooter'" in message
    assert "scooter.yaml" in message and "scooter-copy.yaml" in message


def test_a_field_may_declare_its_max_length_but_not_on_a_number() -> None:
    text = MINIMAL.read_text(encoding="utf-8")
    anchor = "        type: phone\n"
    assert anchor in text
    policy = parse_policy(text.replace(anchor, anchor + "        max_length: 20\n"))
    [field] = [f for c in policy.categories for f in c.fields if f.name == "phone"]
    assert field.max_length == 20
    with pytest.raises(PolicyLoadError, match="`max_length` applies to text and bytes"):
        parse_policy(text.replace(anchor, "        type: integer\n        max_length: 20\n"))


# ---------------------------------------------------------------------- values


def test_free_text_over_the_limit_is_refused_before_it_is_scanned_or_sealed(
    vault: Vault, store: Store
) -> None:
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
    # 10 MB of text that looks like data: before, 140 s of card checks and scanning.
    huge = "Rəşad 050 123 45 67 " * (10_000_000 // 20)
    for details in (huge, "x" * (FREE_TEXT_MAX_LENGTH + 1)):
        with pytest.raises(InvalidValue) as caught, vault.unit_of_work() as uow:
            vault.write(
                uow, driver, "orders", {**ORDER, "details": details}, actor=SYSTEM,
                purpose="order_autofill",
            )  # fmt: skip
        message = caught.value.message
        assert "'details'" in message and f"at most {FREE_TEXT_MAX_LENGTH}" in message
        assert "Rəşad" not in message and "xxx" not in message
    with vault.unit_of_work() as uow:
        vault.write(
            uow, driver, "orders", {**ORDER, "details": "x" * FREE_TEXT_MAX_LENGTH}, actor=SYSTEM,
            purpose="order_autofill",
        )  # fmt: skip
    with store.records() as session:
        orders = session.scalar(
            select(func.count()).select_from(Record).where(Record.category == "orders")
        )
    assert orders == 1


def test_other_text_has_a_shorter_default_and_the_policy_can_set_one() -> None:
    text = MINIMAL.read_text(encoding="utf-8")
    policy = parse_policy(text)
    [category] = [c for c in policy.categories if any(f.type == "phone" for f in c.fields)]
    with pytest.raises(InvalidValue, match=f"at most {TEXT_MAX_LENGTH}"):
        normalise_record(category, {"phone": "5" * (TEXT_MAX_LENGTH + 1)}, policy_id="scooter")
    anchor = "        type: phone\n"
    strict = parse_policy(text.replace(anchor, anchor + "        max_length: 13\n"))
    [category] = [c for c in strict.categories if c.id == category.id]
    assert normalise_record(category, {"phone": "+994501234567"}, policy_id="scooter")
    with pytest.raises(InvalidValue, match="at most 13"):
        normalise_record(category, {"phone": "+994 50 123 45 67"}, policy_id="scooter")


@pytest.mark.parametrize(
    "written",
    [
        PAN,
        "4169 7388 1234 5670",
        "4169-7388-1234-5670",
        "4169.7388.1234.5670",
        "4169 7388-1234.5670",
        "4169 - 7388 - 1234 - 5670",
        "4169\u00a07388\u20131234\u202f5670",
        PAN_13,
        PAN_19,
    ],
    ids=["none", "spaces", "dashes", "dots", "mixed", "spaced-dashes", "unicode", "13", "19"],
)
def test_tx_14_a_card_number_with_any_separator_is_refused(
    vault: Vault, store: Store, written: str
) -> None:
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
    with pytest.raises(CardDataRefused) as caught, vault.unit_of_work() as uow:
        vault.write(
            uow, driver, "orders", {**ORDER, "details": f"kartım {written}, ödəyin"},
            actor=SYSTEM, purpose="order_autofill",
        )  # fmt: skip
    assert written[:4] not in caught.value.message
    with store.records() as session:
        assert not session.scalar(
            select(func.count()).select_from(Record).where(Record.category == "orders")
        )


def test_tx_16_a_payout_card_number_with_dots_is_stored_as_digits(vault: Vault) -> None:
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
        vault.write(
            uow,
            driver,
            "payout_accounts",
            {"recipient_full_name": "Məmmədov Rəşad", "card_number": "4169.7388.1234.5670"},
            actor=SYSTEM,
            purpose="payout",
        )
        [record] = vault.read(
            uow,
            driver,
            ["payout_accounts"],
            purpose="payout",
            actor=Actor("po-1", "payout_officer"),
        ).records
    assert record.values["card_number"] == PAN


# ---------------------------------------------------------------------- times


def test_a_time_far_ahead_needs_allow_future_and_a_time_out_of_range_is_refused() -> None:
    from mexfi.cli.options import parse_time

    clock = FixedClock(datetime(2026, 11, 29, 12, 0, tzinfo=UTC))
    soon = (clock.now() + timedelta(hours=23)).isoformat()
    typo = "2062-11-22T10:00:00+04:00"
    assert parse_time(soon, clock=clock) == clock.now() + timedelta(hours=23)
    with pytest.raises(Invalid, match="ahead of the clock") as caught:
        parse_time(typo, clock=clock)
    assert caught.value.hint is not None and "--allow-future" in caught.value.hint
    assert parse_time(typo, clock=clock, allow_future=True) is not None
    for value in ("0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00"):
        with pytest.raises(Invalid, match="outside the years"):
            parse_time(value, clock=clock, allow_future=True)


# ---------------------------------------------------------------------- the CLI


def test_cli_times_out_of_range_or_far_ahead(
    env: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli(monkeypatch, capsys, "keys", "init")[0] == 0
    for now in ("0001-01-01", "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+14:00"):
        code, err = cli(monkeypatch, capsys, "retention", "run", "--now", now)
        assert code == 3 and "internal error" not in err, (now, err)
    typo = "2062-11-22T10:00:00+04:00"
    code, err = cli(monkeypatch, capsys, "retention", "run", "--now", typo)
    assert code == 3 and "ahead of the clock" in err and "--allow-future" in err
    assert cli(monkeypatch, capsys, "retention", "run", "--now", typo, "--dry-run")[0] == 0
    assert cli(monkeypatch, capsys, "retention", "run", "--now", typo, "--allow-future")[0] == 0
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    assert cli(monkeypatch, capsys, "retention", "run", "--now", soon)[0] == 0
    code, err = cli(
        monkeypatch, capsys, "requests", "add", "--policy", "bakikart", "--kind", "access",
        "--phone", "+994 50 123 45 67", "--received-at", typo,
    )  # fmt: skip
    assert code == 3 and "--received-at" in err and "--allow-future" in err


def test_cli_refuses_the_anchor_bomb_and_a_deep_policy(
    env: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (env / "bomb.yaml").write_text(ANCHOR_BOMB, encoding="utf-8")
    (env / "deep.yaml").write_text("a: " + "[" * 5000 + "]" * 5000, encoding="utf-8")
    code, err = cli(monkeypatch, capsys, "policy", "lint", "bomb.yaml")
    assert code == 3 and "bomb.yaml:1" in err and "anchors and aliases" in err
    code, err = cli(monkeypatch, capsys, "policy", "lint", "deep.yaml")
    assert code == 3 and "deep.yaml:1" in err and "nested deeper" in err
    # Every command loads the policy folder: a bomb in it is refused, not expanded.
    folder = env / "policies"
    folder.mkdir()
    (folder / "bomb.yaml").write_text(ANCHOR_BOMB, encoding="utf-8")
    monkeypatch.setenv("MEXFI_POLICY_DIR", str(folder))
    assert cli(monkeypatch, capsys, "keys", "init")[0] == 0
    code, err = cli(monkeypatch, capsys, "requests", "list")
    assert code == 3 and "anchors and aliases" in err


def test_cli_duplicate_policy_ids_name_both_files(
    env: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = env / "policies"
    folder.mkdir()
    shutil.copy(MINIMAL, folder / "a.yaml")
    shutil.copy(MINIMAL, folder / "b.yaml")
    monkeypatch.setenv("MEXFI_POLICY_DIR", str(folder))
    assert cli(monkeypatch, capsys, "keys", "init")[0] == 0
    code, err = cli(monkeypatch, capsys, "requests", "list")
    assert code == 3 and "a.yaml" in err and "b.yaml" in err and "'scooter'" in err


def test_cli_scan_inputs_that_crashed(
    env: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (env / "wide.csv").write_text("id,note\n1," + "x" * 140_000 + "\n", encoding="utf-8")
    code, err = cli(monkeypatch, capsys, "scan", "wide.csv")
    assert code == 3 and "wide.csv:2" in err and "field larger than field limit" in err

    (env / "latin1.jsonl").write_bytes(b'{"id": 1, "text": "ok"}\n{"id": 2, "text": "\xe7ay"}\n')
    for args in (["scan", "--jsonl"], ["scan"], ["redact"]):
        code, err = cli(monkeypatch, capsys, *args, "latin1.jsonl")
        assert code == 3 and "latin1.jsonl:2: not UTF-8" in err, (args, err)

    lines = {
        "surrogate": '{"id": 1, "text": "\\ud800"}',
        "deep": '{"id": 1, "text": "a", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "huge-int": '{"id": ' + "1" * 5000 + ', "text": "a"}',
    }
    for name, line in lines.items():
        (env / f"{name}.jsonl").write_text(line + "\n", encoding="utf-8")
        code, err = cli(monkeypatch, capsys, "scan", "--jsonl", f"{name}.jsonl")
        assert code == 3 and f"{name}.jsonl:1" in err, (name, err)


def test_cli_scan_of_a_database_it_cannot_use(
    env: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # mysql's driver is not installed here; if it were, the server would be unreachable.
    code, err = cli(monkeypatch, capsys, "scan", "--db", "mysql://u@127.0.0.1:1/x", "--table", "t")
    assert code == 5 and "mysql://u@127.0.0.1:1/x" in err and "internal error" not in err
    for url in ("postgresql://u@h:port/x", "postgresql://u@[::1/x", "nodriver://x"):
        code, err = cli(monkeypatch, capsys, "scan", "--db", url, "--table", "t")
        assert code == 3 and "cannot use database URL" in err, (url, err)


def test_cli_refuses_an_argument_too_long_without_echoing_it(
    env: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mexfi.cli.options import MAX_ARGUMENT_LENGTH

    secret = "Məmmədov " * (MAX_ARGUMENT_LENGTH // 9 + 1)
    code, err = cli(
        monkeypatch, capsys, "requests", "add", "--policy", "bakikart", "--kind", "access",
        "--relationship", secret,
    )  # fmt: skip
    assert code == 3 and "argument 8" in err and "Məmmədov" not in err


def test_cli_refuses_an_argument_that_is_not_utf8(
    env: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli(monkeypatch, capsys, "keys", "init")[0] == 0
    # `mexfi requests show $'\xff'`: Python hands the byte over as a lone surrogate.
    code, err = cli(
        monkeypatch, capsys, "requests", "show", b"\xff".decode("utf-8", "surrogateescape")
    )
    assert code == 3 and "argument 3 is not UTF-8" in err


def test_cli_numbers_too_large_and_unusable_paths(
    env: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli(monkeypatch, capsys, "keys", "init")[0] == 0
    huge = "9" * 25  # past SQLite's integers and C's longs: OverflowError before
    for args in (
        ["retention", "status", "--runs", huge],
        ["retention", "run", "--batch-size", huge],
        ["generate", "--days", huge],
    ):
        code, err = cli(monkeypatch, capsys, *args)
        assert code == 2 and "less than or equal to" in err, (args, err)
    # An output folder that cannot be made: FileNotFoundError before.
    code, err = cli(monkeypatch, capsys, "requests", "answer", "f" * 32, "--out", "/proc/answers")
    assert code == 5 and "cannot use /proc/answers" in err
