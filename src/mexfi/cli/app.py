"""The root `mexfi` command: mounts each capability's command group, maps errors to exits.

Exit codes: 0 ok, 1 a check failed, 2 usage, 3 not found or invalid, 4 denied,
5 unavailable, 70 a bug (traceback only with MEXFI_DEBUG=1).
"""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

import typer
from rich.markup import escape

from mexfi.cli.apikeys import apikeys_app
from mexfi.cli.audit import audit_app
from mexfi.cli.bench import bench_app
from mexfi.cli.consent import consent_app
from mexfi.cli.db import db_app
from mexfi.cli.demo import demo_command
from mexfi.cli.generate import generate_command
from mexfi.cli.keys import init_command, keys_app
from mexfi.cli.options import check_arguments
from mexfi.cli.output import err
from mexfi.cli.policy import policy_app
from mexfi.cli.requests import requests_app
from mexfi.cli.retention import retention_app, worker_command
from mexfi.cli.scan import bench_scan_command, redact_command, scan_command
from mexfi.cli.serve import serve_command
from mexfi.cli.subjects import subjects_app
from mexfi.errors import Conflict, Denied, Invalid, MexfiError, NotFound, Unavailable

__all__ = ["app", "exit_code_for", "main"]

app = typer.Typer(
    name="mexfi",
    help="mexfi: personal data of mobility operators, kept as their privacy policies promise.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(policy_app, name="policy")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
# `mexfi init` is `mexfi keys init`: the first command on a new machine.
app.command("init")(init_command)
app.add_typer(audit_app, name="audit")
app.add_typer(retention_app, name="retention")
app.add_typer(requests_app, name="requests")
app.add_typer(subjects_app, name="subjects")
app.add_typer(consent_app, name="consent")
app.command("worker")(worker_command)
app.command("generate")(generate_command)
app.add_typer(bench_app, name="bench")
app.command("scan")(scan_command)
app.command("redact")(redact_command)
app.add_typer(apikeys_app, name="apikeys")
app.command("serve")(serve_command)
app.command("demo")(demo_command)
bench_app.command("scan")(bench_scan_command)

_EXIT_CODES: list[tuple[type[MexfiError], int]] = [
    (NotFound, 3),
    (Invalid, 3),
    (Conflict, 3),
    (Denied, 4),
    (Unavailable, 5),
]


def exit_code_for(exc: MexfiError) -> int:
    for kind, code in _EXIT_CODES:
        if isinstance(exc, kind):
            return code
    return 1


def _usage_error(exc: Exception) -> Any:
    """The click exception (bad option, missing argument) inside `exc`, if it is one.

    typer vendors its own click, so both the vendored and the installed class are checked.
    """
    kinds: list[type[Exception]] = []
    try:
        import click

        kinds.append(click.ClickException)
    except ImportError:  # pragma: no cover - typer without click installed
        pass
    vendored = getattr(typer, "_click", None)
    if vendored is not None and hasattr(vendored, "ClickException"):
        kinds.append(vendored.ClickException)
    return exc if kinds and isinstance(exc, tuple(kinds)) else None


def _fail(exc: MexfiError) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(exc.message)}")
    if exc.hint:
        err.print(f"[dim]hint:[/] {escape(exc.hint)}")
    sys.exit(exit_code_for(exc))


def main() -> None:
    """Entry point of the console script."""
    try:
        check_arguments(sys.argv[1:])
        code = app(standalone_mode=False)
    except MexfiError as exc:
        _fail(exc)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except Exception as exc:  # the last line of defence: never a bare traceback
        usage_error = _usage_error(exc)
        if usage_error is not None:
            usage_error.show()
            sys.exit(usage_error.exit_code)
        if isinstance(exc, OSError) and exc.filename is not None:
            # A path the user named (an --out folder, an input file) that the system refuses.
            _fail(
                Unavailable(
                    f"cannot use {exc.filename}: {exc.strerror or type(exc).__name__}",
                    hint="check that the path exists and that this user may read or write it",
                )
            )
        if os.environ.get("MEXFI_DEBUG") == "1":
            raise
        err.print(
            f"[bold red]internal error:[/] {type(exc).__name__}; this is a bug in mexfi. "
            "Run again with MEXFI_DEBUG=1 for the traceback and report it."
        )
        sys.exit(70)
    # Without standalone mode click returns the exit code of `typer.Exit` instead of raising.
    sys.exit(code if isinstance(code, int) else 0)
