"""Alembic environment of the records database."""

from mexfi.db import Base
from mexfi.migrations import import_models
from mexfi.migrations.environment import run_migrations

import_models()
run_migrations(Base.metadata)
