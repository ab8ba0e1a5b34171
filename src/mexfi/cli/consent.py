"""`mexfi consent`: the consent ledger: a subject's choices and history, the ledger's
verification, rebuilding its current-state table, the counts of refused sends."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from mexfi.cli.context import open_vault
from mexfi.cli.options import OutputFormat
from mexfi.cli.output import err, listing, out, when

if TYPE_CHECKING:
    from mexfi.consent import ConsentEntry, LedgerVerification

__all__ = ["consent_app"]

consent_app = typer.Typer(
    help="The consent ledger: who chose what about which notice, when and how (issue 13; "
    "TX-2, BK-1.2, BK-6.1, TX-12, TX-18): read it, verify its hash chain, rebuild its state.",
    no_args_is_help=True,
)

Format = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="text for people, json for tools.")
]
SubjectRef = Annotated[
    str,
    typer.Argument(help="Subject id, pseudonym (ps_…) or phone.", show_default=False),
]
PolicyOption = Annotated[
    str | None, typer.Option("--policy", help="Look a phone up in this policy only.")
]


def _entry_dict(entry: ConsentEntry) -> dict[str, Any]:
    return entry.model_dump(mode="json")


def _entries_table(title: str, entries: list[ConsentEntry]) -> None:
    table = listing(title)
    for column in ("seq", "recorded", "notice", "choice", "method", "source", "lang"):
        table.add_column(column)
    for e in entries:
        table.add_row(
            str(e.seq),
            when(e.recorded_at),
            escape(f"{e.kind.value}:{e.notice}"),
            e.choice.value,
            e.method.value,
            e.source.value,
            e.language,
        )
    out.print(table)


@consent_app.command("show")
def show_command(
    ref: SubjectRef, policy: PolicyOption = None, format: Format = OutputFormat.text
) -> None:
    """A subject's current choices, push preferences and policy acceptance.

    Explicit choices come from the ledger; push preferences include the policy's defaults
    (BK-6.1).
    """
    from mexfi.cli.subjects import resolve_subject
    from mexfi.consent import NoticeKind, current_state, is_allowed, notification_preferences

    with open_vault() as vault, vault.unit_of_work() as uow:
        subject = resolve_subject(vault, uow, ref, policy_id=policy)
        rules = vault.policy(subject.policy_id)
        state = current_state(uow, policy_id=subject.policy_id, holder=subject.pseudonym)
        pushes = notification_preferences(uow, policy=rules, holder=subject.pseudonym)
        version = rules.policy.version
        accepted = is_allowed(
            uow, policy=rules, holder=subject.pseudonym, kind=NoticeKind.POLICY, notice=version
        )
    if format is OutputFormat.json:
        document = {
            "subject_id": subject.id,
            "pseudonym": subject.pseudonym,
            "policy_id": subject.policy_id,
            "policy_version": version,
            "accepted_current_version": accepted,
            "choices": [s.model_dump(mode="json") for s in state],
            "notifications": pushes,
        }
        out.print_json(json.dumps(document))
        return
    out.print(f"subject   {subject.id} ({subject.pseudonym})")
    out.print(
        f"policy    {subject.policy_id} {version}: "
        + ("[green]accepted[/]" if accepted else "[yellow]not accepted[/]")
    )
    pushes_text = ", ".join(f"{k} {'on' if v else 'off'}" for k, v in pushes.items())
    out.print(f"pushes    {escape(pushes_text) or '-'}")
    table = listing("explicit choices")
    for column in ("notice", "choice", "since", "entry"):
        table.add_column(column)
    for s in state:
        table.add_row(
            escape(f"{s.kind.value}:{s.notice}"), s.choice.value, when(s.recorded_at), s.entry_id
        )
    out.print(table)


@consent_app.command("history")
def history_command(
    ref: Annotated[
        str | None,
        typer.Argument(
            help="Subject id, pseudonym or phone (default: every entry).", show_default=False
        ),
    ] = None,
    policy: PolicyOption = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many entries.")] = 200,
    format: Format = OutputFormat.text,
) -> None:
    """Ledger entries, oldest first: of one subject, or all (pseudonyms only)."""
    from mexfi.cli.subjects import resolve_subject
    from mexfi.consent import ledger_entries

    with open_vault() as vault, vault.unit_of_work() as uow:
        if ref is None:
            if policy is not None:
                vault.policy(policy)
            entries = ledger_entries(uow, policy_id=policy, limit=limit)
            title = "consent ledger"
        else:
            subject = resolve_subject(vault, uow, ref, policy_id=policy)
            entries = ledger_entries(
                uow, policy_id=subject.policy_id, holder=subject.pseudonym, limit=limit
            )
            title = f"consent ledger of {subject.pseudonym}"
    if format is OutputFormat.json:
        out.print_json(json.dumps([_entry_dict(e) for e in entries]))
        return
    _entries_table(title, entries)


def _print_report(report: LedgerVerification) -> None:
    out.print(f"entries checked: {report.checked}")
    out.print(f"head:            {'none' if report.head_seq is None else report.head_seq}")
    out.print(f"audit anchors:   {report.anchors}")
    if report.ok:
        out.print("[green]consent ledger intact[/]: chain, head and audit anchors agree")
        return
    for problem in report.problems:
        where = "-" if problem.seq is None else str(problem.seq)
        out.print(f"{where:>8}  [red]{problem.kind.value}[/]  {escape(problem.message)}")


@consent_app.command("verify")
def verify_command(format: Format = OutputFormat.text) -> None:
    """Verify the ledger's hash chain and audit anchors; exit 1 naming the broken entry.

    Walks every entry, the head row, and the audit entries that anchor each call.
    """
    from mexfi.consent import verify_ledger

    with open_vault() as vault, vault.unit_of_work() as uow:
        report = verify_ledger(uow)
    if format is OutputFormat.json:
        out.print_json(report.model_dump_json())
    else:
        _print_report(report)
    if not report.ok:
        where = (
            f"first at entry {report.first_broken_seq}"
            if report.first_broken_seq is not None
            else "at its end"
        )
        count = len(report.problems)
        err.print(
            f"[bold red]the consent ledger was tampered with[/]: {count} "
            f"problem{'' if count == 1 else 's'}, {where}"
        )
        raise typer.Exit(1)


@consent_app.command("rebuild")
def rebuild_command(format: Format = OutputFormat.text) -> None:
    """Make the current-state table again from the ledger (after a restore, or a doubt)."""
    from mexfi.consent import rebuild_state

    with open_vault() as vault, vault.unit_of_work() as uow:
        rows = rebuild_state(uow)
    if format is OutputFormat.json:
        out.print_json(json.dumps({"state_rows": rows}))
        return
    out.print(f"current-state table rebuilt from the ledger: {rows} rows")


@consent_app.command("refusals")
def refusals_command(policy: PolicyOption = None, format: Format = OutputFormat.text) -> None:
    """Refused sends and collections, per policy, notice, reason and day (never who)."""
    from mexfi.consent import refusal_counts

    with open_vault() as vault, vault.unit_of_work() as uow:
        if policy is not None:
            vault.policy(policy)
        counts = refusal_counts(uow, policy_id=policy)
    if format is OutputFormat.json:
        out.print_json(json.dumps([c.model_dump(mode="json") for c in counts]))
        return
    table = listing("refusals")
    for column in ("day", "policy", "notice", "reason", "count"):
        table.add_column(column)
    for c in counts:
        table.add_row(
            c.day.isoformat(),
            c.policy_id,
            escape(f"{c.kind.value}:{c.notice}"),
            escape(c.reason),
            str(c.count),
        )
    out.print(table)
