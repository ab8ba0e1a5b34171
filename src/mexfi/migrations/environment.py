"""The body of both Alembic env.py files: run migrations on the connection mexfi hands over."""

from __future__ import annotations

from typing import Any, cast

from alembic import context
from sqlalchemy import MetaData

__all__ = ["run_migrations"]


def _translated(metadata: MetaData, translate: dict[Any, Any]) -> MetaData:
    """A copy of `metadata` with schema placeholders replaced as the connection maps them."""
    copy = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.tables.values():
        # None (SQLite) means "no schema" here, which the stubs do not spell.
        schema = cast(str, translate.get(table.schema, table.schema))
        table.to_metadata(copy, schema=schema)
    return copy


def run_migrations(metadata: MetaData) -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "mexfi migrations run through `mexfi db upgrade` (mexfi.migrations.upgrade_store), "
            "which passes the connection"
        )
    translate = dict(connection.get_execution_options().get("schema_translate_map") or {})
    # Revisions keep the placeholder schema (`passive_tier`); comparing against a live database
    # needs the schema this store maps it to.
    compare_live = bool(context.config.attributes.get("compare_live"))
    target = _translated(metadata, translate) if compare_live else metadata
    schemas = {s for s in (translate.get(t.schema, t.schema) for t in metadata.tables.values())}
    schemas.discard(None)

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        return type_ != "schema" or name is None or name in schemas

    context.configure(
        connection=connection,
        target_metadata=target,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
        include_schemas=compare_live and bool(schemas),
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()
