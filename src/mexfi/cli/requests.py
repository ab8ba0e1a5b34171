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
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from mexfi.cli.context import open_vault
from mexfi.cli.options import ActorId, AllowFuture, OutputFormat, parse_time
from mexfi.cli.output import Force, add_id_column, claim_output, err, listing, out, when
from mexfi.cli.subjects import resolve_subject
from mexfi.errors import Invalid

if TYPE_CHECKING:
    from mexfi.requests import Answer, DestructionPreview, RequestRead

__all__ = ["publish", "requests_app", "stage_answer"]

requests_app = typer.Typer(
    help="Data-subject requests (TX-3, TX-4.1, TX-11, BK-3.2): intake, deadlines, answers.",
    no_args_is_help=True,
)


def _clock(now: datetime | None) -> Any:
    from mexfi.clock import FixedClock

    return FixedClock(now) if now is not None else None


def _subject_id(vault: Any, uow: Any, ref: str | None, policy_id: str, kind: str) -> str | None:
    """The subject `--subject` names (id, pseudonym or phone), resolved once the policy is
    known to offer the right: a right not offered is refused first, whoever the subject."""
    from mexfi.requests import offered_kinds

    if ref is None:
        return None
    if kind not in {k.value for k in offered_kinds(vault.policy(policy_id))}:
        return ref  # intake refuses the right, naming it
    return resolve_subject(vault, uow, ref, policy_id=policy_id).id


def _actor(actor_id: str, role: str) -> Any:
    from mexfi.vault import Actor

    return Actor(actor_id, role)


Role = Annotated[str, typer.Option("--role", help="The handler's role in the policy.")]

#: The identity details of a written request (TX-11): `requests add` and `requests amend`.
IdSeries = Annotated[str | None, typer.Option(help="ID document series.")]
IdNumber = Annotated[str | None, typer.Option(help="ID document number.")]
IdIssuedOn = Annotated[str | None, typer.Option(help="ID issue date.")]
IdAuthority = Annotated[str | None, typer.Option(help="ID issuing authority.")]
Address = Annotated[str | None, typer.Option(help="Address of residence.")]
Fin = Annotated[str | None, typer.Option(help="FIN (PIN) code of a new-type ID card.")]
ContractNumber = Annotated[str | None, typer.Option(help="Contract number.")]
ContractDate = Annotated[str | None, typer.Option(help="Contract date.")]
Signed = Annotated[bool, typer.Option("--signed", help="The request is signed.")]
Relationship = Annotated[
    str | None, typer.Option(help="Other proof of the relationship with the operator.")
]


def _show(request: RequestRead, now: datetime, format: OutputFormat) -> None:
    if format is OutputFormat.json:
        out.print_json(json.dumps(request.to_dict(now)))
        return
    state = request.state.value
    late = " [red](overdue)[/]" if request.overdue(now) else ""
    out.print(
        f"request {request.id}: {request.kind.value}, {state}{late}; "
        f"due {request.due_date.isoformat()} (until {when(request.due_at)})"
    )
    for reason in request.reasons:
        out.print(f"  reason: {escape(reason)}")
    if request.state.value == "on_hold":
        for category, hold in request.holds.items():
            out.print(f"  held: {escape(category)} by legal hold {hold}")
        if request.suspended_at is not None:
            out.print(
                f"  due date suspended since {when(request.suspended_at)}, "
                f"{request.days_left} day(s) left; lifting the hold carries it out "
                "(`mexfi retention hold lift HOLD_ID`)"
            )


#: The options that correct each reason intake rejects a request for.
_FIXES = {
    "phone_invalid": "--phone",
    "subject_not_matched": "--phone or --subject",
    "subject_not_found": "--subject",
    "requester_not_identified": "--phone or --subject",
    "missing_id_document": "--id-series and --id-number",
    "missing_id_issue": "--id-issued-on and --id-authority",
    "missing_address_or_fin": "--address or --fin",
    "missing_relationship_proof": "--contract-number or --relationship",
    "missing_signature": "--signed",
}


def _fixes(reasons: Iterable[str]) -> str:
    options = [_FIXES.get(r, "--channel" if r.startswith("channel_") else "") for r in reasons]
    return "; ".join(dict.fromkeys(o for o in options if o)) or "what was wrong"


def _rejected_on_intake(request: RequestRead) -> None:
    """Say why intake rejected the request and what to do; exit 1 (check failed)."""
    rid = request.id
    err.print(
        f"request {rid} was rejected on intake: {escape(', '.join(request.reasons))}. "
        "It is kept, and can be corrected until it is answered.",
        soft_wrap=True,
    )
    err.print(f"  correct it (give {escape(_fixes(request.reasons))}):", soft_wrap=True)
    err.print(f"    mexfi requests amend {rid} …", soft_wrap=True)
    err.print("  entered by mistake:", soft_wrap=True)
    err.print(f"    mexfi requests withdraw {rid} --reason typo", soft_wrap=True)
    err.print("  a real request that fails TX-11 (writes the reasoned refusal):", soft_wrap=True)
    err.print(f"    mexfi requests answer {rid} --out answers/", soft_wrap=True)
    raise typer.Exit(1)


def _check(
    *,
    policy: str,
    kind: str,
    channel: str,
    phone: str | None,
    subject: str | None,
    lang: str | None,
    written: Any,
    categories: Sequence[str],
    received: datetime | None,
    at: datetime | None,
    format: OutputFormat,
) -> None:
    """`requests add --check`: intake's verdict and the due date; nothing is stored."""
    from mexfi.requests import check_request

    with open_vault(clock=_clock(at)) as vault, vault.unit_of_work() as uow:
        result = check_request(
            vault,
            uow,
            policy_id=policy,
            kind=kind,
            channel=channel,
            phone=phone or os.environ.get("MEXFI_REQUEST_PHONE"),
            subject_id=_subject_id(vault, uow, subject, policy, kind),
            language=lang,
            written=written,
            categories=categories,
            received_at=received,
        )
        # A check writes nothing; whatever a read may have left is not committed either.
        uow.rollback()
    if format is OutputFormat.json:
        out.print_json(json.dumps(result.to_dict()))
    else:
        verdict = "passes" if result.passes else "[red]would be rejected[/]"
        out.print(
            f"{result.kind.value} request under {result.policy_id} {verdict}; due "
            f"{result.due_date.isoformat()} ({result.due_at.isoformat()}); nothing stored"
        )
        for reason in result.reasons:
            fix = _FIXES.get(reason)
            out.print(f"  reason: {escape(reason)}" + (f" (give {escape(fix)})" if fix else ""))
    if not result.passes:
        raise typer.Exit(1)


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
        str | None,
        typer.Option(
            "--subject",
            help="The subject (an authenticated requester): its id, pseudonym or phone.",
        ),
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
    id_series: IdSeries = None,
    id_number: IdNumber = None,
    id_issued_on: IdIssuedOn = None,
    id_authority: IdAuthority = None,
    address: Address = None,
    fin: Fin = None,
    contract_number: ContractNumber = None,
    contract_date: ContractDate = None,
    relationship: Relationship = None,
    signed: Signed = False,
    full_name: Annotated[
        str | None, typer.Option(help="Name on the ID document: compared with the store.")
    ] = None,
    date_of_birth: Annotated[
        str | None, typer.Option(help="Date of birth on the ID document: compared too.")
    ] = None,
    send: Annotated[
        bool | None,
        typer.Option(
            "--send-code/--no-send-code",
            help="Send the one-time code to the subject's phone now (MEXFI_CODE_SENDER). "
            "Default: for electronic requests only.",
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Only show what intake would reject and the due date; store nothing."
        ),
    ] = False,
    now: Annotated[str | None, typer.Option(help="Act as of this time (ISO 8601).")] = None,
    role: Role = "dpo",
    format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.text,
    allow_future: AllowFuture = False,
) -> None:
    """Receive a request, check it (TX-11) and compute its due date in working days.

    A request rejected on intake is kept and exits 1 (check failed): correct it with
    `requests amend`, withdraw it with `requests withdraw`, or answer it with its reasoned
    refusal (`requests answer`). `--check` stores nothing.
    """
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
        full_name=full_name,
        date_of_birth=date_of_birth,
    )
    if check:
        _check(
            policy=policy, kind=kind, channel=channel, phone=phone, subject=subject, lang=lang,
            written=written, categories=category or (), received=received, at=at, format=format,
        )  # fmt: skip
        return
    with open_vault(clock=_clock(at)) as vault, vault.unit_of_work() as uow:
        request = add_request(
            vault,
            uow,
            policy_id=policy,
            kind=kind,
            channel=channel,
            actor=_actor(actor, role),
            phone=phone or os.environ.get("MEXFI_REQUEST_PHONE"),
            subject_id=_subject_id(vault, uow, subject, policy, kind),
            language=lang,
            written=written,
            categories=category or (),
            include_passive=include_passive,
            received_at=received,
        )
    _show(request, vault.clock.now(), format)
    if request.state.value == "rejected":
        _rejected_on_intake(request)
    if request.state.value == "verifying":
        _after_intake(request, actor=_actor(actor, role), send=send, at=at)


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
    # An id is never cut: it is what the other commands take. At 80 columns the id and the
    # due date stay whole; the request's kind and state wrap (received: in --format json).
    table = listing(f"{len(requests)} request(s) as of {when(moment)}")
    add_id_column(table)
    table.add_column("policy", overflow="fold")
    table.add_column("request (state)", overflow="fold")
    table.add_column("due", no_wrap=True)
    for r in requests:
        late = "\n[red]overdue[/]" if r.overdue(moment) else ""
        table.add_row(
            r.id, r.policy_id, f"{r.kind.value} ({r.state.value})", r.due_date.isoformat() + late
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
    from mexfi.requests import get_request, request_history, verification_status

    with open_vault() as vault, vault.unit_of_work() as uow:
        request = get_request(vault, uow, request_id)
        history = request_history(vault, uow, request_id)
        status = verification_status(vault, uow, request_id)
        moment = vault.clock.now()
    if format is OutputFormat.json:
        data = request.to_dict(moment)
        data["verification_status"] = status.to_dict()
        data["history"] = [
            {"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor_id, "reason": e.reason}
            for e in history
        ]
        out.print_json(json.dumps(data))
        return
    _show(request, moment, format)
    _show_verification(status)
    for entry in history:
        reason = escape(entry.reason or "")
        out.print(f"  #{entry.seq} {when(entry.at)} {entry.actor_id}: {reason}")


def _changes(values: list[str]) -> dict[str, dict[str, str]]:
    """{category or record id: {field: value}} of the `--set` options."""
    changes: dict[str, dict[str, str]] = {}
    for position, item in enumerate(values, start=1):
        target, sep, value = item.partition("=")
        where, dot, name = target.partition(".")
        if not (sep and dot and where.strip() and name.strip()):
            # The value is personal data: the message names the option, never its text.
            raise Invalid(
                f"--set number {position} is not CATEGORY.FIELD=VALUE",
                hint="e.g. --set registration.phone=+994…; where a category has several "
                "records, RECORD_ID.FIELD=VALUE",
            )
        changes.setdefault(where.strip(), {})[name.strip()] = value
    return changes


Langs = Annotated[
    str | None,
    typer.Option(
        "--lang",
        help="Letter languages, comma-separated (az,ru): one letter each, "
        "<id>.<lang>.html and .pdf. Default: the request's language.",
    ),
]


def _languages(value: str | None) -> list[str]:
    """The languages of `--lang az,ru`, checked; [] for none given."""
    from mexfi.policy import LANGS

    langs = list(dict.fromkeys(v.strip() for v in (value or "").split(",") if v.strip()))
    unknown = [v for v in langs if v not in LANGS]
    if unknown:
        raise typer.BadParameter(
            f"{unknown[0]!r} is not a letter language; languages: {', '.join(LANGS)}",
            param_hint="--lang",
        )
    return langs


def _letter_names(request_id: str, langs: Iterable[str], pdf: bool) -> list[str]:
    """The file names of a request's letters: <id>.<lang>.html and, with pdf, .pdf."""
    suffixes = ("html", "pdf") if pdf else ("html",)
    return [f"{request_id}.{lang}.{suffix}" for lang in langs for suffix in suffixes]


def _letters(
    policy: Any, answer: Any, langs: Iterable[str], pdf: bool, dated: datetime
) -> list[tuple[str, bytes]]:
    """(file name, content) of the answer's letter in each language."""
    from mexfi.requests import render_letter

    files = []
    for lang in langs:
        html = render_letter(policy, answer, format="html", lang=lang, dated=dated)
        files.append((f"{answer.request.id}.{lang}.html", str(html).encode()))
        if pdf:
            document = render_letter(policy, answer, format="pdf", lang=lang, dated=dated)
            assert isinstance(document, bytes)
            files.append((f"{answer.request.id}.{lang}.pdf", document))
    return files


def _stage_private(path: Path, content: bytes) -> None:
    """Write a file that holds the subject's data: readable by its owner only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)


@requests_app.command("answer")
def answer_command(
    actor: ActorId,
    request_id: Annotated[str, typer.Argument(help="Request id.")],
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out", help="Directory for <id>.json and the letters <id>.<lang>.html, .pdf."
        ),
    ] = Path("."),
    lang: Langs = None,
    set_values: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Rectification: CATEGORY.FIELD=VALUE, e.g. registration.phone=+994… "
            "(repeatable); RECORD_ID.FIELD=VALUE where a category has several records.",
        ),
    ] = None,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also write the PDF letter.")] = True,
    now: Annotated[str | None, typer.Option(help="Act as of this time (ISO 8601).")] = None,
    role: Role = "dpo",
    allow_future: AllowFuture = False,
    force: Force = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Destruction: confirm without a prompt (scripts).")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Destruction: show what it would destroy; change nothing."),
    ] = False,
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Of the --dry-run preview.")
    ] = OutputFormat.text,
) -> None:
    """Carry out a verified request; write the JSON answer and the letter (HTML, PDF).

    A destruction first shows what it destroys (categories, record counts, the legal holds
    that keep some) and asks to confirm (`--yes` in scripts); one a hold blocks goes
    `on_hold` and writes no letter until the hold is lifted. A rejected request gets its
    reasoned refusal.
    """
    from mexfi.requests import answer_request

    at = parse_time(now, "--now", allow_future=allow_future)
    langs = _languages(lang)
    if not dry_run:
        # Refused before anything is looked up or answered: an answer is carried out once.
        for name in [f"{request_id}.json", *_letter_names(request_id, langs, pdf)]:
            claim_output(out_dir / name, force=force)
        out_dir.mkdir(parents=True, exist_ok=True)
    preview = _destruction_gate(request_id, at, yes=yes, dry_run=dry_run, format=format)
    if dry_run:
        return
    staged: list[Path] = []
    try:
        with open_vault(clock=_clock(at)) as vault, vault.unit_of_work() as uow:
            _unchanged(vault, uow, preview)
            answer = answer_request(
                vault,
                uow,
                request_id,
                actor=_actor(actor, role),
                changes=_changes(set_values or []),
            )
            # On hold, it is not answered yet: its letter is written when the hold is lifted.
            # Staged inside the unit of work: a file clash still rolls the answer back.
            if answer.request.state.value != "on_hold":
                staged = stage_answer(vault, answer, out_dir, langs=langs, pdf=pdf, force=force)
    except BaseException:
        for path in staged:
            path.unlink(missing_ok=True)
        raise
    written = publish(staged)
    _show(
        answer.request, answer.request.answered_at or datetime.now().astimezone(), OutputFormat.text
    )
    for path in written:
        err.print(f"wrote {path}")


@requests_app.command("letter")
def letter_command(
    request_id: Annotated[str, typer.Argument(help="Request id.")],
    lang: Langs = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Directory of the JSON answer <id>.json (what `requests answer --out` "
            "wrote) and of the letters; default: the current directory.",
        ),
    ] = None,
    answer_file: Annotated[
        Path | None,
        typer.Option("--answer", help="The JSON answer, if not <--out>/<id>.json."),
    ] = None,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also write the PDF letter.")] = True,
    force: Force = False,
) -> None:
    """Write an answered request's letter again, e.g. in another language.

    From the JSON answer `requests answer` wrote (<--out>/<id>.json, or
    --answer): nothing is carried out again, no data is read from the store.
    The letter keeps the answer's date and reference. A refused request
    without a JSON answer gets its refusal from its reasons.
    """
    from mexfi.errors import NotFound
    from mexfi.requests import answer_from_export, get_request

    langs = _languages(lang)
    folder = out_dir if out_dir is not None else Path(".")
    source = answer_file if answer_file is not None else folder / f"{request_id}.json"
    with open_vault() as vault, vault.unit_of_work() as uow:
        request = get_request(vault, uow, request_id)
        policy = vault.policy(request.policy_id)
        moment = vault.clock.now()
    data: dict[str, Any] | None = None
    if source.is_file():
        try:
            data = json.loads(source.read_bytes())
        except ValueError:
            raise Invalid(
                f"{source} is not a JSON answer",
                hint=f"give the file `mexfi requests answer {request_id}` wrote",
            ) from None
        if not isinstance(data, dict):
            raise Invalid(f"{source} is not a JSON answer")
    elif request.state.value == "answered":
        raise NotFound(
            f"no JSON answer of request {request_id} at {source}",
            hint="give --out the directory `mexfi requests answer --out` wrote to, or "
            "--answer the file",
        )
    answer = answer_from_export(request, data)
    letters = langs or [request.language]
    target = out_dir if out_dir is not None else source.parent
    for name in _letter_names(request_id, letters, pdf):
        claim_output(target / name, force=force)
    target.mkdir(parents=True, exist_ok=True)
    for name, content in _letters(policy, answer, letters, pdf, moment):
        partial = target / f"{name}.partial"
        _stage_private(partial, content)
        partial.replace(target / name)
        err.print(f"wrote {target / name}")


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


# --------------------------------------------------------------------------- verification


def _send(request_id: str, actor: Any, at: datetime | None) -> Any:
    """Send request `request_id` a one-time code through MEXFI_CODE_SENDER's sender."""
    from mexfi.requests import code_sender, send_code

    sender = code_sender()  # an unknown sender is refused before the store is opened
    with open_vault(clock=_clock(at)) as vault, vault.unit_of_work() as uow:
        return send_code(vault, uow, request_id, actor=actor, sender=sender)


def _code_sent(status: Any, sender: str) -> None:
    until = status.code_expires_at.isoformat(timespec="seconds")
    err.print(
        f"code sent for request {status.request_id} through the {sender} sender, valid until "
        f"{until}; enter what the subject read back: "
        f"mexfi requests verify {status.request_id} --code CODE",
        soft_wrap=True,
    )


def _after_intake(request: RequestRead, *, actor: Any, send: bool | None, at: Any) -> None:
    """A request that passed intake waits for its author to be verified. Its code goes out at
    once where the channel is electronic (the requester is at the phone) or with
    `--send-code`; a paper request's code is sent when the DPO is ready (`send-code`)."""
    from mexfi.errors import MexfiError
    from mexfi.requests import code_sender

    if send if send is not None else request.channel == "electronic":
        try:
            status = _send(request.id, actor, at)
        except MexfiError as exc:
            # The request is stored; the code can be sent again, or the DPO verifies otherwise.
            err.print(
                f"request {request.id} is stored and waits for verification, but no code was "
                f"sent: {escape(exc.message)}",
                soft_wrap=True,
            )
            if exc.hint:
                err.print(f"[dim]hint:[/] {escape(exc.hint)}", soft_wrap=True)
            return
        _code_sent(status, code_sender().name)
        return
    err.print(
        f"request {request.id} waits for its author to be verified as the subject:\n"
        f"  send a code to the subject's phone: mexfi requests send-code {request.id}\n"
        f"  then enter it:                      mexfi requests verify {request.id} --code CODE\n"
        f"  or, the DPO, another way:           mexfi requests verify {request.id} "
        "--out-of-band in_person --reason …",
        soft_wrap=True,
    )


@requests_app.command("send-code")
def send_code_command(
    actor: ActorId,
    request_id: Annotated[str, typer.Argument(help="Request id.")],
    now: Annotated[str | None, typer.Option(help="Act as of this time (ISO 8601).")] = None,
    role: Role = "dpo",
    format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.text,
    allow_future: AllowFuture = False,
) -> None:
    """Send a one-time code to the subject's registered phone (MEXFI_CODE_SENDER, default
    console: prints the code and the request id, never the phone). Valid 10 minutes; a new
    code replaces the last; 3 codes an hour per subject and per phone."""
    from mexfi.requests import code_sender

    at = parse_time(now, "--now", allow_future=allow_future)
    status = _send(request_id, _actor(actor, role), at)
    if format is OutputFormat.json:
        out.print_json(json.dumps(status.to_dict()))
        return
    _code_sent(status, code_sender().name)


@requests_app.command("verify")
def verify_command(
    actor: ActorId,
    request_id: Annotated[str, typer.Argument(help="Request id.")],
    code: Annotated[
        str | None, typer.Option("--code", help="The 6-digit code the subject read back.")
    ] = None,
    out_of_band: Annotated[
        str | None,
        typer.Option(
            "--out-of-band",
            help="The DPO verified the subject another way: in_person, notarised_letter or "
            "e_signature (also for a request locked after 3 wrong codes).",
        ),
    ] = None,
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason",
            help="With --out-of-band: how, with references (no names or numbers: it goes to "
            "the audit log).",
        ),
    ] = None,
    now: Annotated[str | None, typer.Option(help="Act as of this time (ISO 8601).")] = None,
    role: Role = "dpo",
    format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.text,
    allow_future: AllowFuture = False,
) -> None:
    """Verify that a request comes from its subject, with the code sent to the subject's phone
    (3 wrong codes lock the request) or the DPO's out-of-band check; then it can be answered."""
    from mexfi.requests import verify_code, verify_out_of_band

    if (code is None) == (out_of_band is None):
        raise typer.BadParameter("give either --code or --out-of-band (with --reason)")
    if out_of_band is not None and reason is None:
        raise typer.BadParameter("--out-of-band needs --reason: how the subject was identified")
    if code is not None and reason is not None:
        raise typer.BadParameter("--reason goes with --out-of-band, not with --code")
    at = parse_time(now, "--now", allow_future=allow_future)
    who = _actor(actor, role)
    with open_vault(clock=_clock(at)) as vault, vault.unit_of_work() as uow:
        if code is not None:
            request = verify_code(vault, uow, request_id, code, actor=who)
        else:
            assert out_of_band is not None and reason is not None
            request = verify_out_of_band(
                vault, uow, request_id, method=out_of_band, reason=reason, actor=who
            )
    _show(request, vault.clock.now(), format)
    if format is OutputFormat.text:
        err.print(
            f"request {request.id} is verified ({request.verification}); answer it: "
            f"mexfi requests answer {request.id}",
            soft_wrap=True,
        )


def _show_verification(status: Any) -> None:
    """`requests show`: where the request's verification stands."""
    if status.verified:
        out.print(f"  verified: {escape(status.method or '')} at {when(status.verified_at)}")
    elif status.state.value not in ("verifying", "locked"):
        out.print("  verification: none (the request was never verified)")
    else:
        live = (
            f"; code valid until {when(status.code_expires_at)}" if status.code_expires_at else ""
        )
        out.print(
            f"  verification: {status.state.value}, {status.codes_sent} code(s) sent, "
            f"{status.failed_attempts} wrong, {status.attempts_left} attempt(s) left{live}"
        )
    for detail, result in status.identity_checks.items():
        out.print(f"  identity: {escape(detail)} {escape(result)}")


@requests_app.command("amend")
def amend_command(
    actor: ActorId,
    request_id: Annotated[str, typer.Argument(help="Request id.")],
    phone: Annotated[
        str | None,
        typer.Option(help="The corrected phone, matched through the blind index only."),
    ] = None,
    subject: Annotated[
        str | None,
        typer.Option("--subject", help="The corrected subject: its id, pseudonym or phone."),
    ] = None,
    channel: Annotated[
        str | None, typer.Option(help="written, registered_mail, in_person or electronic.")
    ] = None,
    lang: Annotated[str | None, typer.Option(help="Answer language: az, en or ru.")] = None,
    category: Annotated[
        list[str] | None, typer.Option("--category", help="The categories, instead of the old.")
    ] = None,
    all_categories: Annotated[
        bool, typer.Option("--all-categories", help="No longer limited to some categories.")
    ] = False,
    include_passive: Annotated[
        bool | None,
        typer.Option("--include-passive/--active-only", help="Access: the passive tier too."),
    ] = None,
    received_at: Annotated[
        str | None, typer.Option(help="The corrected time of receipt (ISO 8601).")
    ] = None,
    id_series: IdSeries = None,
    id_number: IdNumber = None,
    id_issued_on: IdIssuedOn = None,
    id_authority: IdAuthority = None,
    address: Address = None,
    fin: Fin = None,
    contract_number: ContractNumber = None,
    contract_date: ContractDate = None,
    relationship: Relationship = None,
    signed: Signed = False,
    now: Annotated[str | None, typer.Option(help="Act as of this time (ISO 8601).")] = None,
    role: Role = "dpo",
    format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.text,
    allow_future: AllowFuture = False,
) -> None:
    """Correct a request not yet answered (a mistyped phone, missing identity details, …)
    and check it again; the audit log keeps what changed (field names, never values)."""
    from mexfi.requests import WrittenDetails, amend_request

    if category and all_categories:
        raise typer.BadParameter("--category and --all-categories exclude each other")
    at = parse_time(now, "--now", allow_future=allow_future)
    received = parse_time(received_at, "--received-at", allow_future=allow_future)
    details = {
        "id_document_series": id_series,
        "id_document_number": id_number,
        "id_issue_date": id_issued_on,
        "id_issue_authority": id_authority,
        "address": address,
        "fin": fin,
        "contract_number": contract_number,
        "contract_date": contract_date,
        "relationship_other": relationship,
    }
    given = any(v is not None for v in details.values()) or signed
    written = WrittenDetails(**details, signed=signed) if given else None
    with open_vault(clock=_clock(at)) as vault, vault.unit_of_work() as uow:
        request = amend_request(
            vault,
            uow,
            request_id,
            actor=_actor(actor, role),
            phone=phone,
            subject_id=(
                resolve_subject(vault, uow, subject, policy_id=None).id
                if subject is not None
                else None
            ),
            written=written,
            channel=channel,
            language=lang,
            categories=() if all_categories else category,
            include_passive=include_passive,
            received_at=received,
        )
    _show(request, vault.clock.now(), format)
    if request.state.value == "rejected":
        _rejected_on_intake(request)
    if request.state.value == "verifying":
        _after_intake(request, actor=_actor(actor, role), send=False, at=at)


@requests_app.command("withdraw")
def withdraw_command(
    actor: ActorId,
    request_id: Annotated[str, typer.Argument(help="Request id.")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why, as a code: typo, duplicate, wrong_subject, …")
    ],
    role: Role = "dpo",
    format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.text,
) -> None:
    """Withdraw a request entered by mistake: closed, not a refusal, never overdue.

    A real request that fails TX-11 is not withdrawn but answered with its reasoned
    refusal (`mexfi requests answer ID`).
    """
    from mexfi.requests import withdraw_request

    with open_vault() as vault, vault.unit_of_work() as uow:
        request = withdraw_request(vault, uow, request_id, actor=_actor(actor, role), reason=reason)
    _show(request, vault.clock.now(), format)


def _print_preview(preview: DestructionPreview, *, console: Any) -> None:
    """What a destruction would destroy, as a table: categories, record counts, holds."""
    table = listing(
        f"request {preview.request_id} would destroy {preview.records} record(s) of "
        f"subject {preview.subject_pseudonym}"
    )
    table.add_column("category", overflow="fold")
    table.add_column("records", justify="right", no_wrap=True)
    table.add_column("legal hold (kept)", overflow="fold")
    for category, count in preview.counts.items():
        hold = preview.holds.get(category)
        table.add_row(category, str(count), hold or "")
    console.print(table)
    for hold_id, reason in sorted(preview.hold_reasons.items()):
        console.print(f"  hold {hold_id}: {escape(reason)}", soft_wrap=True)
    if preview.holds:
        console.print(
            f"  {preview.records_held} record(s) kept by legal holds: the rest is destroyed now, "
            "the request goes on hold, and lifting the holds destroys what they keep",
            soft_wrap=True,
        )


def _destruction_gate(
    request_id: str,
    at: datetime | None,
    *,
    yes: bool,
    dry_run: bool,
    format: OutputFormat,
) -> DestructionPreview | None:
    """Before `requests answer` of a destruction: show what it destroys and get the DPO's
    yes (`--yes`, or a terminal's prompt); `--dry-run` shows it only. None: not a
    destruction, nothing to confirm."""
    from mexfi.requests import RequestKind, destruction_preview, get_request

    with open_vault(clock=_clock(at)) as vault, vault.unit_of_work() as uow:
        request = get_request(vault, uow, request_id)
        if request.kind is not RequestKind.DESTRUCTION or request.state.value not in (
            "in_progress",
            "on_hold",
        ):
            if dry_run:
                raise Invalid(
                    f"request {request_id} is a {request.kind.value} request "
                    f"({request.state.value}): --dry-run previews a verified destruction",
                    hint="answer it without --dry-run",
                )
            return None
        preview = destruction_preview(vault, uow, request_id)
    if dry_run:
        if format is OutputFormat.json:
            out.print_json(json.dumps(preview.to_dict()))
        else:
            _print_preview(preview, console=out)
            err.print("dry run: nothing destroyed")
        return preview
    _print_preview(preview, console=err)
    if yes:
        return preview
    if not sys.stdin.isatty():
        err.print(
            f"not confirmed: nothing destroyed. Destroying needs a yes: run it in a terminal, "
            f"or add --yes (mexfi requests answer {request_id} --yes); --dry-run only shows it",
            soft_wrap=True,
        )
        raise typer.Exit(2)
    if not typer.confirm(f"Destroy {preview.records} record(s)?", default=False, err=True):
        err.print("not confirmed: nothing destroyed")
        raise typer.Exit(1)
    return preview


def _unchanged(vault: Any, uow: Any, preview: DestructionPreview | None) -> None:
    """Refuse if what a destruction would destroy changed since the DPO confirmed it."""
    from mexfi.errors import Conflict
    from mexfi.requests import destruction_preview

    if preview is not None and destruction_preview(vault, uow, preview.request_id) != preview:
        raise Conflict(
            f"what request {preview.request_id} would destroy changed since it was shown "
            "(new records, or a hold placed or lifted): nothing destroyed",
            hint="run the answer again to see and confirm what it destroys now",
        )


def stage_answer(
    vault: Any,
    answer: Answer,
    out_dir: Path,
    *,
    langs: Sequence[str] = (),
    pdf: bool,
    force: bool,
) -> list[Path]:
    """Write an answer's JSON and its letter in each of `langs` (default: the request's
    language) as `.partial` files, readable by the owner only; `publish` puts them in place
    once the answer is committed. Nothing is left behind if one cannot be written."""
    from mexfi.requests import export_json

    request_id = answer.request.id
    policy = vault.policy(answer.request.policy_id)
    letters = list(langs) or [answer.request.language]
    files = [(f"{request_id}.json", export_json(answer.data).encode())]
    files += _letters(policy, answer, letters, pdf, vault.clock.now())
    for name, _ in files:
        claim_output(out_dir / name, force=force)
    out_dir.mkdir(parents=True, exist_ok=True)
    staged: list[Path] = []
    try:
        for name, content in files:
            target = out_dir / f"{name}.partial"
            staged.append(target)
            _stage_private(target, content)
    except BaseException:
        for path in staged:
            path.unlink(missing_ok=True)
        raise
    return staged


def publish(staged: list[Path]) -> list[Path]:
    """Put staged answer files in place (the answer is committed)."""
    written = []
    for path in staged:
        final = path.with_suffix("")
        path.replace(final)
        written.append(final)
    return written
