"""Alembic environment of the keys database."""

from mexfi.db import KeyBase
from mexfi.migrations import import_models
from mexfi.migrations.environment import run_migrations

import_models()
run_migrations(KeyBase.metadata)
