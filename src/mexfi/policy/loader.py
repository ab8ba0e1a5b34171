"""Loading policy files: YAML in, a validated `Policy` out, or one clear error.

A malformed policy gets a `PolicyLoadError` whose message names the file, the
line, the field and what was expected, for every problem found, never a bare
traceback. Line numbers come from the YAML node tree, which is composed once
and then constructed, so each validation location maps back to its line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from mexfi.errors import Invalid, NotFound
from mexfi.policy.references import reference_problems
from mexfi.policy.schema import Policy

__all__ = [
    "PolicyLoadError",
    "PolicyProblem",
    "bundled_policy_dir",
    "bundled_policy_paths",
    "load_bundled_policies",
    "load_policy",
    "parse_policy",
]

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class PolicyProblem:
    """One thing wrong with a policy file, located."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class PolicyLoadError(Invalid):
    """A policy file cannot be loaded; `problems` lists every located problem."""

    def __init__(self, problems: list[PolicyProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(
            f"{len(problems)} {noun} in policy {problems[0].file}:\n{lines}",
            hint="fix the policy file at the lines named; `mexfi policy lint --help` "
            "shows the schema's documentation",
        )


def _line_map(node: yaml.Node, loc: Loc = ()) -> dict[Loc, int]:
    """Map each document path to the 1-based line where its value starts."""
    lines: dict[Loc, int] = {loc: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[(*loc, key)] = key_node.start_mark.line + 1
            for sub, line in _line_map(value_node, (*loc, key)).items():
                # The key's own line wins for the mapping entry; deeper paths come from values.
                lines.setdefault(sub, line)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.update(_line_map(item, (*loc, index)))
    return lines


def _nearest_line(lines: dict[Loc, int], loc: Loc) -> int | None:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def _expected(error: dict[str, Any]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key: not part of the policy schema (check its spelling)"
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"])
    if kind.endswith("_type") or kind in {"literal_error", "enum", "string_pattern_mismatch"}:
        return f"expected {message[0].lower()}{message[1:]}; got {error.get('input')!r}"
    return message.removeprefix("Value error, ")


def parse_policy(text: str, *, file: str = "<policy>") -> Policy:
    """Parse policy YAML text; raise `PolicyLoadError` naming each problem's line and field."""
    try:
        node = yaml.compose(text, Loader=_UniqueKeyLoader)
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise PolicyLoadError(
            [PolicyProblem(file, line, "", f"not valid YAML: {exc.problem or exc}")]
        ) from None
    if node is None or not isinstance(data, dict):
        raise PolicyLoadError(
            [PolicyProblem(file, 1, "", "expected a mapping with keys policy, operator, ...")]
        )
    lines = _line_map(node)
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc: Loc = tuple(error["loc"])
            # A model-level validator reports at the model; its keys may be nested one deeper.
            problems.append(
                PolicyProblem(file, _nearest_line(lines, loc), _dotted(loc), _expected(dict(error)))
            )
        raise PolicyLoadError(problems) from None
    located = [
        PolicyProblem(file, _nearest_line(lines, loc), _dotted(loc), message)
        for loc, message in reference_problems(policy)
    ]
    if located:
        raise PolicyLoadError(located)
    return policy


def load_policy(path: str | os.PathLike[str]) -> Policy:
    """Load and validate one policy file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(
            f"policy file {path} does not exist",
            hint="bundled policies are in the policies/ folder of the repository",
        ) from None
    except UnicodeDecodeError as exc:
        raise PolicyLoadError(
            [PolicyProblem(str(path), None, "", f"not UTF-8 text ({exc.reason})")]
        ) from None
    return parse_policy(text, file=str(path))


def bundled_policy_dir() -> Path:
    """Where the operator policies live: `MEXFI_POLICY_DIR`, else the repository's policies/."""
    configured = os.environ.get("MEXFI_POLICY_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "policies"


def bundled_policy_paths() -> list[Path]:
    directory = bundled_policy_dir()
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise NotFound(
            f"no policy files (*.yaml) in {directory}",
            hint="set MEXFI_POLICY_DIR to the folder holding the operators' policies",
        )
    return paths


def load_bundled_policies() -> dict[str, Policy]:
    """Every policy of the policy folder, by policy id."""
    policies: dict[str, Policy] = {}
    for path in bundled_policy_paths():
        policy = load_policy(path)
        policies[policy.id] = policy
    return policies
