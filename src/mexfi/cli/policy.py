"""`mexfi policy`: lint, render and export the operators' policies."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from mexfi.cli.options import OutputFormat
from mexfi.cli.output import Force, claim_output, err, listing, out
from mexfi.cli.policy_versions import install_version_commands

if TYPE_CHECKING:
    from mexfi.vault import AccessCell

__all__ = ["policy_app"]

policy_app = typer.Typer(
    help="Lint, render and export privacy policies written as code (policies/*.yaml); the "
    "versions the store keeps, their differences, who has not accepted the current one.",
    no_args_is_help=True,
)

PolicyFiles = Annotated[
    list[Path],
    typer.Argument(help="Policy files (YAML), e.g. policies/*.yaml.", show_default=False),
]


class NoticeLang(StrEnum):
    az = "az"
    en = "en"
    ru = "ru"


class NoticeFormat(StrEnum):
    md = "md"
    html = "html"


class DatamapFormat(StrEnum):
    json = "json"
    fides = "fides"


@policy_app.command("lint")
def lint_command(
    files: PolicyFiles,
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="text for people, json for tools.")
    ] = OutputFormat.text,
    exit_zero: Annotated[
        bool,
        typer.Option(
            "--exit-zero",
            help="Exit 0 even when error-level findings exist (report only).",
        ),
    ] = False,
) -> None:
    """Find where a policy's promises cannot hold together.

    Exits 1 when any error-level finding exists, so operators can run it in CI.
    """
    from mexfi.policy import Severity, lint_policy, load_policy

    results = [(path, lint_policy(load_policy(path))) for path in files]
    if format is OutputFormat.json:
        payload = [
            {"file": str(path), "findings": [f.to_dict() for f in findings]}
            for path, findings in results
        ]
        out.print_json(json.dumps(payload, ensure_ascii=False))
    else:
        for path, findings in results:
            if not findings:
                out.print(f"{path}: no findings")
                continue
            noun = "finding" if len(findings) == 1 else "findings"
            table = Table(title=f"{path}: {len(findings)} {noun}", show_lines=True)
            table.add_column("rule", no_wrap=True)
            table.add_column("severity", no_wrap=True)
            table.add_column("clauses")
            table.add_column("finding")
            for finding in findings:
                style = {"error": "red", "warning": "yellow"}.get(finding.severity.value, "")
                table.add_row(
                    finding.rule,
                    f"[{style}]{finding.severity.value}[/]" if style else finding.severity.value,
                    ", ".join(finding.clauses),
                    finding.message,
                )
            out.print(table)
    errors = sum(1 for _, findings in results for f in findings if f.severity is Severity.ERROR)
    if errors:
        note = " (--exit-zero: exit 0)" if exit_zero else ""
        err.print(f"{errors} error-level finding{'' if errors == 1 else 's'}{note}")
        if not exit_zero:
            raise typer.Exit(1)


@policy_app.command("render")
def render_command(
    file: Annotated[Path, typer.Argument(help="A policy file (YAML).", show_default=False)],
    lang: Annotated[NoticeLang, typer.Option("--lang", "-l", help="Language of the notice.")] = (
        NoticeLang.en
    ),
    format: Annotated[
        NoticeFormat, typer.Option("--format", "-f", help="md (Markdown) or html.")
    ] = NoticeFormat.md,
    output: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write here instead of stdout.", show_default=False),
    ] = None,
    force: Force = False,
) -> None:
    """Write the human-readable privacy notice of a policy, citing its clauses."""
    from mexfi.policy import load_policy, render_notice

    if output is not None:
        claim_output(output, force=force)
    text = render_notice(load_policy(file), lang=lang.value, format=format.value)
    _emit(text, output)


@policy_app.command("datamap")
def datamap_command(
    file: Annotated[Path, typer.Argument(help="A policy file (YAML).", show_default=False)],
    format: Annotated[
        DatamapFormat,
        typer.Option("--format", "-f", help="json, or fides: a Fides system + dataset YAML."),
    ] = DatamapFormat.json,
    output: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write here instead of stdout.", show_default=False),
    ] = None,
    force: Force = False,
) -> None:
    """Export the data map: categories, purposes and recipients."""
    from mexfi.policy import export_datamap, load_policy

    if output is not None:
        claim_output(output, force=force)
    _emit(export_datamap(load_policy(file), format=format.value), output)


@policy_app.command("matrix")
def matrix_command(
    file: Annotated[Path, typer.Argument(help="A policy file (YAML).", show_default=False)],
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="text for people, json for tools.")
    ] = OutputFormat.text,
) -> None:
    """Print who may reach what: every role × purpose × category × tier, allowed or not,
    and the recorded facts an allowed cell needs (a request, a demand, a consent…)."""
    from mexfi.policy import load_policy
    from mexfi.vault import TIERS, access_matrix

    policy = load_policy(file)
    cells = access_matrix(policy, TIERS)
    allowed = sum(1 for c in cells if c.allowed)
    dimensions = {
        "roles": len(policy.roles),
        "purposes": len(policy.purposes),
        "categories": len(policy.categories),
        "tiers": len(TIERS),
    }
    if format is OutputFormat.json:
        payload = {
            "policy": policy.id,
            "dimensions": dimensions,
            "cells": len(cells),
            "allowed": allowed,
            "matrix": [
                {
                    "role": c.role,
                    "purpose": c.purpose,
                    "category": c.category,
                    "tier": c.tier,
                    "allowed": c.allowed,
                    "needs": list(c.needs),
                    "reason": c.reason,
                    "clauses": list(c.clauses),
                }
                for c in cells
            ],
        }
        out.print_json(json.dumps(payload, ensure_ascii=False))
        return
    by_key = {(c.purpose, c.role, c.category, c.tier): c for c in cells}
    # Category ids as headers where they fit whole; else numbered, with a legend (an id is
    # never cut to "regi…").
    role_width = max(len(r.id) for r in policy.roles)
    named = role_width + sum(max(len(c.id), 9) + 2 for c in policy.categories) <= out.width
    headers = [c.id if named else str(n) for n, c in enumerate(policy.categories, start=1)]
    if not named:
        out.print(
            "categories: "
            + ", ".join(f"{n}={c.id}" for n, c in enumerate(policy.categories, start=1)),
            soft_wrap=False,
        )
    for purpose in policy.purposes:
        table = listing(f"{policy.id}: purpose {purpose.id}")
        table.add_column("role", no_wrap=True)
        for header in headers:
            table.add_column(header, overflow="fold")
        for role in policy.roles:
            row = [role.id]
            for category in policy.categories:
                row.append(
                    _matrix_cell([by_key[(purpose.id, role.id, category.id, t)] for t in TIERS])
                )
            table.add_row(*row)
        out.print(table)
    out.print(
        f"{len(cells)} cells ({' × '.join(f'{n} {k}' for k, n in dimensions.items())}), "
        f"{allowed} allowed; '-' denied, 'P' also the passive tier, '+fact' a recorded fact "
        f"each read cites (req: an open verified request, rect: a rectification request "
        f"naming the category, law: a lawful demand in force, consent: a written consent, "
        f"opt-in: the subject's opt-in, order: an active order, own: the subject itself)",
        soft_wrap=False,
    )


#: Short names of the facts in the text matrix (the JSON names them in full).
_FACT_CODES = {
    "open_request": "req",
    "rectification_request": "rect",
    "lawful_demand": "law",
    "written_consent": "consent",
    "opt_in": "opt-in",
    "active_order": "order",
    "own_data": "own",
}


def _matrix_cell(tiers: list[AccessCell]) -> str:
    """One role × purpose × category cell over both tiers: '-', 'yes', 'yes P', '+facts'."""
    active = tiers[0]
    if not active.allowed:
        return "-"
    text = "yes" + (" P" if any(c.allowed for c in tiers[1:]) else "")
    return text + "".join(f" +{_FACT_CODES.get(fact, fact)}" for fact in active.needs)


# The store's versions of the policies (issue 13): versions, diff, pending, notify.
install_version_commands(policy_app)


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        out.file.write(text if text.endswith("\n") else text + "\n")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so an interrupted run never leaves half a notice behind.
    partial = output.with_name(output.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(output)
    err.print(f"wrote {output}")
