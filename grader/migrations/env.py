"""Alembic environment of the grader schema (version table: grader_alembic_version)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from nbcampus.grader.orm import MIGRATIONS, Base

config = context.config
version_table = config.attributes.get("version_table", MIGRATIONS.version_table)


def run_migrations() -> None:
    engine = engine_from_config(
        config.get_section(config.config_ini_section) or {},
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            version_table=version_table,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
