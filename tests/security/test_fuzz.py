"""Issue 10, item 6: the policy loader and the vault's write path, fuzzed.

Whatever comes in, what goes out is a value or an error of the `mexfi.errors` tree, never
another exception (which the CLI reports as internal error 70). Hypothesis runs
derandomized (the same examples every run) and bounded by `max_examples`.
"""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from mexfi.errors import MexfiError
from mexfi.policy import Policy, lint_policy, parse_policy
from mexfi.vault import Vault
from tests.vault.conftest import SYSTEM
from tests.vault.test_vault import register_driver

MINIMAL_TEXT = (
    Path(__file__).resolve().parents[1] / "fixtures" / "policies" / "minimal.yaml"
).read_text(encoding="utf-8")
MINIMAL_LINES = MINIMAL_TEXT.splitlines(keepends=True)
MINIMAL_DATA = yaml.safe_load(MINIMAL_TEXT)

FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    # No shrinking: it can take minutes; the failing example is printed as found.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: Characters YAML and JSON make special, and lone surrogates that UTF-8 cannot encode.
_TRICKY = st.sampled_from(
    [*"&*!|>-:?[]{},#%@`'\"\\\t\n\r\x00\x01\x85\u2028\ufeff", "\ud800", "\udfff"]
)
_TEXT = st.text(st.one_of(st.characters(), _TRICKY), max_size=40)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**30, max_value=10**60),
    st.floats(),
    st.decimals(allow_nan=True),
    _TEXT,
    st.binary(max_size=40),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=st.timezones()),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=6,
)


def _loads_or_refuses(text: str) -> None:
    """The loader's contract: a `Policy` (the linter then runs on it) or a `MexfiError`."""
    try:
        policy = parse_policy(text, file="fuzz.yaml")
    except MexfiError:
        return
    assert isinstance(policy, Policy)
    lint_policy(policy)


# ---------------------------------------------------------------------- the loader


@FUZZ
@given(st.text(st.one_of(st.characters(), _TRICKY), max_size=400))
def test_any_text_loads_or_is_refused(text: str) -> None:
    _loads_or_refuses(text)


@st.composite
def _edited_minimal(draw: st.DrawFn) -> str:
    """The minimal policy with a few lines deleted, doubled, moved or rewritten."""
    lines = list(MINIMAL_LINES)
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["delete", "double", "move", "rewrite", "insert"]))
        if edit == "delete":
            del lines[index]
        elif edit == "double":
            lines.insert(index, lines[index])
        elif edit == "move":
            lines.insert(draw(st.integers(0, len(lines) - 1)), lines.pop(index))
        else:
            indent = draw(st.sampled_from(["", "  ", "    ", "      "]))
            line = indent + draw(_TEXT).replace("\n", " ") + "\n"
            if edit == "rewrite":
                lines[index] = line
            else:
                lines.insert(index, line)
    return "".join(lines)


@FUZZ
@given(_edited_minimal())
def test_an_edited_policy_loads_or_is_refused(text: str) -> None:
    _loads_or_refuses(text)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


MINIMAL_PATHS = _paths(MINIMAL_DATA)[1:]


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(MINIMAL_PATHS), _VALUES), min_size=1, max_size=3))
def test_a_policy_with_values_of_any_type_loads_or_is_refused(
    replacements: list[tuple[tuple[Any, ...], Any]],
) -> None:
    data = copy.deepcopy(MINIMAL_DATA)
    for path, value in replacements:
        node = data
        try:
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed the path
    try:
        text = yaml.safe_dump(data, allow_unicode=True)
    except yaml.YAMLError:
        return  # the value (a lone surrogate) cannot even be written as YAML
    _loads_or_refuses(text)


# ---------------------------------------------------------------------- the write path

#: A driver's order that the vault stores; each attempt changes a few of its fields.
ORDER = {
    "started_at": "2026-03-02T10:00:00+04:00",
    "pickup_address": "Nizami küç. 45",
    "destination_address": "Azadlıq pr. 12",
    "tariff": "comfort",
    "payment_method": "card",
    "details": "podyezd 2",
}
_NAMES = st.one_of(st.sampled_from([*ORDER, "photo", "card_number"]), _TEXT)


@st.composite
def _writes(draw: st.DrawFn) -> tuple[str, dict[str, Any], str | None]:
    """(category, values, subject id or None for the registered driver)."""
    category = draw(st.one_of(st.just("orders"), st.just("payout_accounts"), _TEXT))
    values: dict[str, Any] = dict(ORDER)
    for name in draw(st.lists(st.sampled_from(list(ORDER)), max_size=2)):
        values.pop(name, None)
    values.update(draw(st.dictionaries(_NAMES, st.one_of(_VALUES, _TEXT), max_size=3)))
    subject = draw(st.one_of(st.none(), st.none(), _TEXT))
    return category, values, subject


def test_any_write_is_stored_or_refused(vault: Vault) -> None:
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
    outcomes: Counter[str] = Counter()

    @FUZZ
    @given(_writes())
    def write(attempt: tuple[str, dict[str, Any], str | None]) -> None:
        category, values, subject = attempt
        try:
            with vault.unit_of_work() as uow:
                vault.write(
                    uow, subject or driver, category, values, actor=SYSTEM,
                    purpose="order_autofill",
                )  # fmt: skip
        except MexfiError as exc:
            outcomes[type(exc).__name__] += 1
        else:
            outcomes["stored"] += 1

    write()
    # Both ways out were taken: the fuzzer got past the first refusal into sealing.
    assert outcomes["stored"] and sum(outcomes.values()) > outcomes["stored"], outcomes
