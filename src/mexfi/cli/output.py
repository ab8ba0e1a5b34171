"""Where the CLI writes: data on stdout, messages on stderr."""

from __future__ import annotations

from rich.console import Console

__all__ = ["err", "out"]

#: Data the user asked for (reports, JSON): pipe-able.
out = Console(highlight=False, soft_wrap=True)
#: Messages, progress and errors.
err = Console(stderr=True, highlight=False)
