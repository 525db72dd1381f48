"""The dashboards service: Voila under the Hub's OAuth, one notebook per dashboard.

Why a Hub service and not the viewer's own server: staff and admins have no Lab of their
own, and a dashboard must not start one. The Hub's OAuth gives this service a token of the
viewer (not of the service); the notebook's kernel calls the campus, grader and Hub APIs with
it, so the services' permission tables decide, as for any request of that person. Before a
kernel is handed out, the page handler asks the campus who the viewer is and refuses (403)
anyone the dashboard is not for, so a student gets no kernel and no data.

Kernels wait in a warm pool (Voila's preheated kernels, the chart library imported); the
viewer's token reaches the one a request takes through a one-time ticket (tickets.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from traitlets.config import Config

from .kernels import VISITOR, once_only_query, owner_bound_manager, owner_only
from .tickets import TICKETS, RedeemHandler

NOTEBOOKS = Path(__file__).parent / "notebooks"
# Who may open which dashboard (school-wide roles from the campus); the instructor dashboard
# is also for anyone who teaches a class (a per-class role, read from the campus's records).
AUDIENCE: dict[str, frozenset[str]] = {
    "instructor": frozenset({"staff", "admin"}),
    "staff": frozenset({"staff", "admin"}),
    "admin": frozenset({"admin"}),
}

POOL_START_DELAY = 20.0  # seconds

REFUSAL = {
    "instructor": "This dashboard is for the teachers of a class, staff and admins",
    "staff": "This dashboard is for staff and admins",
    "admin": "This dashboard is for admins",
}


async def who(token: str) -> dict[str, Any]:
    """The campus's word on the viewer (role, classes taught), asked with their own token."""
    url = os.environ["NBCAMPUS_CAMPUS_URL"].rstrip("/") + "/api/v1/me"
    try:
        resp = await AsyncHTTPClient().fetch(
            url, headers={"Authorization": f"token {token}"}, request_timeout=30
        )
    except HTTPClientError:
        raise web.HTTPError(403, "the campus does not know you") from None
    except OSError:
        raise web.HTTPError(503, "the campus did not answer") from None
    return json.loads(resp.body)


# The dashboards whose kernel reads the grader (the office dashboard reads the campus alone).
READS_GRADER = frozenset({"instructor", "admin"})
_introductions: set[asyncio.Future] = set()


def introduce_to_grader(token: str) -> None:
    """Have the grader check the viewer's token now, beside the campus's check: a fresh token
    (a first visit's) costs each service a round trip to the Hub, which the kernel's first
    call to the grader would otherwise wait for. Its answer does not matter."""
    url = os.environ.get("NBCAMPUS_GRADER_URL", "").rstrip("/")
    if not url:
        return
    fetch = AsyncHTTPClient().fetch(
        url + "/api/v1/",
        headers={"Authorization": f"token {token}"},
        request_timeout=30,
        raise_error=False,
    )
    task = asyncio.ensure_future(fetch)
    _introductions.add(task)  # kept until done (a bare task may be collected early)
    task.add_done_callback(lambda t: (_introductions.discard(t), t.exception()))


def allowed(board: str, me: dict[str, Any]) -> bool:
    return me["role"] in AUDIENCE[board] or (board == "instructor" and bool(me.get("teaches")))


def voila_config() -> Config:
    service_url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    cfg = Config()
    cfg.Voila.ip = service_url.hostname or "127.0.0.1"
    cfg.Voila.port = service_url.port or 8000
    cfg.Voila.base_url = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
    cfg.Voila.open_browser = False
    # Timed lines, as the Hub's own (when a stop or a kernel happened, in one log).
    cfg.Voila.log_format = "[%(levelname)1.1s %(asctime)s.%(msecs).03d %(name)s] %(message)s"
    cfg.Voila.log_datefmt = "%Y-%m-%d %H:%M:%S"
    cfg.Voila.root_dir = str(NOTEBOOKS)
    cfg.Voila.identity_provider_class = "jupyterhub.singleuser.extension.JupyterHubIdentityProvider"
    cfg.Voila.authorizer_class = "jupyterhub.singleuser.extension.JupyterHubAuthorizer"
    # Jupyter Server's own CSP (frame-ancestors 'self': the Lab may frame them), plus nosniff
    # as on every campus answer.
    # The widgets' front-end files have their content's hash in their names: a returning
    # viewer's browser keeps them instead of asking again for each (some 40 per page).
    cfg.Voila.tornado_settings = {
        "headers": {"X-Content-Type-Options": "nosniff"},
        "static_immutable_cache": [cfg.Voila.base_url + "voila/labextensions/"],
    }
    # A warm kernel per dashboard (refilled after each use); more viewers at once get a
    # kernel started for them. NBCAMPUS_DASHBOARD_POOL=0 turns the pool off.
    pool = int(os.environ.get("NBCAMPUS_DASHBOARD_POOL", "1"))
    cfg.VoilaConfiguration.preheat_kernel = pool > 0
    cfg.VoilaConfiguration.default_pool_size = max(pool, 0)
    cfg.VoilaConfiguration.show_tracebacks = False
    cfg.VoilaConfiguration.file_allowlist = []  # no file of the folder is served as such
    # Only the widget front ends the dashboards use (not every Lab extension installed).
    cfg.VoilaConfiguration.extension_allowlist = [
        "@voila-dashboards/widgets-manager8",
        "@jupyter-widgets/jupyterlab-manager",
        "bqplot",
        "bqscales",
    ]
    return cfg


def main() -> None:
    # Live and die with the Hub, as the campus and the grader do (nbcampus/lifeline.py): a
    # death signal when the Hub goes, a watch thread, and a pid file for `nbcampus run`.
    # Our kernels follow us: each polls its parent (JPY_PARENT_PID) and exits when we do.
    import logging

    from nbcampus import lifeline
    from nbcampus.settings import Settings

    lifeline.die_with_hub()
    pid_file = lifeline.write_pid_file(Settings.from_env().data_dir, "dashboards")

    def hub_gone(reason: str) -> None:
        logging.getLogger(__name__).error("dashboards: %s; stopping", reason)
        lifeline.remove_pid_file(pid_file)
        os._exit(1)  # the kernels see their parent go and exit

    lifeline.Lifeline.from_env().start(hub_gone)
    try:
        _serve()
    finally:
        lifeline.remove_pid_file(pid_file)
    # Served and stopped (the kernels ended): leave now. A normal exit waits for the threads
    # the server's libraries leave behind, until the Hub's SIGKILL many seconds later.
    logging.shutdown()
    os._exit(0)


def _serve() -> None:
    from jupyter_server.utils import url_path_join
    from voila.app import Voila
    from voila.request_info_handler import RequestInfoSocketHandler
    from voila.shutdown_kernel_handler import VoilaShutdownKernelHandler
    from voila.tornado.handler import TornadoVoilaHandler

    class DashboardHandler(TornadoVoilaHandler):
        """A dashboard page: only for those it is for; the kernel gets a ticket."""

        async def prepare(self) -> None:
            await super().prepare()
            if self.current_user is None:
                return  # get() is @authenticated: to the Hub's login, and back
            board = Path(self.request.path).stem
            if board not in AUDIENCE:
                raise web.HTTPError(404)
            token = self.identity_provider.hub_auth.get_token(self)
            if not token:
                raise web.HTTPError(403)
            if board in READS_GRADER:
                introduce_to_grader(token)
            me = await who(token)
            if not allowed(board, me):
                raise web.HTTPError(
                    403, f"the {board} dashboard is not for a {me['role']}", reason=REFUSAL[board]
                )
            VISITOR.set(self.current_user.username)  # the kernel this request takes is theirs
            ticket = TICKETS.mint(
                {"name": me["name"], "role": me["role"], "token": token, "teaches": me["teaches"]}
            )
            # What the kernel reads (QUERY_STRING): the class asked for, and the ticket.
            args = [("class", v) for v in self.get_arguments("class")[:1]]
            self.request.query = urlencode([*args, ("nbcampus_ticket", ticket)])

    import voila.app as voila_app

    make_manager = voila_app.voila_kernel_manager_factory

    def campus_manager(*args: Any, **kwargs: Any) -> Any:
        """Voila's kernel manager, its kernels bound to their viewers (kernels.py), and its warm
        pool (if any) starting POOL_START_DELAY late and refilling nothing once stopping."""
        base = owner_bound_manager(make_manager(*args, **kwargs))
        if not hasattr(base, "fill_if_needed"):
            return base  # no pool

        class CampusPool(base):  # type: ignore[misc, valid-type]
            _starting = False
            _stopping = False

            def __init__(self, **kw: Any) -> None:
                # Voila fills the pool as it starts; wait first, so that the kernels' start
                # does not slow the Hub's own start (its services start together).
                self._starting = True
                super().__init__(**kw)
                self._starting = False

            def fill_if_needed(self, delay: float | None = None, **kw: Any) -> None:
                if self._stopping:
                    return
                super().fill_if_needed(POOL_START_DELAY if self._starting else delay, **kw)

            async def shutdown_all(self, *args: Any, **kw: Any) -> None:
                # Stopping: no refill, and a warm kernel still waiting to start never does.
                self._stopping = True
                for pool in self._pools.values():
                    for task in pool:
                        if not task.done():
                            task.cancel()
                await asyncio.gather(
                    *(t for pool in self._pools.values() for t in pool), return_exceptions=True
                )
                for pool in self._pools.values():
                    pool[:] = [t for t in pool if not t.cancelled() and t.exception() is None]
                await super().shutdown_all(*args, **kw)

        return CampusPool

    voila_app.voila_kernel_manager_factory = campus_manager

    class DashboardsApp(Voila):
        _stopping = False

        def initialize(self, argv: Any = None) -> None:
            super().initialize(argv)
            # Ctrl-C at `nbcampus run` reaches the Hub, which stops its services with SIGINT
            # first: stop at once, as for SIGTERM (the same handler, ours below).
            signal.signal(signal.SIGINT, self._handle_signal_stop)

        def _handle_signal_stop(self, sig: int, frame: Any) -> None:
            loop = getattr(self, "ioloop", None)
            if loop is None:
                raise SystemExit(0)  # not serving yet: nothing to shut down
            loop.add_callback_from_signal(self._stop_now, sig)

        async def _stop_now(self, sig: int) -> None:
            """End every kernel while the loop still runs (Voila's own stop runs a second
            loop for it, which the pool's tasks do not belong to), then stop the loop."""
            if self._stopping:
                return
            self._stopping = True
            self.log.info("dashboards: signal %s; stopping", sig)
            started = time.monotonic()
            try:
                # The kernels hold nothing worth a polite shutdown: end them now (a polite one
                # waits for each to answer, seconds on a busy machine).
                await asyncio.wait_for(self.kernel_manager.shutdown_all(now=True), 10)
            except Exception:  # noqa: BLE001 - stopping anyway; the kernels follow us out
                self.log.exception("dashboards: stopping the kernels")
            finally:
                self.log.info("dashboards: kernels ended in %.1f s", time.monotonic() - started)
                self.ioloop.stop()

        def stop(self) -> None:
            # After _stop_now (or any end of the loop): a kernel still running sees its
            # parent go and exits (it polls JPY_PARENT_PID).
            shutil.rmtree(self.connection_dir, ignore_errors=True)

        def init_handlers(self) -> list:
            # Voila adds the identity provider's handlers (the Hub's OAuth callback) without
            # its URL prefix: put them under the service's prefix, where the Hub sends people.
            own = {h[0] for h in self.identity_provider.get_handlers()}
            handlers = [
                (url_path_join(self.server_url, h[0]), *h[1:]) if h[0] in own else h
                for h in super().init_handlers()
            ]
            handlers = [(h[0], _guarded(h[0], h[1]), *h[2:]) for h in handlers]
            return [(url_path_join(self.server_url, "nbcampus-ticket"), RedeemHandler), *handlers]

    def _guarded(pattern: str, handler: type) -> type:
        """Our page handler for Voila's; each kernel's URLs for its own viewer alone."""
        if handler is TornadoVoilaHandler:
            return DashboardHandler
        if handler is RequestInfoSocketHandler:
            return once_only_query(handler)
        if "(?P<kernel_id>" in pattern or handler is VoilaShutdownKernelHandler:
            return owner_only(handler)
        return handler

    cfg = voila_config()
    # The service's own token stays with HubOAuth (config, not the environment): kernels
    # inherit the environment, and get the viewer's token through a ticket instead.
    cfg.HubOAuth.api_token = os.environ.pop("JUPYTERHUB_API_TOKEN", "")
    os.environ.pop("JPY_API_TOKEN", None)
    # Where a kernel trades its ticket: this service, directly (not through the proxy).
    os.environ["NBCAMPUS_DASHBOARDS_TICKETS"] = (
        f"http://{cfg.Voila.ip}:{cfg.Voila.port}{cfg.Voila.base_url}nbcampus-ticket"
    )
    app = DashboardsApp(config=cfg)
    app.initialize([str(NOTEBOOKS)])
    app.start()
