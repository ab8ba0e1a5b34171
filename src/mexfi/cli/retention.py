"""`mexfi retention` and `mexfi worker`: apply the policies' retention rules."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from mexfi.cli.context import open_vault
from mexfi.cli.options import OutputFormat, parse_time
from mexfi.cli.output import err, out

if TYPE_CHECKING:
    from mexfi.retention import RunReport

__all__ = ["retention_app", "worker_command"]

retention_app = typer.Typer(
    help="Retention: destroy and tier data on the policies' schedules; legal holds.",
    no_args_is_help=True,
)
hold_app = typer.Typer(help="Legal holds: data neither destroyed nor tiered until lifted.")
retention_app.add_typer(hold_app, name="hold")


def _print_report(report: RunReport, format: OutputFormat) -> None:
    if format is OutputFormat.json:
        out.print_json(json.dumps(report.to_dict()))
        return
    title = "dry run: nothing changed" if report.dry_run else f"run {report.status}"
    table = Table(title=f"retention as of {report.as_of.isoformat()} ({title})")
    for column in ("policy", "rule", "action", "clauses", "due", "done", "records", "held"):
        table.add_column(column, overflow="fold")
    for rule in report.rules:
        table.add_row(
            rule.policy_id,
            rule.rule_id,
            rule.action,
            ", ".join(rule.clauses),
            str(rule.due),
            "-" if report.dry_run else str(rule.done),
            "-" if report.dry_run else str(rule.records),
            str(rule.held),
        )
    out.print(table)
    for rule in report.rules:
        if rule.skipped:
            err.print(f"[yellow]{rule.policy_id}/{rule.rule_id}:[/] {rule.skipped}")
    if report.recovered:
        err.print(f"finished {report.recovered} destruction(s) an earlier run left pending")


@retention_app.command("run")
def run_command(
    now: Annotated[
        str | None,
        typer.Option(
            help="Apply the rules as of this ISO time (default: now).", show_default=False
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would happen, changing nothing.")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Rows or subjects per commit.")] = 1000,
    format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.text,
) -> None:
    """Apply every due retention rule of every loaded policy once."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from mexfi.retention import RetentionEngine, RuleOutcome

    as_of = parse_time(now)
    with (
        open_vault() as vault,
        Progress(
            SpinnerColumn(), TextColumn("{task.description}"), console=err, transient=True
        ) as progress,
    ):
        task = progress.add_task("retention", total=None)

        def show(outcome: RuleOutcome) -> None:
            progress.update(
                task, description=f"{outcome.rule_id}: {outcome.done} of {outcome.due} done"
            )

        engine = RetentionEngine(vault, batch_size=batch_size, on_progress=show)
        report = engine.run(now=as_of, dry_run=dry_run)
    _print_report(report, format)


@hold_app.command("place")
def hold_place_command(
    policy: Annotated[str, typer.Option(help="Policy id, e.g. taxsee_driver.")],
    reason: Annotated[str, typer.Option(help="The lawful request or dispute it serves.")],
    actor: Annotated[str, typer.Option(help="The DPO's id (no personal data).")],
    subject: Annotated[str | None, typer.Option(help="Subject id.")] = None,
    category: Annotated[str | None, typer.Option(help="Category id.")] = None,
) -> None:
    """Put a subject, a category, or both on legal hold."""
    from mexfi.retention import place_hold
    from mexfi.vault import Actor

    with open_vault() as vault, vault.unit_of_work() as uow:
        hold = place_hold(
            vault,
            uow,
            policy_id=policy,
            reason=reason,
            actor=Actor(actor, "dpo"),
            subject_id=subject,
            category=category,
        )
    out.print(f"hold {hold.id} placed")


@hold_app.command("lift")
def hold_lift_command(
    hold_id: Annotated[str, typer.Argument(help="The hold's id.")],
    actor: Annotated[str, typer.Option(help="The DPO's id.")],
) -> None:
    """Lift a legal hold; the next run applies the rules it held back."""
    from mexfi.retention import lift_hold
    from mexfi.vault import Actor

    with open_vault() as vault, vault.unit_of_work() as uow:
        hold = lift_hold(vault, uow, hold_id, actor=Actor(actor, "dpo"))
    out.print(f"hold {hold.id} lifted")


@hold_app.command("list")
def hold_list_command(
    policy: Annotated[str | None, typer.Option(help="Only this policy.")] = None,
) -> None:
    """List the live legal holds."""
    from mexfi.retention import active_holds

    with open_vault() as vault, vault.unit_of_work() as uow:
        holds = active_holds(uow, policy_id=policy)
    table = Table(title=f"{len(holds)} live legal hold(s)")
    for column in ("id", "policy", "subject", "category", "placed", "reason"):
        table.add_column(column, overflow="fold")
    for hold in holds:
        table.add_row(
            hold.id,
            hold.policy_id,
            hold.subject_id or "(all)",
            hold.category or "(all)",
            hold.placed_at.isoformat(),
            hold.reason,
        )
    out.print(table)


@retention_app.command("certificates")
def certificates_command(
    subject: Annotated[str, typer.Argument(help="Subject id.")],
    actor: Annotated[str, typer.Option(help="Who asks: the DPO's id, or the subject's app.")],
    as_subject: Annotated[
        bool, typer.Option("--as-subject", help="Ask as the subject itself, not as the DPO.")
    ] = False,
    format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.text,
) -> None:
    """A subject's destruction certificates: rule, clauses, key ids, time; never values."""
    from mexfi.retention import certificates
    from mexfi.vault import Actor

    with open_vault() as vault, vault.unit_of_work() as uow:
        policy = vault.policy(vault.subject(uow, subject).policy_id)
        role = "dpo"
        if as_subject:
            role = next(r.id for r in policy.roles if r.kind.value == "subject")
        found = certificates(
            vault,
            uow,
            subject,
            actor=Actor(actor, role, subject_id=subject if as_subject else None),
        )
    if format is OutputFormat.json:
        out.print_json(
            json.dumps(
                [
                    {
                        "id": c.evidence_id,
                        "subject": c.subject_pseudonym,
                        "status": c.status,
                        "rule": c.rule_id,
                        "request": c.request_id,
                        "hold": c.hold_id,
                        "categories": list(c.categories),
                        "clauses": list(c.clauses),
                        "key_ids": list(c.key_ids),
                        "records_destroyed": c.records_destroyed,
                        "at": c.at.isoformat(),
                    }
                    for c in found
                ]
            )
        )
        return
    table = Table(title=f"{len(found)} certificate(s)")
    for column in ("at", "status", "rule", "categories", "clauses", "records", "key ids"):
        table.add_column(column, overflow="fold")
    for c in found:
        table.add_row(
            c.at.isoformat(),
            c.status if c.status != "held" else f"held ({c.hold_id})",
            c.rule_id or c.request_id or "",
            ", ".join(c.categories),
            ", ".join(c.clauses),
            str(c.records_destroyed),
            ", ".join(c.key_ids),
        )
    out.print(table)


def worker_command(
    interval: Annotated[float, typer.Option(min=0.0, help="Seconds between runs.")] = 60.0,
    batch_size: Annotated[int, typer.Option(min=1, help="Rows or subjects per commit.")] = 1000,
    max_runs: Annotated[
        int | None, typer.Option(help="Stop after this many runs (default: until stopped).")
    ] = None,
) -> None:
    """Run retention on an interval until stopped; SIGTERM finishes the batch, then exits."""
    from mexfi.retention import RetentionEngine, run_worker

    with open_vault() as vault:

        def show(report: RunReport) -> None:
            done = sum(r.records for r in report.rules)
            err.print(f"{report.as_of.isoformat()} run {report.status}: {done} record(s)")

        runs = run_worker(
            lambda stop: RetentionEngine(vault, batch_size=batch_size, should_stop=stop),
            interval=interval,
            max_runs=max_runs,
            on_run=show,
        )
    err.print(f"worker stopped after {runs} run(s)")
