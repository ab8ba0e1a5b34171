"""`mexfi requests`: data-subject requests from intake to answer.

    mexfi requests add --policy taxsee_driver --kind access --phone '+994 55 …' \\
        --id-series AZE --id-number … --id-issued-on … --id-authority … --fin … \\
        --contract-number … --signed
    mexfi requests list --overdue --now 2026-04-01T09:00:00+04:00
    mexfi requests answer ID --out answers/
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from mexfi.cli.context import open_vault
from mexfi.cli.options import ActorId, AllowFuture, OutputFormat, parse_time
from mexfi.cli.output import Force, claim_output, err, out
from mexfi.errors import Invalid

if TYPE_CHECKING:
    from mexfi.requests import RequestRead

__all__ = ["requests_app"]

requests_app = typer.Typer(
    help="Data-subject requests (TX-3, TX-4.1, TX-11, BK-3.2): intake, deadlines, answers.",
    no_args_is_help=True,
)


def _clock(now: datetime | None) -> Any:
    from mexfi.clock import FixedClock

    return FixedClock(now) if now is not None else None


def _actor(actor_id: str, role: str) -> Any:
    from mexfi.vault import Actor

    return Actor(actor_id, role)


Role = Annotated[str, typer.Option("--role", help="The handler's role in the policy.")]


def _show(request: RequestRead, now: datetime, format: OutputFormat) -> None:
    if format is OutputFormat.json:
        out.print_json(json.dumps(request.to_dict(now)))
        return
    state = request.state.value
    late = " [red](overdue)[/]" if request.overdue(now) else ""
    out.print(
        f"request {request.id}: {request.kind.value}, {state}{late}; "
        f"due {request.due_date.isoformat()} ({request.due_at.isoformat()})"
    )
    for reason in request.reasons:
        out.print(f"  reason: {escape(reason)}")


@requests_app.command("add")
def add_command(
    actor: ActorId,
    policy: Annotated[str, typer.Option("--policy", help="Policy id, e.g. taxsee_driver.")],
    kind: Annotated[str, typer.Option("--kind", help="access, destruction, blocking, …")],
    channel: Annotated[
        str, typer.Option(help="written, registered_mail, in_person or electronic.")
    ] = "written",
    phone: Annotated[
        str | None,
        typer.Option(
            help="The requester's phone, matched through the blind index only "
            "(or set MEXFI_REQUEST_PHONE to keep it out of the shell history)."
        ),
    ] = None,
    subject: Annotated[
        str | None, typer.Option("--subject", help="Subject id (an authenticated requester).")
    ] = None,
    lang: Annotated[str | None, typer.Option(help="Answer language: az, en or ru.")] = None,
    category: Annotated[
        list[str] | None, typer.Option("--category", help="Limit to these categories.")
    ] = None,
    include_passive: Annotated[
        bool, typer.Option("--include-passive", help="Access: the passive tier too (BK-3.3).")
    ] = False,
    received_at: Annotated[
        str | None, typer.Option(help="When the request arrived (ISO 8601); default now.")
    ] = None,
    id_series: Annotated[str | None, typer.Option(help="ID document series.")] = None,
    id_number: Annotated[str | None, typer.Option(help="ID document number.")] = None,
    id_issued_on: Annotated[str | None, typer.Option(help="ID issue date.")] = None,
    id_authority: Annotated[str | None, typer.Option(help="ID issuing authority.")] = None,
    address: Annotated[str | None, typer.Option(help="Address of residence.")] = None,
    fin: Annotated[str | None, typer.Option(help="FIN (PIN) code of a new-type ID card.")] = None,
    contract_number: Annotated[str | None, typer.Option(help="Contract number.")] = None,
    contract_date: Annotated[str | None, typer.Option(help="Contract date.")] = None,
    relationship: Annotated[
        str | None, typer.Option(help="Other proof of the relationship with the operator.")
    ] = None,
    signed: Annotated[bool, typer.Option("--signed", help="The request is signed.")] = False,
    now: Annotated[str | None, typer.Option(help="Act as of this time (ISO 8601).")] = None,
    role: Role = "dpo",
    format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.text,
    allow_future: AllowFuture = False,
) -> None:
    """Receive a request, check it (TX-11) and compute its due date in working days."""
    from mexfi.requests import WrittenDetails, add_request

    at = parse_time(now, "--now", allow_future=allow_future)
    received = parse_time(received_at, "--received-at", allow_future=allow_future)
    written = WrittenDetails(
        id_document_series=id_series,
        id_document_number=id_number,
        id_issue_date=id_issued_on,
        id_issue_authority=id_authority,
        address=address,
        fin=fin,
        contract_number=contract_number,
        contract_date=contract_date,
        relationship_other=relationship,
        signed=signed,
    )
    with open_vault(clock=_clock(at)) as vault, vault.unit_of_work() as uow:
        request = add_request(
            vault,
            uow,
            policy_id=policy,
            kind=kind,
            channel=channel,
            actor=_actor(actor, role),
            phone=phone or os.environ.get("MEXFI_REQUEST_PHONE"),
            subject_id=subject,
            language=lang,
            written=written,
            categories=category or (),
            include_passive=include_passive,
            received_at=received,
        )
    _show(request, vault.clock.now(), format)


@requests_app.command("list")
def list_command(
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only open requests past due.")
    ] = False,
    open_only: Annotated[bool, typer.Option("--open", help="Only open requests.")] = False,
    policy: Annotated[str | None, typer.Option("--policy")] = None,
    now: Annotated[str | None, typer.Option(help="Judge due dates as of this time.")] = None,
    format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.text,
) -> None:
    """Requests by due date: what is due, what is overdue."""
    from mexfi.requests import list_requests

    # A listing changes nothing: due dates may be judged as of any time.
    at = parse_time(now, "--now", allow_future=True)
    with open_vault(clock=_clock(at)) as vault, vault.unit_of_work() as uow:
        moment = vault.clock.now()
        requests = list_requests(vault, uow, overdue=overdue, open_only=open_only, policy_id=policy)
    if format is OutputFormat.json:
        out.print_json(json.dumps([r.to_dict(moment) for r in requests]))
        return
    table = Table(title=f"requests as of {moment.isoformat()}")
    for column in ("id", "policy", "kind", "state", "received", "due", "overdue"):
        # An id is never cut: it is what the other commands take.
        if column == "id":
            table.add_column(column, no_wrap=True, min_width=32)
        else:
            table.add_column(column, overflow="fold")
    for r in requests:
        table.add_row(
            r.id,
            r.policy_id,
            r.kind.value,
            r.state.value,
            r.received_at.date().isoformat(),
            r.due_date.isoformat(),
            "[red]yes[/]" if r.overdue(moment) else "no",
        )
    out.print(table)
    if not requests:
        err.print("no requests" + (" overdue" if overdue else ""))


@requests_app.command("show")
def show_command(
    request_id: Annotated[str, typer.Argument(help="Request id.")],
    format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.text,
) -> None:
    """A request and its history from the audit log."""
    from mexfi.requests import get_request, request_history

    with open_vault() as vault, vault.unit_of_work() as uow:
        request = get_request(vault, uow, request_id)
        history = request_history(vault, uow, request_id)
        moment = vault.clock.now()
    if format is OutputFormat.json:
        data = request.to_dict(moment)
        data["history"] = [
            {"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor_id, "reason": e.reason}
            for e in history
        ]
        out.print_json(json.dumps(data))
        return
    _show(request, moment, format)
    for entry in history:
        out.print(f"  #{entry.seq} {entry.at.isoformat()} {entry.actor_id}: {entry.reason}")


def _changes(values: list[str]) -> dict[str, dict[str, str]]:
    changes: dict[str, dict[str, str]] = {}
    for item in values:
        target, sep, value = item.partition("=")
        record, dot, name = target.partition(".")
        if not (sep and dot and record and name):
            raise Invalid("--set takes RECORD_ID.FIELD=VALUE")
        changes.setdefault(record, {})[name] = value
    return changes


@requests_app.command("answer")
def answer_command(
    actor: ActorId,
    request_id: Annotated[str, typer.Argument(help="Request id.")],
    out_dir: Annotated[
        Path, typer.Option("--out", help="Directory for <id>.json, <id>.html, <id>.pdf.")
    ] = Path("."),
    set_values: Annotated[
        list[str] | None,
        typer.Option("--set", help="Rectification: RECORD_ID.FIELD=VALUE (repeatable)."),
    ] = None,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also write the PDF letter.")] = True,
    now: Annotated[str | None, typer.Option(help="Act as of this time (ISO 8601).")] = None,
    role: Role = "dpo",
    allow_future: AllowFuture = False,
    force: Force = False,
) -> None:
    """Carry out a verified request; write the JSON answer and the letter (HTML, PDF)."""
    from mexfi.requests import answer_request, export_json, render_letter

    at = parse_time(now, "--now", allow_future=allow_future)
    # Refused before the request is answered: an answer is carried out once.
    for suffix in ("json", "html", "pdf") if pdf else ("json", "html"):
        claim_output(out_dir / f"{request_id}.{suffix}", force=force)
    out_dir.mkdir(parents=True, exist_ok=True)
    partial: list[Path] = []

    def stage(name: str, content: bytes) -> None:
        # The answer holds the subject's data: readable by the owner only, and in place
        # only once the answer is committed.
        target = out_dir / f"{name}.partial"
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        partial.append(target)

    try:
        with open_vault(clock=_clock(at)) as vault, vault.unit_of_work() as uow:
            answer = answer_request(
                vault,
                uow,
                request_id,
                actor=_actor(actor, role),
                changes=_changes(set_values or []),
            )
            policy = vault.policy(answer.request.policy_id)
            stage(f"{request_id}.json", export_json(answer.data).encode())
            stage(f"{request_id}.html", str(render_letter(policy, answer, format="html")).encode())
            if pdf:
                document = render_letter(policy, answer, format="pdf")
                stage(f"{request_id}.pdf", bytes(document) if isinstance(document, bytes) else b"")
    except BaseException:
        for path in partial:
            path.unlink(missing_ok=True)
        raise
    written = []
    for path in partial:
        final = path.with_suffix("")
        path.replace(final)
        written.append(final)
    _show(
        answer.request, answer.request.answered_at or datetime.now().astimezone(), OutputFormat.text
    )
    for path in written:
        err.print(f"wrote {path}")


@requests_app.command("reject")
def reject_command(
    actor: ActorId,
    request_id: Annotated[str, typer.Argument(help="Request id.")],
    reason: Annotated[list[str], typer.Option("--reason", help="A reason code (repeatable).")],
    role: Role = "dpo",
) -> None:
    """Close an open request with reasons (e.g. identity_not_confirmed)."""
    from mexfi.requests import reject_request

    with open_vault() as vault, vault.unit_of_work() as uow:
        request = reject_request(vault, uow, request_id, actor=_actor(actor, role), reasons=reason)
    _show(request, vault.clock.now(), OutputFormat.text)
