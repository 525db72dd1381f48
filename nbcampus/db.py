"""Database plumbing shared by the campus and grader services.

Each service owns its models and an Alembic migrations package with its own version table,
so several services can share one PostgreSQL database with the Hub. On start a service
creates a fresh database at the newest schema, and refuses to run on an older schema with a
message naming `nbcampus upgrade-db` (as JupyterHub does with `jupyterhub upgrade-db`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from .settings import normalize_db_url


class DatabaseSchemaMismatch(RuntimeError):
    """The database was written by another version of nbcampus."""


@dataclass(frozen=True)
class MigrationSet:
    """One service's migrations: where the scripts live and which table records the revision."""

    name: str
    package: str
    version_table: str


def make_engine(url: str, **kwargs: object) -> Engine:
    """An engine with the settings every nbcampus service wants."""
    url = normalize_db_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            # WAL lets readers proceed while one writer commits; foreign keys are off by default.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any exception."""
    with factory() as session, session.begin():
        yield session


def alembic_config(migrations: MigrationSet, url: str) -> Config:
    cfg = Config()
    location = resources.files(migrations.package)
    cfg.set_main_option("script_location", str(location))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    cfg.set_main_option("sqlalchemy.url", normalize_db_url(url).replace("%", "%%"))
    cfg.attributes["version_table"] = migrations.version_table
    return cfg


def head_revision(migrations: MigrationSet) -> str | None:
    return ScriptDirectory.from_config(alembic_config(migrations, "sqlite://")).get_current_head()


def current_revision(engine: Engine, migrations: MigrationSet) -> str | None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": migrations.version_table})
        return ctx.get_current_revision()


def upgrade(url: str, migrations: MigrationSet, revision: str = "head") -> None:
    command.upgrade(alembic_config(migrations, url), revision)


def prepare_database(engine: Engine, url: str, migrations: MigrationSet) -> str:
    """Create a fresh database, accept a current one, refuse an old or unknown one.

    Returns what happened ("created" or "current") for the service's start-up log.
    """
    current = current_revision(engine, migrations)
    head = head_revision(migrations)
    if current is None:
        upgrade(url, migrations)
        return "created"
    if current == head:
        return "current"
    script = ScriptDirectory.from_config(alembic_config(migrations, url))
    known = {rev.revision for rev in script.walk_revisions()}
    if current in known:
        raise DatabaseSchemaMismatch(
            f"The {migrations.name} database is at schema {current}, older than this "
            f"nbcampus ({head}). Back it up, then run: nbcampus upgrade-db"
        )
    raise DatabaseSchemaMismatch(
        f"The {migrations.name} database is at schema {current}, which this nbcampus does not "
        f"know (newer code wrote it?). Run the newer nbcampus, or restore a backup."
    )


def run_migrations_online(metadata: sa.MetaData, migrations: MigrationSet) -> None:
    """The body of every migrations package's `env.py`: migrate the configured database."""
    from alembic import context

    config = context.config
    engine = sa.engine_from_config(
        config.get_section(config.config_ini_section) or {},
        prefix="sqlalchemy.",
        poolclass=sa.pool.NullPool,
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table=config.attributes.get("version_table", migrations.version_table),
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        )
        with context.begin_transaction():
            context.run_migrations()
