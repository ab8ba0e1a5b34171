"""`mexfi subjects`: find a subject by any of its ids, and see what the store holds of it.

A subject is named three ways, and every command that takes one accepts each
(`resolve_subject`): its id (32 hex digits), its pseudonym (`ps_` and 24 hex digits, the
audit log's name for it), or its phone (from `+` or a digit; matched through the blind
index only, and never printed).

    mexfi subjects find --phone '+994 55 …'      # or MEXFI_SUBJECT_PHONE, out of the history
    mexfi subjects show ps_0123456789abcdef01234567
    mexfi subjects show ID --purpose subject_request --request-id REQ
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from mexfi.cli.context import open_vault
from mexfi.cli.options import ActorId, OutputFormat
from mexfi.cli.output import err, out, when
from mexfi.errors import Invalid

if TYPE_CHECKING:
    from mexfi.db import UnitOfWork
    from mexfi.policy import Policy
    from mexfi.requests import RequestRead
    from mexfi.retention import HoldRead
    from mexfi.vault import (
        CategorySummary,
        DestroyedCandidate,
        DestructionReport,
        SubjectData,
        SubjectRead,
        Vault,
    )

__all__ = ["describe_subject", "resolve_subject", "subjects_app"]

subjects_app = typer.Typer(
    help="Subjects: find one by id, pseudonym or phone; what the store holds of it.",
    no_args_is_help=True,
)

_SUBJECT_ID = re.compile(r"[0-9a-fA-F]{32}")
_PSEUDONYM = re.compile(r"ps_[0-9a-f]{24}")
#: A phone as typed: a + or a digit first, then digits and separators.
_PHONE = re.compile(r"[+0-9][0-9 ()./-]*")
_FORMS_HINT = (
    "give a subject id (32 hex digits), a pseudonym (ps_ and 24 hex digits) or a phone "
    "(+994 … or 0…)"
)


def describe_subject(subject: SubjectRead) -> str:
    """How a command names the subject it resolved: id, pseudonym, policy and kind."""
    return f"subject {subject.id} ({subject.pseudonym}, {subject.policy_id} {subject.kind})"


def resolve_subject(
    vault: Vault,
    uow: UnitOfWork,
    ref: str,
    *,
    policy_id: str | None = None,
    quiet: bool = False,
) -> SubjectRead:
    """The subject `ref` names: a subject id, a pseudonym or a phone; stderr says which one
    it resolved to (id and pseudonym, never the phone) unless `quiet`.

    A phone is looked up in `policy_id`, or else in every loaded policy, and refused when
    more than one holds it. A phone that matches no live subject names the destroyed
    subjects sharing its blind-index value, as candidates. `SubjectNotFound` or `Invalid`
    (exit 3) with a hint otherwise.
    """
    from mexfi.vault import SubjectNotFound

    text = ref.strip()
    if policy_id is not None:
        vault.policy(policy_id)  # PolicyNotFound names the loaded ones
    if _SUBJECT_ID.fullmatch(text):
        subject = vault.subject(uow, text.lower())
    elif _PSEUDONYM.fullmatch(text):
        subject = vault.subject_by_pseudonym(uow, text)
    elif _PHONE.fullmatch(text) and any(c.isdigit() for c in text):
        subject = _by_phone(vault, uow, text, policy_id)
    else:
        raise SubjectNotFound(
            "no subject: the reference given is not a subject id, a pseudonym or a phone",
            hint=_FORMS_HINT,
        )
    if policy_id is not None and subject.policy_id != policy_id:
        raise SubjectNotFound(
            f"subject {subject.id} is a subject of policy {subject.policy_id!r}, not {policy_id!r}",
            hint=f"pass --policy {subject.policy_id}, or check the reference",
        )
    if not quiet:
        err.print(f"resolved to {describe_subject(subject)}")
    return subject


def _by_phone(vault: Vault, uow: UnitOfWork, phone: str, policy_id: str | None) -> SubjectRead:
    from mexfi.vault import SubjectNotFound

    policies = [policy_id] if policy_id is not None else sorted(vault.policies)
    found = [s for p in policies if (s := vault.find_by_phone(uow, p, phone)) is not None]
    if len(found) > 1:
        raise Invalid(
            f"the phone is registered in {len(found)} policies: "
            + "; ".join(f"{describe_subject(s)}" for s in found),
            hint="pass --policy to say which, or give the subject id",
        )
    if found:
        return found[0]
    where = f"policy {policy_id!r}" if policy_id else "any loaded policy"
    candidates = vault.destroyed_candidates(uow, phone, policy_id=policy_id)
    if candidates:
        raise SubjectNotFound(
            f"no live subject of {where} holds this phone; its data may have been destroyed "
            "under a retention rule or a request, and the phone is not kept. "
            f"{len(candidates)} destroyed subject(s) share its blind-index value: a "
            "candidate list, not a match (about a thousand numbers share each value):\n"
            f"{_candidate_list(candidates)}",
            hint="confirm a candidate from its destruction certificate and your own records: "
            "`mexfi retention certificates SUBJECT_ID`; `mexfi subjects show SUBJECT_ID` shows "
            "what is left of it",
        )
    raise SubjectNotFound(
        f"no subject of {where} holds this phone, and no destroyed subject's recorded "
        "blind-index value matches it",
        hint="check the number; a subject whose registration data was destroyed (TX-7.7 "
        "destroys a driver's after 24 hours) is no longer found by phone: find it by id or "
        "pseudonym (`mexfi subjects find --id` / `--pseudonym`, e.g. from `mexfi requests "
        "list` or `mexfi audit show`)",
    )


def _candidate_list(candidates: list[DestroyedCandidate]) -> str:
    return "\n".join(
        f"  subject {c.subject_id} ({c.pseudonym}, {c.policy_id} {c.kind}), destroyed "
        f"{when(c.destroyed_at)} by {c.rule_id or f'request {c.request_id}'}"
        for c in candidates
    )


def _ref(phone: str | None, subject_id: str | None, pseudonym: str | None) -> str:
    given = [v for v in (phone, subject_id, pseudonym) if v is not None]
    if not given:
        env = os.environ.get("MEXFI_SUBJECT_PHONE")
        if env:
            return env
        raise Invalid(
            "say which subject: --id, --pseudonym or --phone",
            hint="or set MEXFI_SUBJECT_PHONE to keep the phone out of the shell history",
        )
    if len(given) > 1:
        raise Invalid("give one of --id, --pseudonym or --phone, not several")
    return given[0]


def _subject_dict(subject: SubjectRead) -> dict[str, Any]:
    return {
        "id": subject.id,
        "pseudonym": subject.pseudonym,
        "policy_id": subject.policy_id,
        "kind": subject.kind,
        "status": subject.status,
        "registered_at": subject.registered_at.isoformat(),
    }


PolicyOption = Annotated[
    str | None,
    typer.Option("--policy", help="Look a phone up in this policy only (default: every one)."),
]
Format = Annotated[OutputFormat, typer.Option("--format", "-f")]


@subjects_app.command("find")
def find_command(
    phone: Annotated[
        str | None,
        typer.Option(
            help="The subject's phone, matched through the blind index only "
            "(or set MEXFI_SUBJECT_PHONE to keep it out of the shell history)."
        ),
    ] = None,
    subject_id: Annotated[str | None, typer.Option("--id", help="Subject id.")] = None,
    pseudonym: Annotated[
        str | None, typer.Option("--pseudonym", help="Pseudonym (ps_…), as in the audit log.")
    ] = None,
    policy: PolicyOption = None,
    format: Format = OutputFormat.text,
) -> None:
    """Find a subject by phone, id or pseudonym; print its id, pseudonym, policy and status.

    Exit code 3 when none matches (a destroyed subject's phone names the
    candidates) or a phone is registered in more than one policy (--policy).
    """
    ref = _ref(phone, subject_id, pseudonym)
    if subject_id is not None and not _SUBJECT_ID.fullmatch(subject_id.strip()):
        raise Invalid("--id takes a subject id (32 hex digits)", hint=_FORMS_HINT)
    if pseudonym is not None and not _PSEUDONYM.fullmatch(pseudonym.strip()):
        raise Invalid("--pseudonym takes a pseudonym (ps_ and 24 hex digits)", hint=_FORMS_HINT)
    with open_vault() as vault, vault.unit_of_work() as uow:
        subject = resolve_subject(vault, uow, ref, policy_id=policy, quiet=True)
    if format is OutputFormat.json:
        out.print_json(json.dumps(_subject_dict(subject)))
        return
    out.print(f"subject   {subject.id}")
    out.print(f"pseudonym {subject.pseudonym}")
    out.print(f"policy    {subject.policy_id} ({subject.kind})")
    out.print(f"status    {subject.status}; registered {when(subject.registered_at)}")


@subjects_app.command("show")
def show_command(
    actor: ActorId,
    ref: Annotated[
        str | None,
        typer.Argument(
            help="Subject id, pseudonym or phone (default: MEXFI_SUBJECT_PHONE).",
            show_default=False,
        ),
    ] = None,
    policy: PolicyOption = None,
    purpose: Annotated[
        str | None,
        typer.Option(
            help="Also read the values, for this declared purpose (audited; give the facts "
            "it is bound to, e.g. --request-id)."
        ),
    ] = None,
    request_id: Annotated[
        str | None, typer.Option("--request-id", help="The open request the read cites.")
    ] = None,
    demand_id: Annotated[
        str | None, typer.Option("--demand-id", help="The lawful demand the read cites.")
    ] = None,
    category: Annotated[
        list[str] | None, typer.Option("--category", help="Read only these categories.")
    ] = None,
    include_passive: Annotated[
        bool, typer.Option("--include-passive", help="Read the passive tier too (BK-3.3).")
    ] = False,
    role: Annotated[str, typer.Option("--role", help="The reader's role in the policy.")] = "dpo",
    format: Format = OutputFormat.text,
) -> None:
    """What the store holds of a subject: records by category and tier, holds, requests.

    Also its status, written consents and destruction certificates.

    No value is shown unless --purpose is given; then the values are read
    through the vault's purpose checks (with the purpose's facts, e.g.
    --request-id), and the read is audited.
    """
    from mexfi.requests import list_requests
    from mexfi.retention import active_holds, certificates
    from mexfi.vault import Actor

    text = ref if ref is not None else os.environ.get("MEXFI_SUBJECT_PHONE")
    if not text:
        raise Invalid(
            "say which subject: its id, pseudonym or phone",
            hint="or set MEXFI_SUBJECT_PHONE to keep the phone out of the shell history",
        )
    if purpose is None and (request_id or demand_id or category or include_passive):
        raise Invalid(
            "--request-id, --demand-id, --category and --include-passive go with --purpose",
            hint="without --purpose no value is read",
        )
    with open_vault() as vault, vault.unit_of_work() as uow:
        subject = resolve_subject(vault, uow, text, policy_id=policy)
        summary = vault.category_summary(uow, subject.id)
        holds = active_holds(uow, policy_id=subject.policy_id, subject_id=subject.id)
        consents = vault.written_consents(uow, subject.id)
        requests = [
            r
            for r in list_requests(vault, uow, policy_id=subject.policy_id)
            if r.subject_id == subject.id
        ]
        certs = certificates(vault, uow, subject.id, actor=Actor(actor, "dpo"))
        of_policy = vault.policy(subject.policy_id)
        declared = [c.id for c in of_policy.categories_of(subject.kind)]
        data = None
        if purpose is not None:
            data = vault.read(
                uow,
                subject.id,
                category or _readable(of_policy, purpose, declared, summary),
                purpose=purpose,
                actor=Actor(actor, role),
                tiers=("active", "passive") if include_passive else ("active",),
                request_id=request_id,
                demand_id=demand_id,
            )
    view = SubjectView(subject, summary, declared, holds, consents, requests, certs, data)
    if format is OutputFormat.json:
        out.print_json(json.dumps(view.to_dict()))
    else:
        view.print()


def _readable(
    policy: Policy, purpose: str, declared: list[str], summary: list[CategorySummary]
) -> list[str]:
    """The categories a read for `purpose` takes by default: those the subject holds records
    of that the purpose covers (an undeclared purpose is left to the vault to refuse)."""
    held = {c.category for c in summary}
    covered = next((p.categories for p in policy.purposes if p.id == purpose), None)
    chosen = [c for c in declared if c in held and (covered is None or c in covered)]
    if not chosen:
        raise Invalid(
            f"the subject holds no records of the categories purpose {purpose!r} covers",
            hint="name the categories with --category, or choose another purpose",
        )
    return chosen


@dataclass(frozen=True)
class SubjectView:
    """What `subjects show` found, for either format."""

    subject: SubjectRead
    summary: list[CategorySummary]
    declared: list[str]
    holds: list[HoldRead]
    consents: list[str]
    requests: list[RequestRead]
    certificates: list[DestructionReport]
    data: SubjectData | None

    def to_dict(self) -> dict[str, Any]:
        payload = _subject_dict(self.subject)
        payload["categories"] = [
            {
                "category": c.category,
                "tier": c.tier,
                "records": c.records,
                "first_collected_at": c.first_collected_at.isoformat(),
                "last_collected_at": c.last_collected_at.isoformat(),
            }
            for c in self.summary
        ]
        payload["empty_categories"] = self.empty()
        payload["holds"] = [
            {
                "id": h.id,
                "category": h.category,
                "whole_policy": h.subject_id is None,
                "placed_at": h.placed_at.isoformat(),
                "reason": h.reason,
            }
            for h in self.holds
        ]
        payload["written_consents"] = self.consents
        payload["requests"] = [
            {
                "id": r.id,
                "kind": r.kind.value,
                "state": r.state.value,
                "received_at": r.received_at.isoformat(),
                "due_date": r.due_date.isoformat(),
            }
            for r in self.requests
        ]
        payload["certificates"] = [
            {
                "id": c.evidence_id,
                "status": c.status,
                "reason": c.reason,
                "rule": c.rule_id,
                "request": c.request_id,
                "hold": c.hold_id,
                "categories": list(c.categories),
                "clauses": list(c.clauses),
                "records_destroyed": c.records_destroyed,
                "at": c.at.isoformat(),
            }
            for c in self.certificates
        ]
        if self.data is not None:
            payload["purpose"] = self.data.purpose
            payload["records"] = [
                {
                    "id": r.id,
                    "category": r.category,
                    "tier": r.tier,
                    "collected_at": r.collected_at.isoformat(),
                    "values": {k: _jsonable(v) for k, v in r.values.items()},
                }
                for r in self.data.records
            ]
        return payload

    def empty(self) -> list[str]:
        """Declared categories of the subject's kind it holds no record of."""
        held = {c.category for c in self.summary}
        return [c for c in self.declared if c not in held]

    def print(self) -> None:
        subject = self.subject
        out.print(f"subject   {subject.id}")
        out.print(f"pseudonym {subject.pseudonym}")
        out.print(f"policy    {subject.policy_id} ({subject.kind})")
        out.print(f"status    {subject.status}; registered {when(subject.registered_at)}")
        total = sum(c.records for c in self.summary)
        table = Table(title=f"{total} record(s); values only with --purpose", title_justify="left")
        table.add_column("category", overflow="fold")
        table.add_column("tier", overflow="fold")
        table.add_column("records", justify="right")
        table.add_column("collected (UTC)", overflow="fold")
        for c in self.summary:
            span = when(c.first_collected_at)
            if c.last_collected_at != c.first_collected_at:
                span += f" to {when(c.last_collected_at)}"
            table.add_row(c.category, c.tier, str(c.records), span)
        out.print(table)
        if self.empty():
            out.print(f"no records of: {', '.join(self.empty())}")
        out.print(f"legal holds: {len(self.holds)}")
        for h in self.holds:
            reach = f"category {h.category}" if h.category else "every category"
            scope = "this subject" if h.subject_id else "the whole policy"
            out.print(f"  {h.id}  {reach} of {scope}, placed {when(h.placed_at)}")
            out.print(f"    {escape(h.reason)}")
        out.print(f"written consents: {len(self.consents)}")
        for consent in self.consents:
            out.print(f"  {consent}")
        out.print(f"requests: {len(self.requests)}")
        for r in self.requests:
            out.print(f"  {r.id}  {r.kind.value}, {r.state.value}, due {r.due_date.isoformat()}")
        out.print(f"destruction certificates: {len(self.certificates)}")
        for cert in self.certificates:
            status = cert.status if cert.status != "held" else f"held by {cert.hold_id}"
            out.print(f"  {cert.evidence_id}  {status}, {when(cert.at)}")
            out.print(
                f"    {cert.rule_id or cert.request_id or cert.reason}: "
                f"{', '.join(cert.categories)}; {cert.records_destroyed} record(s)"
            )
        if self.data is not None:
            out.print(f"values read for purpose {self.data.purpose} (audited)", style="bold")
            for record in self.data.records:
                out.print(f"{record.category} ({record.tier}) {record.id}")
                out.print(f"  collected {when(record.collected_at)}")
                for name, value in record.values.items():
                    out.print(f"  {name}: {escape(str(_jsonable(value)))}")


def _jsonable(value: Any) -> Any:
    """A decrypted value as JSON holds it: dates ISO 8601, amounts as text, bytes in base64."""
    import base64
    from datetime import date
    from decimal import Decimal

    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode()}
    return value
