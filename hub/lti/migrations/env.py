"""Alembic environment of the LTI schema (version table: lti_alembic_version)."""

from nbcampus.db import run_migrations_online
from nbcampus.hub.lti.orm import MIGRATIONS, Base

run_migrations_online(Base.metadata, MIGRATIONS)
