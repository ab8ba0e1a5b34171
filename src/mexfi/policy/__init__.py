"""Policies as code: the schema, the loader, the linter, the notice renderer, the data map."""

from mexfi.policy.loader import (
    PolicyLoadError,
    bundled_policy_dir,
    load_bundled_policies,
    load_policy,
    parse_policy,
)
from mexfi.policy.schema import Policy

__all__ = [
    "Policy",
    "PolicyLoadError",
    "bundled_policy_dir",
    "load_bundled_policies",
    "load_policy",
    "parse_policy",
]
