"""The anchor file: the log's signed head, written outside the records database as well.

Whoever can rewrite the records database can cut its tail back together with the head
row and the checkpoints, or restore an older copy, and the database alone would look
whole. After every commit that ended with a checkpoint, the audit log appends that
checkpoint as one line (see `mexfi.audit.chain` for its form) to a file kept elsewhere:
`MEXFI_AUDIT_ANCHOR`, ideally a write-once or append-only volume, by default
`<data dir>/audit-anchor.jsonl`. `verify_log` compares the store with the latest line
that verifies.

Writing: one `write` of the whole line to a descriptor opened with `O_APPEND`, then
`fsync`. Concurrent writers therefore never overwrite each other; their lines may land
out of order, which readers allow for by ordering on `ordinal`. A crash can leave a torn
last line (no newline): readers skip it, and a line glued after such a fragment is still
read. A failed write is logged, not raised: the records have committed by then, and the
next commit's line vouches for them too.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from mexfi.audit.chain import Checkpoint
from mexfi.db import data_dir

__all__ = ["AnchorRead", "AuditAnchor", "default_anchor_path"]

_log = logging.getLogger("mexfi.audit")

ANCHOR_ENV = "MEXFI_AUDIT_ANCHOR"


def default_anchor_path() -> Path:
    """`MEXFI_AUDIT_ANCHOR`, else `<data dir>/audit-anchor.jsonl`."""
    configured = os.environ.get(ANCHOR_ENV)
    return Path(configured) if configured else data_dir() / "audit-anchor.jsonl"


@dataclass
class AnchorRead:
    """What an anchor file holds: its checkpoints by line number, and what could not be read."""

    path: Path
    lines: list[tuple[int, Checkpoint]] = field(default_factory=list)
    #: Line numbers (1-based) that hold no checkpoint: torn writes, or damage.
    unreadable: list[int] = field(default_factory=list)
    #: Line numbers whose checkpoint follows the fragment of a write torn by a crash.
    fragments: list[int] = field(default_factory=list)
    #: The file ends without a newline: the last write was cut short (a crash).
    torn_tail: bool = False


class AuditAnchor:
    """An append-only JSON-lines file of signed checkpoints, one per committed unit of work."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @classmethod
    def from_env(cls) -> AuditAnchor:
        """The anchor file the environment configures (see `default_anchor_path`)."""
        return cls(default_anchor_path())

    def __repr__(self) -> str:
        return f"AuditAnchor({str(self.path)!r})"

    def append(self, checkpoint: Checkpoint) -> bool:
        """Append `checkpoint`'s line durably; False (and a logged warning) if it failed."""
        line = checkpoint.anchor_line()
        try:
            # Owner only, like the stores beside it; auditors are given a copy.
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                written = os.write(fd, line)
                # A short write happens only when the disk is full; finish the line rather
                # than leave a fragment that the next writer's line would be glued to.
                while written < len(line):
                    written += os.write(fd, line[written:])
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            _log.warning(
                "could not append checkpoint %s to the audit anchor file %s (%s)",
                checkpoint.ordinal,
                self.path,
                exc.strerror or type(exc).__name__,
            )
            return False
        return True

    def read(self) -> AnchorRead:
        """Every checkpoint in the file; raises `FileNotFoundError` when there is none."""
        data = self.path.read_bytes()
        found = AnchorRead(self.path)
        chunks = data.split(b"\n")
        if chunks and chunks[-1] == b"":
            chunks.pop()
        elif chunks:
            # No final newline: the last write was torn by a crash. Skip it.
            chunks.pop()
            found.torn_tail = True
        for number, chunk in enumerate(chunks, start=1):
            text = chunk.decode("utf-8", errors="replace")
            checkpoint = Checkpoint.from_anchor_line(text)
            if checkpoint is None:
                # A torn fragment with the next writer's line glued on: read that line.
                start = text.rfind('{"hash"')
                if start > 0:
                    checkpoint = Checkpoint.from_anchor_line(text[start:])
                (found.fragments if checkpoint is not None else found.unreadable).append(number)
            if checkpoint is not None:
                found.lines.append((number, checkpoint))
        return found
