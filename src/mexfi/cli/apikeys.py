"""`mexfi apikeys`: the keys services, staff, the DPO and auditors call the HTTP API with."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape

from mexfi.cli.context import open_vault
from mexfi.cli.options import ActorId, OutputFormat
from mexfi.cli.output import add_id_column, err, listing, out, when

__all__ = ["apikeys_app"]

apikeys_app = typer.Typer(
    help="API keys: create (shown once), list (never the key), revoke.", no_args_is_help=True
)


@apikeys_app.command("create")
def create_command(
    policy: Annotated[str, typer.Option("--policy", help="The policy the key is scoped to.")],
    role: Annotated[
        str,
        typer.Option(
            "--role", help="One of the policy's staff or system roles, or dpo or auditor."
        ),
    ],
    label: Annotated[str, typer.Option("--label", help="What the key is for (no personal data).")],
    actor: ActorId,
) -> None:
    """Create a key; it is printed once, on stdout, and only its keyed hash is kept."""
    from mexfi.apikeys import create_api_key
    from mexfi.vault import Actor

    with open_vault() as vault, vault.unit_of_work() as uow:
        created = create_api_key(
            vault, uow, policy_id=policy, role=role, label=label, actor=Actor(actor, "dpo")
        )
    err.print(f"API key {created.key.id} for {policy}/{role}; shown this once, keep it secret:")
    out.print(created.secret, markup=False, soft_wrap=True)
    err.print(f"id: {created.key.id} (`mexfi apikeys revoke {created.key.id}` revokes it)")


@apikeys_app.command("list")
def list_command(
    policy: Annotated[str | None, typer.Option(help="Only this policy.")] = None,
    format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.text,
) -> None:
    """List the keys: id, scope, label, state. Never a key."""
    from mexfi.apikeys import list_api_keys

    with open_vault() as vault, vault.unit_of_work() as uow:
        keys = list_api_keys(uow, policy_id=policy)
    if format is OutputFormat.json:
        out.print_json(
            json.dumps(
                [
                    {
                        "id": k.id,
                        "policy_id": k.policy_id,
                        "role": k.role,
                        "label": k.label,
                        "created_by": k.created_by,
                        "created_at": k.created_at.isoformat(),
                        "revoked_by": k.revoked_by,
                        "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
                    }
                    for k in keys
                ]
            )
        )
        return
    table = listing(f"{len(keys)} API key(s)")
    add_id_column(table)
    for column in ("scope", "label", "state"):
        table.add_column(column, overflow="fold")
    for k in keys:
        state = "active" if k.active else f"revoked {when(k.revoked_at)}"
        table.add_row(k.id, f"{k.policy_id}/{k.role}", escape(k.label), state)
    out.print(table)


@apikeys_app.command("revoke")
def revoke_command(
    key_id: Annotated[str, typer.Argument(help="The key's id (`mexfi apikeys list`).")],
    actor: ActorId,
) -> None:
    """Revoke a key: from the next request on it is refused (401)."""
    from mexfi.apikeys import revoke_api_key
    from mexfi.vault import Actor

    with open_vault() as vault, vault.unit_of_work() as uow:
        key = revoke_api_key(vault, uow, key_id, actor=Actor(actor, "dpo"))
    err.print(f"API key {key.id} revoked {when(key.revoked_at)}")
