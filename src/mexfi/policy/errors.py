"""Errors of the policy capability.

MexfiError
├── NotFound
│   ├── PolicyNotFound   no policy with that id is loaded
│   └── NotDeclared      a policy does not declare the category, purpose, role, … named
└── Invalid
    └── PolicyLoadError  (loader.py) a policy file cannot be loaded
"""

from __future__ import annotations

from mexfi.errors import NotFound

__all__ = ["NotDeclared", "PolicyNotFound"]


class PolicyNotFound(NotFound):
    """No policy with that id is loaded."""


class NotDeclared(NotFound):
    """The policy does not declare the element named (a category, purpose, role, recipient)."""

    def __init__(self, kind: str, element_id: str, policy_id: str, declared: list[str]) -> None:
        super().__init__(
            f"{kind} {element_id!r} is not declared in policy {policy_id!r}",
            hint=f"declared: {', '.join(declared) or 'none'}",
        )
        self.kind = kind
        self.element_id = element_id
        self.policy_id = policy_id
