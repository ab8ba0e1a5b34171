"""The shape of the code: capabilities meet only at their faces, data flows one way, and only
the vault touches keys and ciphertext.

Each capability (`mexfi.vault`, `mexfi.policy`, …) is a package whose `__init__` is its
public face. Code outside a capability imports that face and nothing behind it; no
capability imports the CLI (data flows cli → capability → store); only `mexfi/vault/crypto.py`
imports a cipher. Infrastructure modules (`mexfi.db`, `mexfi.clock`, `mexfi.errors`,
`mexfi.secrets`, `mexfi.migrations`, `mexfi.runtime`, `mexfi.deps`) are shared by all. A front
(`mexfi.api`) may also import a capability's `views` (its HTTP router) to mount it, and the
client (`mexfi.client`) its views' schemas. The operators' reference apps
(`mexfi/services/<operator>/flows.py`) are fronts too: they use the API through the client,
and other fronts (`mexfi demo`, the benchmark) run them.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "mexfi"
INFRASTRUCTURE = {
    "db",
    "clock",
    "errors",
    "secrets",
    "migrations",
    "runtime",
    "deps",
    "__main__",
    "__init__",
}
#: The faces people and programs use; no capability imports them.
FRONTS = {"cli", "api", "web", "client"}
#: The reference apps: front modules inside a capability (`mexfi.services.bakikart.flows`).
APPS = "flows"
CIPHERS = ("cryptography.hazmat.primitives.ciphers",)


def _capabilities(root: Path) -> set[str]:
    return {
        path.name
        for path in root.iterdir()
        if path.is_dir()
        and (path / "__init__.py").exists()
        and path.name not in INFRASTRUCTURE | FRONTS
    }


def _module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _face_names(name: str) -> set[str]:
    if not name.startswith("mexfi.") or name.count(".") != 1:
        return set()
    try:
        return set(getattr(importlib.import_module(name), "__all__", ()))
    except ImportError:
        return set()


def _is_module(name: str) -> bool:
    if not name.startswith("mexfi."):
        return False
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # the parent is a module, not a package
        return False


def _imports(root: Path, path: Path) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of every module `path` imports, `from x import y` as `x.y` when
    `x.y` is a module, else as `x` (lazy imports inside functions included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = _module_name(root, path)
    package = name.rsplit(".", 1)[0] if path.name != "__init__.py" else None
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = (package or name).split(".")
                base = ".".join(anchor[: len(anchor) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                # A name the face exports is the face's, even where a module shares it.
                exported = alias.name in _face_names(base)
                yield node.lineno, candidate if _is_module(candidate) and not exported else base


def _violations(root: Path = SRC) -> Iterator[str]:
    capabilities = _capabilities(root)
    for path in sorted(root.rglob("*.py")):
        name = _module_name(root, path)
        parts = name.split(".")
        home = parts[1] if len(parts) > 1 else ""
        app = parts[-1] == APPS
        where = f"{path.relative_to(root.parent)}"
        for line, imported in _imports(root, path):
            if imported.startswith(CIPHERS) and name != "mexfi.vault.crypto":
                yield f"{where}:{line} imports a cipher ({imported}): only mexfi.vault.crypto may"
            target = imported.split(".")
            if target[0] != "mexfi" or len(target) < 2:
                continue
            other = target[1]
            if other in FRONTS and home not in FRONTS and home != "__main__" and not app:
                yield f"{where}:{line} imports {imported}: a capability never imports the {other}"
            # A front mounts a capability's router: `views` is the one module behind a face
            # it may import (the face does not import its views, so no cycle).
            mounts = (home in FRONTS or app) and target[2:] == ["views"]
            runs = (home in FRONTS or app) and target[-1] == APPS
            behind = other in capabilities and other != home and len(target) > 2
            if behind and not mounts and not runs:
                yield (
                    f"{where}:{line} imports {imported}: outside mexfi.{other}, only its face "
                    f"`mexfi.{other}` may be imported"
                )


def test_capabilities_meet_only_at_their_faces() -> None:
    assert sorted(set(_violations())) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from mexfi.vault.models import Record\n", "only its face `mexfi.vault`"),
        ("import mexfi.audit.service\n", "only its face `mexfi.audit`"),
        ("from mexfi.vault import keys\n", "only its face `mexfi.vault`"),
        ("from mexfi.cli.output import out\n", "never imports the cli"),
        ("from cryptography.hazmat.primitives.ciphers.aead import AESGCM\n", "cipher"),
        ("from mexfi.vault.views import router\n", "only its face `mexfi.vault`"),
    ],
)
def test_the_rule_catches_each_kind_of_breach(source: str, expected: str, tmp_path: Path) -> None:
    # A copy of the package's layout with one module of the retention capability that
    # breaks the rule, checked like the real tree.
    root = tmp_path / "mexfi"
    for capability in ("retention", "vault", "audit", "cli"):
        (root / capability).mkdir(parents=True)
        (root / capability / "__init__.py").write_text("", encoding="utf-8")
    (root / "retention" / "service.py").write_text(source, encoding="utf-8")
    found = sorted(set(_violations(root)))
    assert len(found) == 1 and expected in found[0], found


def test_a_front_may_mount_a_capabilitys_views_and_nothing_else_behind_it(tmp_path: Path) -> None:
    root = tmp_path / "mexfi"
    for package in ("vault", "api"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("", encoding="utf-8")
    (root / "api" / "app.py").write_text(
        "from mexfi.vault.views import router\nfrom mexfi.vault.models import Record\n",
        encoding="utf-8",
    )
    found = sorted(set(_violations(root)))
    assert len(found) == 1 and "mexfi.vault.models" in found[0], found
