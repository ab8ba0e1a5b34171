"""Loading policy files: YAML in, a validated `Policy` out, or one clear error.

A malformed policy gets a `PolicyLoadError` whose message names the file, the
line, the field and what was expected, for every problem found, never a bare
traceback. Line numbers come from the YAML node tree, which is composed once
and then constructed, so each validation location maps back to its line.

A policy file is input an attacker may write: the loader refuses anchors and
aliases (an alias bomb of a few hundred bytes expands to gigabytes), files over
`MAX_POLICY_BYTES` and nesting deeper than `MAX_POLICY_DEPTH`, each with a line.
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
    "MAX_POLICY_BYTES",
    "MAX_POLICY_DEPTH",
    "PolicyLoadError",
    "PolicyProblem",
    "bundled_policy_dir",
    "bundled_policy_paths",
    "load_bundled_policies",
    "load_policy",
    "parse_policy",
]

Loc = tuple[str | int, ...]

#: The bundled policies are under 50 kB; a policy ten times larger is not a policy.
MAX_POLICY_BYTES = 512 * 1024
#: The bundled policies nest 6 levels deep; the composer recurses once per level, so a
#: bound well under Python's recursion limit turns a deep file into an error, not a crash.
MAX_POLICY_DEPTH = 32


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


class _PolicyYamlLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases, deep nesting, non-scalar keys and a key
    given twice in one mapping; a value the constructor cannot build is a located error."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        mark = event.start_mark
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(
                None,
                None,
                "anchors and aliases (&name, *name) are not allowed in a policy; "
                "write each value out",
                mark,
            )
        if not isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_POLICY_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"nested deeper than {MAX_POLICY_DEPTH} levels", mark
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError, KeyError, AttributeError, TypeError) as exc:
            # PyYAML's safe constructors raise these on a value its tag cannot hold:
            # `2026-02-30`, an integer of 5000 digits, `!!bool maybe`, `!!timestamp x`.
            raise yaml.constructor.ConstructorError(
                None, None, f"not a valid {node.tag.rpartition(':')[2]} value", node.start_mark
            ) from exc


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(
                None,
                None,
                "a key must be a plain name, not a list or a mapping",
                key_node.start_mark,
            )
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_PolicyYamlLoader.add_constructor(
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
    if len(text) > MAX_POLICY_BYTES:
        raise PolicyLoadError([_too_large(file)])
    loader: _PolicyYamlLoader | None = None
    try:
        loader = _PolicyYamlLoader(text)
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise PolicyLoadError(
            [PolicyProblem(file, line, "", f"not valid YAML: {exc.problem or exc}")]
        ) from None
    except yaml.YAMLError as exc:
        # The reader's errors (a control character, say) carry a position, not a mark.
        raise PolicyLoadError([PolicyProblem(file, None, "", f"not valid YAML: {exc}")]) from None
    finally:
        if loader is not None:
            loader.dispose()
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


def _too_large(file: str) -> PolicyProblem:
    return PolicyProblem(file, None, "", f"larger than {MAX_POLICY_BYTES // 1024} KiB")


def load_policy(path: str | os.PathLike[str]) -> Policy:
    """Load and validate one policy file."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            # Read one byte past the cap, so a huge file is refused without being read.
            raw = handle.read(MAX_POLICY_BYTES + 1)
    except FileNotFoundError:
        raise NotFound(
            f"policy file {path} does not exist",
            hint="bundled policies are in the policies/ folder of the repository",
        ) from None
    except OSError as exc:
        raise PolicyLoadError(
            [PolicyProblem(str(path), None, "", f"cannot be read ({exc.strerror})")]
        ) from None
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyLoadError([_too_large(str(path))])
    try:
        text = raw.decode("utf-8")
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
    """Every policy of the policy folder, by policy id; two files with one id are an error."""
    policies: dict[str, Policy] = {}
    files: dict[str, Path] = {}
    for path in bundled_policy_paths():
        policy = load_policy(path)
        first = files.setdefault(policy.id, path)
        if first != path:
            raise PolicyLoadError(
                [
                    PolicyProblem(
                        str(path),
                        None,
                        "policy.id",
                        f"policy id {policy.id!r} is already the id of {first}",
                    )
                ]
            )
        policies[policy.id] = policy
    return policies
