"""`mexfi retention` and `mexfi worker`: apply the policies' retention rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mexfi.cli.context import load_policies_each, open_vault
from mexfi.cli.options import ActorId, AllowFuture, OutputFormat, parse_time
from mexfi.cli.output import Force, add_id_column, err, listing, out, when
from mexfi.cli.subjects import resolve_subject

if TYPE_CHECKING:
    from mexfi.retention import RetentionStatus, RunReport

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
        _print_faults(report)
        return
    title = "dry run: nothing changed" if report.dry_run else f"run {report.status}"
    table = Table(title=f"retention as of {report.as_of.isoformat()} ({title})")
    columns = ("policy", "rule", "action", "clauses", "due", "done", "records", "held", "quar.")
    for column in columns:
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
            "-" if report.dry_run else str(rule.quarantined),
        )
    out.print(table)
    for rule in report.rules:
        if rule.skipped:
            err.print(f"[yellow]{rule.policy_id}/{rule.rule_id}:[/] {rule.skipped}")
    if report.recovered:
        err.print(f"finished {report.recovered} destruction(s) an earlier run left pending")
    if report.abandoned:
        err.print(f"closed {len(report.abandoned)} run(s) killed mid-way (status `abandoned`)")
    if report.key_store_rewritten_in is not None:
        err.print(
            f"rewrote the key store's data-key table in {report.key_store_rewritten_in:.2f} s: "
            "the shredded keys left its files"
        )
    _print_faults(report)


def _print_faults(report: RunReport) -> None:
    """What failed or was quarantined, on stderr: the rest of the run went on."""
    for error in report.errors:
        err.print(f"[bold red]failed:[/] {escape(error.where)}: {escape(error.error)}")
    if report.quarantined:
        err.print(
            f"[bold red]quarantined:[/] {report.quarantined} record(s) that would not open "
            "(altered or corrupted); `mexfi retention status` lists them"
        )


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
    batch_size: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="Rows or subjects per commit.")
    ] = 1000,
    format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.text,
    allow_future: AllowFuture = False,
) -> None:
    """Apply every due retention rule of every loaded policy once.

    Each rule and each policy file stands alone: a rule that fails, a policy file that
    does not load, or a record that would not open (quarantined) is reported, the rest is
    done, and the exit code is 1.
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from mexfi.retention import RetentionEngine, RuleOutcome

    # A dry run changes nothing: any date may be previewed.
    as_of = parse_time(now, allow_future=allow_future or dry_run)
    policies, broken = load_policies_each()
    with (
        open_vault(policies=policies) as vault,
        Progress(
            SpinnerColumn(), TextColumn("{task.description}"), console=err, transient=True
        ) as progress,
    ):
        task = progress.add_task("retention", total=None)

        def show(outcome: RuleOutcome) -> None:
            progress.update(
                task, description=f"{outcome.rule_id}: {outcome.done} of {outcome.due} done"
            )

        engine = RetentionEngine(vault, batch_size=batch_size, on_progress=show, unloaded=broken)
        report = engine.run(now=as_of, dry_run=dry_run)
    _print_report(report, format)
    if report.faulted:
        raise typer.Exit(1)


def _print_status(status: RetentionStatus, *, lease_seconds: float) -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    # One block a run: a 32-character id and four times do not fit a table at 80 columns.
    out.print(f"last {len(status.runs)} run(s)", style="bold")
    for run in status.runs:
        state = run.status
        seen = run.heartbeat_at or run.started_at
        if state == "running" and (now - seen).total_seconds() > lease_seconds:
            state = "running (no heartbeat: killed? the next run closes it)"
        out.print(f"{run.id}  {state}")
        out.print(f"  as of {when(run.as_of)}; {run.quarantined} quarantined")
        out.print(f"  started {when(run.started_at)}, finished {when(run.finished_at)}")
        for error in run.errors:
            out.print(f"  error in {escape(error.where)}: {escape(error.error)}")
    if not status.quarantined_total:
        out.print("0 quarantined records")
        return
    # The evidence (subject, key, digest) is in `--format json`; ids are kept whole here.
    quarantine = listing(f"{status.quarantined_total} quarantined record(s)")
    add_id_column(quarantine, "record")
    for column in ("policy", "category", "found by", "at"):
        quarantine.add_column(column, overflow="fold")
    for q in status.quarantined:
        quarantine.add_row(
            q.record_id,
            q.policy_id,
            f"{q.category} ({q.tier})",
            q.detected_by,
            when(q.quarantined_at),
        )
    out.print(quarantine)
    if status.quarantined_total > len(status.quarantined):
        err.print(f"showing the newest {len(status.quarantined)}; `--limit` shows more")


@retention_app.command("status")
def status_command(
    runs: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="How many of the latest runs to show.")
    ] = 10,
    limit: Annotated[
        int,
        typer.Option(
            min=1, max=1_000_000, help="How many quarantined records to list (newest first)."
        ),
    ] = 50,
    format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.text,
) -> None:
    """The latest runs (failures, quarantines, runs killed mid-way) and the quarantine.

    A record quarantined would not open: it was altered or corrupted. Its ciphertext and a
    SHA-256 of it are kept as evidence (never a value) until its subject is destroyed.
    Exit code 1 if a policy file does not load, or the latest run failed in part or
    quarantined records.
    """
    from mexfi.retention import DEFAULT_LEASE, retention_status

    policies, broken = load_policies_each()
    with open_vault(policies=policies) as vault, vault.unit_of_work() as uow:
        status = retention_status(vault, uow, runs=runs, quarantined=limit)
    if format is OutputFormat.json:
        data = status.to_dict()
        data["broken_policy_files"] = broken
        out.print_json(json.dumps(data))
    else:
        _print_status(status, lease_seconds=DEFAULT_LEASE.total_seconds())
        for file, error in sorted(broken.items()):
            err.print(f"[bold red]policy file not loaded:[/] {escape(file)}: {escape(error)}")
    latest = status.runs[0] if status.runs else None
    if broken or (latest and (latest.errors or latest.quarantined or latest.status == "failed")):
        raise typer.Exit(1)


@hold_app.command("place")
def hold_place_command(
    policy: Annotated[str, typer.Option(help="Policy id, e.g. taxsee_driver.")],
    reason: Annotated[str, typer.Option(help="The lawful request or dispute it serves.")],
    actor: ActorId,
    subject: Annotated[
        str | None, typer.Option(help="The subject: its id, pseudonym or phone.")
    ] = None,
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
            subject_id=(
                resolve_subject(vault, uow, subject, policy_id=policy).id
                if subject is not None
                else None
            ),
            category=category,
        )
    out.print(f"hold {hold.id} placed")


@hold_app.command("lift")
def hold_lift_command(
    hold_id: Annotated[str, typer.Argument(help="The hold's id.")],
    actor: ActorId,
    out_dir: Annotated[
        Path,
        typer.Option("--out", help="Directory for the letters of the requests it releases."),
    ] = Path("."),
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also write PDF letters.")] = True,
    force: Force = False,
) -> None:
    """Lift a legal hold: the destruction requests it kept `on_hold` are carried out with it
    (one transaction; their answers and letters in --out), and the next run applies the
    retention rules it held back."""
    from mexfi.cli.requests import publish, stage_answer
    from mexfi.requests import resume_released
    from mexfi.retention import lift_hold
    from mexfi.vault import Actor

    staged: list[Path] = []
    try:
        with open_vault() as vault, vault.unit_of_work() as uow:
            hold = lift_hold(vault, uow, hold_id, actor=Actor(actor, "dpo"))
            # Retention does not know requests: the requests it released resume here, in
            # the lift's unit of work.
            released = resume_released(vault, uow, hold.id, actor=Actor(actor, "dpo"))
            for answer in released:
                if answer.request.state.value == "answered":
                    staged += stage_answer(vault, answer, out_dir, pdf=pdf, force=force)
    except BaseException:
        for path in staged:
            path.unlink(missing_ok=True)
        raise
    written = publish(staged)
    out.print(f"hold {hold.id} lifted")
    for answer in released:
        request = answer.request
        if request.state.value == "answered":
            outcome = answer.data.get("destruction", {})
            out.print(
                f"released request {request.id} ({request.kind.value}): carried out, "
                f"{outcome.get('records_destroyed', 0)} record(s) destroyed "
                f"({', '.join(outcome.get('destroyed', [])) or 'none'})"
            )
        else:
            waits = ", ".join(f"{c} (hold {h})" for c, h in request.holds.items())
            out.print(f"released request {request.id}: still on hold: {waits}")
    if not released:
        err.print("no request waited on this hold")
    for path in written:
        err.print(f"wrote {path}")


@hold_app.command("list")
def hold_list_command(
    policy: Annotated[str | None, typer.Option(help="Only this policy.")] = None,
    format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.text,
) -> None:
    """List the live legal holds (the id is what `hold lift` takes)."""
    from mexfi.retention import active_holds

    with open_vault() as vault, vault.unit_of_work() as uow:
        holds = active_holds(uow, policy_id=policy)
    if format is OutputFormat.json:
        out.print_json(
            json.dumps(
                [
                    {
                        "id": h.id,
                        "policy_id": h.policy_id,
                        "subject_id": h.subject_id,
                        "category": h.category,
                        "reason": h.reason,
                        "placed_by": h.placed_by,
                        "placed_at": h.placed_at.isoformat(),
                    }
                    for h in holds
                ]
            )
        )
        return
    # One block a hold: two 32-character ids (hold, subject) do not fit a table row at 80
    # columns, and neither is ever cut.
    out.print(f"{len(holds)} live legal hold(s)", style="bold")
    for hold in holds:
        out.print(f"{hold.id}  {hold.policy_id}")
        subject = f"subject {hold.subject_id}" if hold.subject_id else "every subject"
        category = f"category {hold.category}" if hold.category else "every category"
        out.print(f"  {subject}, {category}")
        out.print(f"  placed {when(hold.placed_at)} by {escape(hold.placed_by)}")
        out.print(f"  reason: {escape(hold.reason)}")


@retention_app.command("certificates")
def certificates_command(
    ref: Annotated[str, typer.Argument(help="The subject: its id, pseudonym or phone.")],
    actor: ActorId,
    as_subject: Annotated[
        bool, typer.Option("--as-subject", help="Ask as the subject itself, not as the DPO.")
    ] = False,
    format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.text,
) -> None:
    """A subject's destruction certificates: rule, clauses, key ids, time; never values."""
    from mexfi.retention import certificates
    from mexfi.vault import Actor

    with open_vault() as vault, vault.unit_of_work() as uow:
        # A subject whose phone was destroyed is found by id or pseudonym (a phone names
        # the destroyed candidates sharing its blind-index value).
        subject = resolve_subject(vault, uow, ref).id
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
    # One block a certificate: its id and each key id whole, one to a line.
    out.print(f"{len(found)} certificate(s)", style="bold")
    for c in found:
        status = c.status if c.status != "held" else f"held by hold {c.hold_id}"
        out.print(f"{c.evidence_id}  {status}, {when(c.at)}")
        why = f"rule {c.rule_id}" if c.rule_id else f"request {c.request_id or '-'}"
        clauses = f" ({', '.join(c.clauses)})" if c.clauses else ""
        out.print(f"  {why}{clauses}: {', '.join(c.categories)}")
        out.print(f"  {c.records_destroyed} record(s), {len(c.key_ids)} key(s)")
        for key_id in c.key_ids:
            out.print(f"    key {key_id}")


def worker_command(
    interval: Annotated[
        float, typer.Option(min=0.0, max=7 * 86400.0, help="Seconds between runs.")
    ] = 60.0,
    batch_size: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="Rows or subjects per commit.")
    ] = 1000,
    max_runs: Annotated[
        int | None,
        typer.Option(
            min=1, max=1_000_000, help="Stop after this many runs (default: until stopped)."
        ),
    ] = None,
) -> None:
    """Run retention on an interval until stopped; SIGTERM finishes the batch, then exits.

    It also keeps the master-key epochs: a new master key when the current one is older
    than MEXFI_KEY_EPOCH_DAYS (default 1), every data key rewrapped under it, and old keys
    retired once MEXFI_BACKUP_WINDOW_DAYS (default 1) has passed (see `mexfi keys retire`).

    No error stops it: a run that fails is reported and retried after a backoff (5 s,
    doubling, at most 10 min); a run killed mid-way is closed by a later one. Exit code 1
    at the end if any run failed, or a policy file did not load, or a record was quarantined.
    """
    from mexfi.cli.keys import scheduled_key_maintenance
    from mexfi.retention import RetentionEngine, run_worker

    policies, broken = load_policies_each()
    faults = 0
    with open_vault(policies=policies) as vault:

        def show(report: RunReport) -> None:
            nonlocal faults
            done = sum(r.records for r in report.rules)
            err.print(f"{report.as_of.isoformat()} run {report.status}: {done} record(s)")
            _print_faults(report)
            faults += report.faulted

        def failed(error: str, failures: int, delay: float) -> None:
            nonlocal faults
            faults += 1
            err.print(
                f"[bold red]run failed[/] ({failures} in a row): {escape(error)}; "
                f"retrying in {delay:g} s"
            )

        runs = run_worker(
            lambda stop: RetentionEngine(
                vault, batch_size=batch_size, should_stop=stop, unloaded=broken
            ),
            interval=interval,
            max_runs=max_runs,
            on_run=show,
            on_error=failed,
            maintenance=scheduled_key_maintenance(vault, batch_size=batch_size),
        )
    err.print(f"worker stopped after {runs} run(s)")
    if faults:
        raise typer.Exit(1)
