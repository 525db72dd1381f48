"""The `nbcampus` command line.

Each subcommand is a function `cmd_<name>(args) -> int` registered in `build_parser`; later
parts add theirs the same way (course import, images, lti, grader).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from urllib.parse import urlsplit

from . import __version__
from .hub.roles import ROLES
from .imports import skip_unneeded_imports
from .settings import Settings, SettingsError

REPO = Path(__file__).resolve().parent.parent

# Each service's migrations, as "module:attribute" (imported only when needed).
MIGRATION_SETS = [
    "nbcampus.hub.campus.orm:MIGRATIONS",
    "nbcampus.hub.lti.orm:MIGRATIONS",
    "nbcampus.grader.orm:MIGRATIONS",
]


class StartupError(RuntimeError):
    """Something an operator must fix before the campus can start; one line."""


def _migration_sets() -> list:
    sets = []
    for spec in MIGRATION_SETS:
        module, attr = spec.split(":")
        sets.append(getattr(import_module(module), attr))
    return sets


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def check_data_dir(settings: Settings) -> None:
    from .secretfiles import private_dir

    data = settings.data_dir
    try:
        private_dir(data)
        probe = data / ".nbcampus-write-test"
        probe.write_text("ok")
        probe.unlink()
        for sub in (settings.homes_dir, settings.logs_dir):
            sub.mkdir(exist_ok=True)
        private_dir(settings.secrets_dir)
    except OSError as err:
        raise StartupError(
            f"data directory {data} is not writable ({err.strerror}); "
            "set NBCAMPUS_DATA_DIR to a directory you own"
        ) from None


def check_local_isolation(settings: Settings) -> None:
    """Student servers of the local profile run as their own users (hub/isolation.py):
    refuse early, in one line, when they could not, unless trusted mode is asked for."""
    from .hub.isolation import IsolationError, check_isolation, trusted_mode_requested

    if trusted_mode_requested():
        return
    try:
        check_isolation(settings.data_dir)
    except IsolationError as err:
        raise StartupError(f"refusing to start: {err}") from None


def check_database(url: str) -> None:
    import sqlalchemy as sa

    from .db import make_engine

    try:
        sqlite = url.startswith("sqlite")
        engine = make_engine(url, **({} if sqlite else {"connect_args": {"connect_timeout": 5}}))
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as err:  # any driver error: the operator needs one readable line
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        raise StartupError(f"cannot use the database {_redacted(url)}: {reason}") from None


def stop_leftover_proxy(settings: Settings) -> None:
    """Stop a proxy that an earlier, crashed run of this campus left behind.

    The Hub records its proxy's pid in the data directory; a proxy whose Hub died keeps the
    public port, and would make the port check below refuse to start.
    """
    import signal
    import time

    pid_file = settings.data_dir / "jupyterhub-proxy.pid"
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    if b"configurable-http-proxy" not in cmdline:
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(50):
        if not Path(f"/proc/{pid}").exists():
            break
        time.sleep(0.1)
    pid_file.unlink(missing_ok=True)


def stop_leftover_services(settings: Settings) -> None:
    """Stop the services (campus, grader, idle culler) that a crashed run left behind.

    Each managed service records itself in the data directory's run/ folder; one whose Hub is
    gone is stopped (SIGTERM, SIGKILL after a grace period), and said so in one line."""
    from .lifeline import stop_leftovers

    stopped = stop_leftovers(settings.data_dir)
    if stopped:
        names = ", ".join(f"{r.name} (pid {r.pid})" for r in stopped)
        print(f"nbcampus: stopped services left by an earlier run: {names}", flush=True)


def check_port(settings: Settings) -> None:
    from .ports import port_in_use

    parts = urlsplit(settings.bind_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or "127.0.0.1"
    if port_in_use(host, port):
        raise StartupError(
            f"port {port} on {host} is in use; stop what holds it or set NBCAMPUS_BIND_URL"
        )


def prepare(settings: Settings) -> list[dict] | None:
    """Everything `run` does before handing over to the Hub; returns new demo accounts."""
    from .db import make_engine, prepare_database, session_factory

    check_data_dir(settings)
    if settings.profile == "local":
        check_local_isolation(settings)
    check_secrets(settings)
    for part in ("jupyterhub", "campus", "grader"):
        check_database(settings.database_url(part))
    stop_leftover_proxy(settings)
    stop_leftover_services(settings)
    check_port(settings)

    from .db import DatabaseSchemaMismatch

    for migrations in _migration_sets():
        url = settings.database_url(migrations.name)
        engine = make_engine(url)
        try:
            prepare_database(engine, url, migrations)
        except DatabaseSchemaMismatch as err:
            raise StartupError(str(err)) from None
        finally:
            engine.dispose()

    if not settings.demo:
        return None
    from .hub.campus.accounts import AccountStore
    from .hub.demo import ensure_demo_accounts

    url = settings.database_url("campus")
    store = AccountStore(session_factory(make_engine(url)))
    created = ensure_demo_accounts(store, settings.demo_accounts_file)
    # First start of a demo campus: the demo courses, one group class each, students enrolled.
    import_module("nbcampus.hub.campus.cli").ensure_demo_campus(settings, REPO / "courses")
    return created


def check_secrets(settings: Settings) -> None:
    """The secrets `run` needs, private (refused otherwise) and created on first use."""
    from .secretfiles import InsecureSecretError, check_private, ensure_secret

    try:
        check_private(settings.secrets_dir)
        ensure_secret(settings.secrets_dir / "jupyterhub_cookie_secret")
        ensure_secret(settings.secrets_dir / "proxy_auth_token")
        if settings.demo_accounts_file.exists():
            check_private(settings.demo_accounts_file)
    except InsecureSecretError as err:
        raise StartupError(f"refusing to start: {err}") from None


def hub_config_path() -> Path:
    return Path(os.environ.get("NBCAMPUS_HUB_CONFIG") or REPO / "jupyterhub_config.py")


def cmd_run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if settings.profile == "local" and not (REPO / ".tools/node_modules/.bin").exists():
        if not shutil.which("configurable-http-proxy"):
            raise StartupError("configurable-http-proxy is missing; run scripts/setup.sh first")
    demo = prepare(settings)
    if demo:
        from .hub.demo import format_demo_accounts

        print(format_demo_accounts(demo, settings.bind_url + "hub/login"), flush=True)
    # `jupyterhub` itself, without an import it does not need (nbcampus/hub_process.py).
    argv = [sys.executable, "-m", "nbcampus.hub_process", "-f", str(hub_config_path())]
    # The Hub runs in the data directory; its configuration and every process it starts read
    # the settings again, and the default (./nbcampus-data) would be another folder there.
    os.environ["NBCAMPUS_DATA_DIR"] = str(settings.data_dir)
    os.chdir(settings.data_dir)
    # Hand the process over to the Hub: Ctrl-C then reaches it directly, and it stops the
    # proxy, the services and every student server it started.
    os.execv(sys.executable, [*argv, *args.hub_args])  # noqa: S606 - argv is ours, no shell
    return 0  # not reached


def cmd_upgrade_db(args: argparse.Namespace) -> int:
    import subprocess

    from .db import upgrade

    settings = Settings.from_env()
    check_data_dir(settings)
    for migrations in _migration_sets():
        url = settings.database_url(migrations.name)
        check_database(url)
        upgrade(url, migrations)
        print(f"{migrations.name}: database at the newest schema")
    hub_url = settings.database_url("jupyterhub")
    jupyterhub = str(Path(sys.executable).parent / "jupyterhub")
    subprocess.run([jupyterhub, "upgrade-db", f"--db={hub_url}"], check=True)
    print("jupyterhub: database at the newest schema")
    return 0


def _account_store(settings: Settings):  # type: ignore[no-untyped-def]
    from .db import make_engine, prepare_database, session_factory
    from .hub.campus.accounts import AccountStore
    from .hub.campus.orm import MIGRATIONS

    check_data_dir(settings)
    url = settings.database_url("campus")
    engine = make_engine(url)
    prepare_database(engine, url, MIGRATIONS)
    return AccountStore(session_factory(engine))


def cmd_accounts_add(args: argparse.Namespace) -> int:
    from .hub.campus.accounts import AccountError

    store = _account_store(Settings.from_env())
    try:
        info, password = store.create(
            args.name, args.role, args.password, created_by="cli", display_name=args.display_name
        )
    except AccountError as err:
        raise StartupError(str(err)) from None
    print(json.dumps({"name": info.name, "role": info.role, "password": password}))
    return 0


def cmd_accounts_list(args: argparse.Namespace) -> int:
    store = _account_store(Settings.from_env())
    for acc in store.all():
        print(f"{acc.name:<24} {acc.role:<11} {acc.source:<7} {'active' if acc.active else '-'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nbcampus",
        description=(
            "nbcampus: a notebook campus on JupyterHub. Configure it with environment "
            "variables (NBCAMPUS_PROFILE, NBCAMPUS_DATA_DIR, NBCAMPUS_DB_URL, "
            "NBCAMPUS_BIND_URL); see the README."
        ),
    )
    parser.add_argument("--version", action="version", version=f"nbcampus {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="start the campus (the configured profile) in the foreground",
        description="Prepare the data directory, secrets and databases, create the demo "
        "accounts on first start, then run JupyterHub in the foreground. Ctrl-C stops "
        "everything it started. Extra arguments go to jupyterhub.",
    )
    run.add_argument("hub_args", nargs=argparse.REMAINDER, help="arguments for jupyterhub")
    run.set_defaults(func=cmd_run)

    up = sub.add_parser(
        "upgrade-db",
        help="upgrade the Hub's and the services' databases to this version's schema",
        description="Back up the databases first. Upgrades the campus and grader schemas "
        "(Alembic) and the Hub's own (jupyterhub upgrade-db).",
    )
    up.set_defaults(func=cmd_upgrade_db)

    accounts = sub.add_parser("accounts", help="manage local accounts")
    acc_sub = accounts.add_subparsers(dest="accounts_command", metavar="ACTION", required=True)
    add = acc_sub.add_parser("add", help="create an account; prints its password once")
    add.add_argument("name")
    add.add_argument("--role", default="student", choices=list(ROLES))
    add.add_argument("--password", help="the password (default: a generated one)")
    add.add_argument("--display-name", default="")
    add.set_defaults(func=cmd_accounts_add)
    lst = acc_sub.add_parser("list", help="list accounts")
    lst.set_defaults(func=cmd_accounts_list)

    for register in EXTRA_COMMANDS:
        register(sub)
    return parser


# Parts that bring subcommands of their own append a `register(subparsers)` function here.
EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = []
EXTRA_COMMANDS.append(lambda sub: import_module("nbcampus.hub.campus.cli").register(sub))
EXTRA_COMMANDS.append(lambda sub: import_module("nbcampus.hub.lti.cli").register(sub))
EXTRA_COMMANDS.append(lambda sub: import_module("nbcampus.grader.cli").register(sub))
EXTRA_COMMANDS.append(lambda sub: import_module("nbcampus.images").register(sub))


def main(argv: list[str] | None = None) -> int:
    skip_unneeded_imports()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except (StartupError, SettingsError) as err:
        print(f"nbcampus: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
