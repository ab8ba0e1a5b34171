"""The `mexfi` command line: typer commands over the capabilities."""

__all__: list[str] = []
