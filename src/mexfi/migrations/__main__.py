"""`python -m mexfi.migrations revision records|keys MESSAGE`: autogenerate a revision."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from mexfi.db import Store, StoreConfig
from mexfi.migrations import alembic_config, import_models


def main() -> None:
    if len(sys.argv) != 4 or sys.argv[1] != "revision" or sys.argv[2] not in ("records", "keys"):
        sys.exit("usage: python -m mexfi.migrations revision records|keys MESSAGE")
    part, message = sys.argv[2], sys.argv[3]
    import_models()
    with tempfile.TemporaryDirectory() as scratch:
        store = Store(
            StoreConfig(
                records_url=f"sqlite:///{Path(scratch) / 'r.sqlite'}",
                keys_url=f"sqlite:///{Path(scratch) / 'k.sqlite'}",
            )
        )
        engine = store.records_engine if part == "records" else store.keys_engine
        with engine.begin() as connection:
            config = alembic_config(part, connection)
            command.upgrade(config, "head")
            command.revision(config, message=message, autogenerate=True)
        store.dispose()


if __name__ == "__main__":
    main()
