"""Alembic environment of the grader schema (version table: grader_alembic_version)."""

from nbcampus.db import run_migrations_online
from nbcampus.grader.orm import MIGRATIONS, Base

run_migrations_online(Base.metadata, MIGRATIONS)
