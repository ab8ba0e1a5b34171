"""Opening the running system for a command: see `mexfi.runtime`, where it lives so that the
HTTP API opens the store the same way without importing the CLI."""

from __future__ import annotations

from mexfi.runtime import (
    POINT_ELSEWHERE,
    load_policies_each,
    open_vault,
    require_store,
    store_places,
)

__all__ = ["POINT_ELSEWHERE", "load_policies_each", "open_vault", "require_store", "store_places"]
