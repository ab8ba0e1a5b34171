"""`mexfi audit`: verify the tamper-evident audit log and read its entries."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from mexfi.audit import AuditAction
from mexfi.cli.options import OutputFormat
from mexfi.cli.output import err, out

if TYPE_CHECKING:
    from mexfi.audit import VerifyReport
    from mexfi.db import Store

__all__ = ["audit_app"]

audit_app = typer.Typer(
    help="The audit log of every operation on personal data: verify its hash chain, "
    "signed checkpoints and anchor file (TX-4.2), read its entries (TX-3.4).",
    no_args_is_help=True,
)


FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="text for people, json for tools.")
]


def _open() -> Store:
    """The records store from the environment, checked to hold the audit tables.

    Only the records database is opened: an auditor may hold it and nothing else.
    """
    import os

    from sqlalchemy import inspect

    from mexfi.db import Store, StoreConfig, StoreNotFound, store_presence
    from mexfi.errors import Invalid, Unavailable

    try:
        config = StoreConfig.from_env()
    except Invalid:
        # A SQLite records file without a key store: fine here, the key store is not read.
        config = StoreConfig(records_url=os.environ["MEXFI_DATABASE_URL"], keys_url="sqlite://")
    # Nothing is created where no store is: only `mexfi init` creates one.
    presence = store_presence(config, keys=False)
    if not presence.records:
        raise StoreNotFound(
            f"no mexfi records database (and so no audit log) at {presence.records_url}",
            hint="point MEXFI_DATA_DIR or MEXFI_DATABASE_URL at the store; `mexfi init` "
            "creates a new one (nothing was created)",
        )
    store = Store(config)
    try:
        with store.records_engine.connect() as connection:
            has_log = inspect(connection).has_table("audit_entries")
    except Exception as exc:
        store.dispose()
        url = store.records_engine.url.render_as_string(hide_password=True)
        raise Unavailable(
            f"the records database at {url} cannot be reached ({type(exc).__name__})",
            hint="check MEXFI_DATABASE_URL and that the server runs",
        ) from exc
    if not has_log:
        store.dispose()
        raise Unavailable(
            "the records database has no audit log",
            hint="run `mexfi db upgrade` to create the schema",
        )
    return store


def _wrapped(text: str, indent: str) -> str:
    """`text` wrapped to fit 80 columns after `indent`."""
    return textwrap.fill(
        text, width=80, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
    )


@audit_app.command("verify")
def verify_command(
    format: FormatOption = OutputFormat.text,
    public_key: Annotated[
        str | None,
        typer.Option(
            "--public-key",
            "-k",
            metavar="PATH_OR_BASE64",
            help="The audit public key: a .pub file or its base64. Default: "
            "MEXFI_AUDIT_PUBLIC_KEY, the .pub beside the audit key file, or the signing key's.",
            show_default=False,
        ),
    ] = None,
    anchor: Annotated[
        Path | None,
        typer.Option(
            "--anchor",
            help="The anchor file to compare the store with. Default: MEXFI_AUDIT_ANCHOR, "
            "else <data dir>/audit-anchor.jsonl.",
            show_default=False,
            dir_okay=False,
        ),
    ] = None,
    checkpoint_every: Annotated[
        int | None,
        typer.Option(
            "--checkpoint-every",
            hidden=True,
            help="Ignored: checkpoints carry their own interval.",
        ),
    ] = None,
) -> None:
    """Walk the hash chain, the signed checkpoints and the anchor file; exit 1 if tampered.

    Needs the records database and the audit public key only: no key file, no master key.
    """
    from mexfi.audit import AuditAnchor, verify_log
    from mexfi.errors import NotFound
    from mexfi.secrets import load_audit_public_key

    key = load_audit_public_key(public_key)
    if anchor is not None and not anchor.is_file():
        raise NotFound(f"no anchor file at {anchor}", hint="give the path of audit-anchor.jsonl")
    anchor_file = AuditAnchor(anchor) if anchor is not None else AuditAnchor.from_env()
    store = _open()
    try:
        with store.records() as session:
            report = verify_log(session, public_key=key, anchor=anchor_file)
    finally:
        store.dispose()
    if checkpoint_every is not None:
        err.print("--checkpoint-every is ignored: checkpoints carry their own interval")

    if format is OutputFormat.json:
        out.print_json(report.model_dump_json())
    else:
        _print_report(report)
    if not report.ok:
        err.print(
            f"[bold red]the audit log was tampered with[/]: {len(report.problems)} "
            f"problem{'' if len(report.problems) == 1 else 's'}"
        )
        raise typer.Exit(1)


def _print_report(report: VerifyReport) -> None:
    """The report for people: a few facts, the notes, each problem wrapped to 80 columns."""
    head = "none" if report.head_seq is None else f"entry {report.head_seq}"
    signed = "none" if report.signed_seq is None else f"entry {report.signed_seq}"
    if report.anchor_ordinal is None:
        anchored = "none"
    else:
        anchored = (
            f"checkpoint {report.anchor_ordinal} at entry {report.anchored_seq} "
            f"({report.anchor_lines} lines)"
        )
    out.print(f"entries checked:     {report.checked}")
    out.print(f"checkpoints checked: {report.checkpoints}")
    out.print(f"head:                {head}")
    out.print(f"signed up to:        {signed}")
    out.print(f"anchored:            {escape(anchored)}")
    for note in report.notes:
        out.print(f"[dim]{escape(_wrapped('note: ' + note, ''))}[/]")
    if report.ok:
        out.print("[green]audit log intact[/]: no sign of tampering")
        return
    count = len(report.problems)
    out.print(f"[bold]{count} problem{'' if count == 1 else 's'}[/]")
    for problem in report.problems:
        where = "-" if problem.seq is None else str(problem.seq)
        out.print(f"{where:>8}  [red]{problem.kind.value}[/]")
        out.print(escape(_wrapped(problem.message, " " * 10)))


@audit_app.command("checkpoint")
def checkpoint_command() -> None:
    """Sign a checkpoint over the log's head now, and anchor it.

    Every commit signs one by itself; this seals a log last written before that was so.
    Needs the audit signing key (MEXFI_AUDIT_SIGNING_KEY or the audit key file) only.
    """
    from mexfi.audit import AuditAnchor, AuditLog, verify_log
    from mexfi.secrets import load_audit_signing_key

    log = AuditLog(signing_key=load_audit_signing_key(), anchor=AuditAnchor.from_env())
    store = _open()
    try:
        with store.records() as session:
            report = verify_log(session, public_key=log.public_key, anchor=log.anchor)
            # Signing a tampered log would vouch for what was done to it.
            made = log.checkpoint(session) if report.ok else None
    finally:
        store.dispose()
    if not report.ok:
        _print_report(report)
        err.print(
            "[bold red]not signed[/]: the audit log fails verification, and a checkpoint "
            "now would vouch for what was done to it"
        )
        raise typer.Exit(1)
    if made is None:
        out.print("the audit log is empty: nothing to sign")
        return
    name = "a legacy checkpoint" if made.ordinal is None else f"checkpoint {made.ordinal}"
    where = f"; anchored in {log.anchor.path}" if log.anchor and made.ordinal else ""
    out.print(
        f"entry {made.seq}, the head, is signed by {name} "
        f"(signed {made.at:%Y-%m-%dT%H:%M:%SZ}){where}"
    )


_PSEUDONYM = re.compile(r"ps_[0-9a-f]{24}")


def _pseudonym_of(ref: str) -> str:
    """The audit log's name (pseudonym) of the subject `ref` names: a pseudonym is used as it
    is (an auditor holds no key file); a subject id or a phone is resolved through the
    store and its keys (`mexfi.cli.subjects.resolve_subject`)."""
    from mexfi.cli.context import open_vault
    from mexfi.cli.subjects import resolve_subject
    from mexfi.errors import Invalid

    text = ref.strip()
    if _PSEUDONYM.fullmatch(text):
        err.print(f"entries about pseudonym {text}")
        return text
    if text.startswith("ps_"):
        raise Invalid(
            "--subject starts like a pseudonym but is not one",
            hint="a pseudonym is ps_ and 24 hex digits; a subject id is 32 hex digits",
        )
    with open_vault() as vault, vault.unit_of_work() as uow:
        return resolve_subject(vault, uow, text).pseudonym


@audit_app.command("show")
def show_command(
    subject: Annotated[
        str | None,
        typer.Option(
            "--subject",
            "-s",
            help="Only entries about this subject: its id, pseudonym (ps_…) or phone. A "
            "pseudonym needs no key file.",
        ),
    ] = None,
    by_actor: Annotated[
        str | None,
        # A filter, not who acts: MEXFI_ACTOR does not set it.
        typer.Option("--actor", help="Only entries by this actor id (e.g. dpo-1)."),
    ] = None,
    action: Annotated[
        list[str] | None,
        typer.Option(
            "--action",
            help="Only entries of this action (repeatable): "
            + ", ".join(a.value for a in AuditAction)
            + ".",
        ),
    ] = None,
    purpose: Annotated[
        str | None, typer.Option("--purpose", help="Only entries for this purpose id.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only entries at or after this time (ISO 8601, a zone)."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="Only entries before this time (ISO 8601, a zone)."),
    ] = None,
    limit: Annotated[
        int,
        typer.Option(
            "--limit", "-n", min=1, max=1_000_000, help="Show the newest N matching entries."
        ),
    ] = 50,
    format: FormatOption = OutputFormat.text,
) -> None:
    """Print audit entries, oldest first: who did what to which subject's data, and why.

    Every filter given must match. A --subject id or phone also needs the key file.
    """
    from mexfi.audit import read_entries
    from mexfi.cli.options import parse_time
    from mexfi.errors import Invalid

    # Reading the log changes nothing: any time may be asked about.
    start = parse_time(since, "--since", allow_future=True)
    stop = parse_time(until, "--until", allow_future=True)
    if start is not None and stop is not None and stop <= start:
        raise Invalid("--until is not after --since", hint="the range is since <= at < until")
    known = [a.value for a in AuditAction]
    unknown = [a for a in action or [] if a not in known]
    if unknown:
        raise Invalid(
            f"--action {unknown[0]!r} is not an audit action", hint=f"actions: {', '.join(known)}"
        )
    pseudonym = _pseudonym_of(subject) if subject is not None else None
    store = _open()
    try:
        with store.records() as session:
            entries = read_entries(
                session,
                subject=pseudonym,
                actions=action or None,
                actor=by_actor,
                purpose=purpose,
                since=start,
                until=stop,
                limit=limit,
            )
    finally:
        store.dispose()

    if format is OutputFormat.json:
        out.print_json(json.dumps([entry.model_dump(mode="json") for entry in entries]))
        return
    if not entries:
        err.print("no audit entries match")
        return
    # One line an entry, key=value: greppable, and no table squeezed to the terminal's width.
    for entry in entries:
        fields = [
            f"{entry.seq:>7}",
            entry.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            f"{entry.actor_id} ({entry.actor_role})",
            f"{entry.action.value}/{entry.outcome.value}",
        ]
        for name, value in (
            ("subject", entry.subject),
            ("purpose", entry.purpose),
            ("policy", entry.policy_id),
            ("categories", ",".join(entry.categories)),
            ("clauses", ",".join(entry.clauses)),
            ("count", str(entry.count) if entry.count != 1 else None),
            ("subjects", str(len(entry.subjects)) if entry.subjects else None),
            ("reason", entry.reason),
            ("ref", entry.reference),
        ):
            if value:
                fields.append(f"{name}={value}")
        out.print(escape("  ".join(fields)))
