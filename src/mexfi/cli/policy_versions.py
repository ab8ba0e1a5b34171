"""`mexfi policy versions|diff|pending|notify`: the versions of each policy the store keeps,
what changed between two, who has not accepted the current one, and telling them (BK-1.2,
BK-7.3, TX-2). Installed on `mexfi policy` by `mexfi.cli.policy`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mexfi.cli.context import open_vault
from mexfi.cli.options import ActorId, OutputFormat
from mexfi.cli.output import add_id_column, err, listing, out, when

if TYPE_CHECKING:
    from mexfi.consent import PendingSubject, PolicyDiff

__all__ = ["install_version_commands"]

Format = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="text for people, json for tools.")
]
PolicyId = Annotated[
    str, typer.Argument(help="The policy's id (e.g. bakikart).", show_default=False)
]
VersionOption = Annotated[
    str | None,
    typer.Option(
        "--version",
        help="The version to check against (default: the one in force now).",
        show_default=False,
    ),
]


def versions_command(
    policy: Annotated[
        str | None, typer.Argument(help="Only this policy's versions.", show_default=False)
    ] = None,
    format: Format = OutputFormat.text,
) -> None:
    """List the versions of each policy the store keeps: hash, effective date, when it took
    (or takes) effect, when it was registered, and which is in force.

    Opening the store registers the policy files as they are now: a changed file is a new
    version; the same version string over a changed file is refused (exit 3).
    """
    from mexfi.consent import current_version, list_versions

    with open_vault() as vault, vault.unit_of_work() as uow:
        if policy is not None:
            vault.policy(policy)
        versions = list_versions(uow, policy_id=policy)
        now = vault.clock.now()
        current = {
            p: current_version(uow, policy_id=p, at=now).version
            for p in sorted({v.policy_id for v in versions})
        }
    if format is OutputFormat.json:
        payload = [
            {**v.model_dump(mode="json"), "in_force": current[v.policy_id] == v.version}
            for v in versions
        ]
        out.print_json(json.dumps(payload, ensure_ascii=False))
        return
    table = listing(
        f"{len(versions)} policy version(s); * in force; hashes cut to 12 (json: whole, with "
        "the effective dates and section hashes)"
    )
    table.add_column("policy", no_wrap=True)
    table.add_column("version", overflow="fold")
    for column in ("takes effect", "registered", "hash"):
        table.add_column(column, no_wrap=True)
    for v in versions:
        table.add_row(
            v.policy_id,
            escape(v.version) + (" *" if current[v.policy_id] == v.version else ""),
            when(v.takes_effect_at),
            when(v.registered_at),
            v.content_hash[:12],
        )
    out.print(table)


def diff_command(
    policy: PolicyId,
    old: Annotated[str, typer.Argument(help="The older version.", show_default=False)],
    new: Annotated[str, typer.Argument(help="The newer version.", show_default=False)],
    format: Format = OutputFormat.text,
) -> None:
    """Show what changed between two versions: categories, purposes, recipients, retention,
    cookies, notifications (added, removed, changed with the fields that changed), then
    the other sections. Compares the versions' stored canonical JSON."""
    from mexfi.consent import diff_versions

    with open_vault() as vault, vault.unit_of_work() as uow:
        vault.policy(policy)
        diff = diff_versions(uow, policy_id=policy, old=old, new=new)
    if format is OutputFormat.json:
        out.print_json(json.dumps(diff.model_dump(mode="json"), ensure_ascii=False))
        return
    _print_diff(diff)


def _print_diff(diff: PolicyDiff) -> None:
    title = f"{diff.policy_id}: {escape(diff.old)} → {escape(diff.new)}"
    if not diff.sections:
        out.print(f"{title}: no differences")
        return
    out.print(title)
    for section in diff.sections:
        out.print(f"{section.section}:")
        for element in section.added:
            out.print(f"  + {escape(element)}")
        for element in section.removed:
            out.print(f"  - {escape(element)}")
        for change in section.changed:
            out.print(f"  ~ {escape(change.id)}: {escape(', '.join(change.fields))}")


def pending_command(
    policy: PolicyId,
    version: VersionOption = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only subjects of this kind.", show_default=False)
    ] = None,
    format: Format = OutputFormat.text,
) -> None:
    """List the subjects who have not accepted the version in force (or --version): ids and
    pseudonyms, never a phone; with how many have.

    Under `changes_take_effect: when_posted` the version binds them already and the list
    says whom to tell; under `on_acceptance` the old version governs each until he accepts.
    """
    from mexfi.consent import pending_subjects

    with open_vault() as vault, vault.unit_of_work() as uow:
        report = pending_subjects(
            vault, uow, policy_id=policy, at=vault.clock.now(), version=version, kind=kind
        )
    if format is OutputFormat.json:
        out.print_json(json.dumps(report.model_dump(mode="json"), ensure_ascii=False))
        return
    table = listing(
        f"{policy} version {escape(report.version)}: {len(report.pending)} of "
        f"{report.subjects} subject(s) have not accepted it (last: the latest version each "
        "accepted)"
    )
    _subject_columns(table)
    table.add_column("last", no_wrap=True)
    for s in report.pending:
        table.add_row(*_subject_cells(s), escape(s.accepted or "-"))
    out.print(table)
    rule = (
        "bound since posted (when_posted)"
        if report.rule == "when_posted"
        else "binds each on acceptance (on_acceptance): the version accepted governs until then"
    )
    err.print(
        f"{report.accepted} accepted, {len(report.pending)} pending; version "
        f"{escape(report.version)} {rule}"
    )


def _subject_columns(table: Table) -> None:
    add_id_column(table, "subject")
    table.add_column("pseudonym", no_wrap=True)
    table.add_column("kind", overflow="fold")


def _subject_cells(subject: PendingSubject) -> tuple[str, str, str]:
    # The status only where it is not the usual one: the ids and the pseudonym fit 80 columns.
    status = "" if subject.status == "active" else f" ({subject.status})"
    return subject.subject_id, subject.pseudonym, subject.kind + status


def notify_command(
    policy: PolicyId,
    actor: ActorId,
    version: VersionOption = None,
    via: Annotated[
        list[str] | None,
        typer.Option(
            "--via",
            help="A notification type to tell them through (repeatable; default: each the "
            "policy declares, in order); each subject gets the first one it allows.",
            show_default=False,
        ),
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang", help="Language of the message (default: the policy's).", show_default=False
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say who would be told; send and record nothing.")
    ] = False,
    again: Annotated[
        bool, typer.Option("--again", help="Also tell those told of this version before.")
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", min=1, help="Tell at most this many (a run in parts).", show_default=False
        ),
    ] = None,
    format: Format = OutputFormat.text,
) -> None:
    """Tell the subjects who have not accepted the version in force (or --version) that the
    policy changed, only through a notification type each allows, and record who was told.

    The sender is MEXFI_NOTICE_SENDER (default `console`: prints, sends nothing; a push
    gateway plugs in under the `mexfi.notice_senders` entry-point group). Exits 1 when a
    send failed (those are not recorded: the next run tries them again).
    """
    from mexfi.consent import notice_sender, notify_pending

    sender = notice_sender()
    with open_vault() as vault, vault.unit_of_work() as uow:
        report = notify_pending(
            vault,
            uow,
            policy_id=policy,
            sender=sender,
            actor_id=actor,
            at=vault.clock.now(),
            version=version,
            via=via,
            language=lang,
            dry_run=dry_run,
            again=again,
            limit=limit,
        )
    if format is OutputFormat.json:
        out.print_json(json.dumps(report.model_dump(mode="json"), ensure_ascii=False))
    else:
        verb = "would tell" if dry_run else "told"
        table = listing(
            f"{policy} version {escape(report.version)}: {verb} {len(report.told)} of "
            f"{report.pending} subject(s) who have not accepted it"
        )
        add_id_column(table, "subject")
        table.add_column("pseudonym", no_wrap=True)
        table.add_column("via", no_wrap=True)
        for told in report.told:
            table.add_row(told.subject_id, told.pseudonym, told.notification)
        out.print(table)
        if report.unreachable:
            table = listing(
                f"{len(report.unreachable)} allow no notification type "
                f"({escape(', '.join(report.notifications) or 'the policy declares none')}): "
                "not told"
            )
            _subject_columns(table)
            for s in report.unreachable:
                table.add_row(*_subject_cells(s))
            out.print(table)
        err.print(
            f"{len(report.told)} {verb}, {len(report.unreachable)} unreachable, "
            f"{report.already_told} told before, {len(report.inactive)} blocked or prohibited, "
            f"{len(report.failed)} failed; sender {report.sender}"
            + (" (dry run: nothing sent or recorded)" if dry_run else "")
        )
    if report.failed:
        err.print(f"[red]{len(report.failed)} send(s) failed[/]: run again to retry them")
        raise typer.Exit(1)


def install_version_commands(app: typer.Typer) -> None:
    """Add `versions`, `diff`, `pending` and `notify` to the `mexfi policy` group."""
    app.command("versions")(versions_command)
    app.command("diff")(diff_command)
    app.command("pending")(pending_command)
    app.command("notify")(notify_command)
