"""The skeleton every nbcampus Hub service shares: config, database, auth, JSON errors.

A service is a tornado application started by the Hub as a managed service. It learns its
URL, prefix and API token from the `JUPYTERHUB_*` variables the Hub sets, authenticates
requests with `HubOAuth` (browser cookies and API tokens alike), and answers every error as
JSON. Subclasses name their migrations and their handlers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from typing import Any, ClassVar
from urllib.parse import urlsplit

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler
from jupyterhub.utils import url_path_join
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from tornado import web
from tornado.httpserver import HTTPServer
from traitlets import Integer, Unicode, default
from traitlets.config import Application

from . import lifeline
from .bodylimit import BodyLimit
from .db import DatabaseSchemaMismatch, MigrationSet, make_engine, prepare_database, session_factory
from .headers import service_app_options
from .settings import Settings
from .web import NotFoundHandler


def _start_failed(task: asyncio.Future[Any]) -> bool:
    return not task.cancelled() and task.exception() is not None


class ServiceApp(Application):
    """Base of the campus and grader services."""

    service_name: ClassVar[str] = ""
    migrations: ClassVar[MigrationSet | None] = None
    stopping: threading.Event  # set once a stop signal came: start-up work ends early

    db_url = Unicode(
        help="SQLAlchemy URL of this service's database (default: from NBCAMPUS_DB_URL, or a "
        "SQLite file in NBCAMPUS_DATA_DIR).",
    ).tag(config=True)

    service_prefix = Unicode(
        help="URL prefix the Hub routes to this service (JUPYTERHUB_SERVICE_PREFIX).",
    ).tag(config=True)

    service_url = Unicode(
        help="Address this service listens on (JUPYTERHUB_SERVICE_URL).",
    ).tag(config=True)

    hub_api_grace = Integer(
        60,
        help="Seconds the Hub's API may refuse connections before this service counts the Hub "
        "as gone and exits (a service the Hub started also exits at once when the Hub dies).",
    ).tag(config=True)

    exit_grace = Integer(
        30,
        help="Seconds a service whose Hub is gone has to stop cleanly before it exits hard.",
    ).tag(config=True)

    max_body_size = Integer(
        64 * 1024 * 1024,
        help="Largest request body accepted, in bytes (uploads included).",
    ).tag(config=True)

    @default("db_url")
    def _db_url_default(self) -> str:
        return Settings.from_env().database_url(self.service_name)

    @default("service_prefix")
    def _prefix_default(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{self.service_name}/")

    @default("service_url")
    def _url_default(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101")

    engine: Engine
    db: sessionmaker[Session]
    hub_watch: lifeline.Lifeline

    def init_db(self) -> None:
        self.engine = make_engine(self.db_url)
        if self.migrations is not None:
            outcome = prepare_database(self.engine, self.db_url, self.migrations)
            self.log.info("%s database %s", self.service_name, outcome)
        self.db = session_factory(self.engine)

    def handlers(self) -> list[tuple[str, type, dict[str, Any]] | tuple[str, type]]:
        """The service's REST handlers, with paths relative to the prefix."""
        raise NotImplementedError

    def extra_settings(self) -> dict[str, Any]:
        """More tornado settings a subclass needs in its handlers."""
        return {}

    def make_app(self) -> web.Application:
        prefix = self.service_prefix
        hub_auth = HubOAuth(cache_max_age=60)
        routes: list[Any] = [
            (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
        ]
        for route in self.handlers():
            path, *rest = route
            routes.append((url_path_join(prefix, path), *rest))
        routes.append((r".*", NotFoundHandler))
        settings = {
            "hub_auth": hub_auth,
            "cookie_secret": os.urandom(32),
            "service_prefix": prefix,
            "app": self,
            "db": self.db,
            "static_url_prefix": url_path_join(prefix, "static/"),
            **self.extra_settings(),
        }
        # nosniff and no Server header on every response; static files with the CSP
        return web.Application(routes, **service_app_options(), **settings)

    def start_server(self) -> HTTPServer:
        url = urlsplit(self.service_url)
        # Bodies over the limit get a JSON 413 from here, not a dropped connection (which the
        # Hub's proxy turns into its own 503 HTML page).
        app = BodyLimit(self.make_app(), self.max_body_size)
        server = HTTPServer(app, max_body_size=self.max_body_size, xheaders=True)
        server.listen(url.port or 80, url.hostname or "127.0.0.1")
        self.log.info("%s listening on %s", self.service_name, self.service_url)
        return server

    async def on_start(self) -> None:
        """Background work a subclass runs alongside the server (queues, schedulers)."""

    async def run(self) -> None:
        self.init_db()
        self.start_server()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        self.hub_watch = lifeline.Lifeline.from_env(api_grace=self.hub_api_grace)

        def hub_gone(reason: str) -> None:
            self.log.error("%s: %s; stopping", self.service_name, reason)
            lifeline.exit_soon(self.exit_grace)
            loop.call_soon_threadsafe(stop.set)

        self.hub_watch.start(hub_gone)
        # Start-up work (the grader generates every changed assignment) runs beside the wait
        # for a stop signal: a signal during a long start stops the service at its next step.
        self.stopping = threading.Event()
        starting = asyncio.ensure_future(self.on_start())
        starting.add_done_callback(lambda _: stop.set() if _start_failed(starting) else None)
        await stop.wait()
        self.stopping.set()
        await starting  # ends at its next step; a failed start ends the service with its error

    @classmethod
    def launch(cls, argv: list[str] | None = None) -> None:
        logging.basicConfig(level=logging.INFO)
        lifeline.die_with_hub()
        app = cls()
        app.initialize(argv)
        pid_file = lifeline.write_pid_file(Settings.from_env().data_dir, cls.service_name)
        try:
            asyncio.run(app.run())
        except DatabaseSchemaMismatch as err:
            print(f"{cls.service_name}: {err}", file=sys.stderr)
            sys.exit(3)
        finally:
            lifeline.remove_pid_file(pid_file)
