"""Alembic environment of the campus schema (version table: campus_alembic_version)."""

from nbcampus.db import run_migrations_online
from nbcampus.hub.campus.orm import MIGRATIONS, Base

run_migrations_online(Base.metadata, MIGRATIONS)
