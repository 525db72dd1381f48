"""The docker profile's spawner: DockerSpawner with campus roles, limits and clear failures.

What it adds to DockerSpawner:
- CPU and memory limits per campus role (instructors may get more than students);
- the engine is found (and podman's service started) at spawn time, so a Hub started before
  the engine still works once the engine is up;
- each failure a student can meet (an image not offered here, an engine that is down, a full
  disk, a container that does not start) becomes one clear sentence on the spawn page and one
  log line for the admin, and leaves no half-created container or volume behind;
- home volumes are kept: a volume is removed only when this very spawn created it and the
  spawn failed, so a student's work always survives container removal;
- many students starting at once: Docker API calls run on a pool of threads (DockerSpawner
  has one thread for the whole Hub, so twenty logins queue behind each other's container
  creation), the engine is looked up once rather than on every start and poll, and start()
  returns as soon as the server answers (see hub/readiness.py).
"""

from __future__ import annotations

import asyncio
import shutil
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from dockerspawner import DockerSpawner
from tornado import web
from traitlets import Dict, Integer, Unicode, default

from nbcampus.engine import EngineError, find_engine

from .readiness import QuickReadiness

# Highest first: a user in several campus groups gets the limits of the highest role.
ROLE_ORDER = ("admin", "staff", "instructor", "student")


class SpawnRefused(web.HTTPError):
    """A spawn that cannot succeed; `jupyterhub_message` is what the spawn page shows.

    An HTTPError so that the Hub's REST API answers with its status (400 for a request the
    campus refuses, 503 when the campus cannot start servers) and this message.
    """

    def __init__(self, message: str, log_detail: str = "", status: int = 503) -> None:
        super().__init__(status, message.replace("%", "%%"))
        self.jupyterhub_message = message
        self.log_detail = log_detail or message

    def __str__(self) -> str:
        return self.jupyterhub_message


def _is_disk_full(err: BaseException) -> bool:
    text = str(err).lower()
    return "no space left on device" in text or "disk quota exceeded" in text


def _is_engine_down(err: BaseException) -> bool:
    import requests

    if isinstance(err, requests.exceptions.ConnectionError | ConnectionError | FileNotFoundError):
        return True
    text = str(err).lower()
    return "connection refused" in text or "error while fetching server api version" in text


class CampusDockerSpawner(QuickReadiness, DockerSpawner):
    # One pool and one engine address for every server of this Hub (as DockerSpawner's own
    # client is one per Hub).
    _api_pool: ClassVar[ThreadPoolExecutor | None] = None
    _engine_url: ClassVar[str | None] = None

    role_limits = Dict(
        default_value={
            "student": {"cpu": 1.0, "mem": "2G"},
            "instructor": {"cpu": 2.0, "mem": "4G"},
            "staff": {"cpu": 1.0, "mem": "2G"},
            "admin": {"cpu": 2.0, "mem": "4G"},
        },
        config=True,
        help="""CPU (cores, float) and memory ("512M", "2G") limits of a server, per campus
        role. A user in several campus groups gets the limits of the highest role
        (admin, staff, instructor, student); a role missing here falls back to `student`.""",
    )
    min_free_disk_mb = Integer(
        1024,
        config=True,
        help="""Refuse to start a server (with a clear message) when the engine's storage
        has less free space than this, in MB: a container that starts on a full disk fails
        in ways a student cannot understand.""",
    )
    docker_threads = Integer(
        8,
        config=True,
        help="""Threads calling the Docker API for this Hub's servers. DockerSpawner's single
        thread makes simultaneous logins wait for each other's container creation and start
        (about a second each on podman); the engine handles several calls at once.""",
    )
    storage_path = Unicode(
        "/var/lib/containers/storage",
        config=True,
        help="""Where the engine keeps images, containers and volumes, for the free-space
        check (podman as root: /var/lib/containers/storage; Docker: /var/lib/docker).""",
    )

    @default("client_kwargs")
    def _client_kwargs_default(self) -> dict[str, Any]:
        # As many pooled connections to the engine as threads use them.
        return {"max_pool_size": self.docker_threads}

    @property
    def executor(self) -> ThreadPoolExecutor:
        cls = type(self)
        if cls._api_pool is None:
            cls._api_pool = ThreadPoolExecutor(self.docker_threads, thread_name_prefix="docker-api")
        return cls._api_pool

    def campus_role(self) -> str:
        groups = {g.name for g in getattr(self.user, "groups", [])}
        for role in ROLE_ORDER:
            if f"campus-{role}" in groups:
                return role
        return "student"

    def apply_role_limits(self) -> None:
        role = self.campus_role()
        limits = self.role_limits.get(role) or self.role_limits.get("student") or {}
        if "cpu" in limits:
            self.cpu_limit = float(limits["cpu"])
        if "mem" in limits:
            self.mem_limit = limits["mem"]
        self.log.info(
            "Server of %s (%s): cpu %s, memory %s", self.user.name, role, self.cpu_limit, limits
        )

    async def _connect_engine(self, again: bool = False) -> None:
        """Point the Docker client at the engine, starting podman's service if needed.

        The engine is looked up once per Hub (off the event loop: it may start podman's
        service) and again only after a call found it down (`again`).
        """
        cls = type(self)
        if again or cls._engine_url is None:
            try:
                engine = await asyncio.to_thread(find_engine)
            except EngineError as err:
                raise SpawnRefused(
                    "The container engine of this campus is not running, so no server can "
                    "start right now. Please try again later; the administrators have been told.",
                    f"container engine unavailable: {err}",
                ) from None
            if engine.url != cls._engine_url:
                cls._engine_url = engine.url
                # DockerSpawner caches one client per Hub; a new engine URL needs a new one.
                cls._client = None
        if self.client_kwargs.get("base_url") != cls._engine_url:
            self.client_kwargs = {**self.client_kwargs, "base_url": cls._engine_url}

    def _check_disk(self) -> None:
        try:
            free_mb = shutil.disk_usage(self.storage_path).free / 1e6
        except OSError:
            return  # a remote engine: its own errors are caught in start()
        if free_mb < self.min_free_disk_mb:
            raise SpawnRefused(
                "The campus server's disk is full, so your server cannot start. Your files are "
                "safe; please try again later, the administrators have been told.",
                f"disk full: {free_mb:.0f} MB free under {self.storage_path}, "
                f"less than min_free_disk_mb={self.min_free_disk_mb}",
            )

    async def check_allowed(self, image: str) -> str:
        allowed = self._get_allowed_images()
        if allowed != "*" and image not in allowed:
            offered = ", ".join(allowed) or "none"
            # The Hub saved the options as the user's defaults: forget the refused image, or
            # every later start would ask for it again.
            self.user_options = {k: v for k, v in self.user_options.items() if k != "image"}
            if self.orm_spawner is not None:
                self.orm_spawner.user_options = self.user_options
            raise SpawnRefused(
                f"The image {image!r} is not offered on this campus (offered: {offered}).",
                f"refused image {image!r} requested by {self.user.name}",
                status=400,
            )
        return await super().check_allowed(image)

    async def _existing_volumes(self, names: set[str]) -> set[str]:
        """Which of these volumes exist (one inspect each, not a list of every home)."""
        import docker

        present = set()
        for name in names:
            try:
                await self.docker("inspect_volume", name)
                present.add(name)
            except docker.errors.NotFound:
                pass
        return present

    def _wanted_volumes(self) -> set[str]:
        return {v for v in self.volume_binds if not v.startswith("/")}

    async def start(self) -> tuple[str, int]:
        created_volumes: set[str] = set()
        self.object_id = ""
        try:
            await self._connect_engine()
            self._check_disk()
            self.apply_role_limits()
            wanted = self._wanted_volumes()
            try:
                before = await self._existing_volumes(wanted)
            except Exception as err:
                if not _is_engine_down(err):
                    raise
                await self._connect_engine(again=True)  # restarted, or moved: look again
                type(self)._client = None
                before = await self._existing_volumes(wanted)
            created_volumes = wanted - before
            ip, port = await super().start()
            await self.until_answering(ip, port)
            return ip, port
        except Exception as err:
            refused = self._explain(err)
            self.log.error("Spawn of %s refused: %s", self.user.name, refused.log_detail)
            await self._clean_up_failed_start(created_volumes)
            raise refused from None

    def _explain(self, err: BaseException) -> SpawnRefused:
        import docker

        if isinstance(err, SpawnRefused):
            return err
        if _is_disk_full(err):
            return SpawnRefused(
                "The campus server's disk is full, so your server cannot start. Your files are "
                "safe; please try again later, the administrators have been told.",
                f"disk full while starting the container: {err}",
            )
        if _is_engine_down(err):
            return SpawnRefused(
                "The container engine of this campus is not running, so no server can start "
                "right now. Please try again later; the administrators have been told.",
                f"container engine unavailable: {err}",
            )
        if isinstance(err, docker.errors.ImageNotFound):
            return SpawnRefused(
                "Your server's image is not installed on this campus yet. The administrators "
                "have been told (they build it with `nbcampus images build`).",
                f"image {self.image} missing: {err} (run `nbcampus images build`)",
            )
        return SpawnRefused(
            "Your server's container failed to start. Please try again; if it keeps "
            "failing, the administrators have the details.",
            f"container for {self.user.name} from {self.image} failed to start: {err}",
            status=500,
        )

    async def _clean_up_failed_start(self, created_volumes: set[str]) -> None:
        """Remove what this failed start created: its container, and volumes it made."""
        try:
            if self.object_id:
                await self.docker("remove_container", self.object_id, force=True)
        except Exception as err:  # already gone, or the engine is down: nothing to remove
            self.log.debug("no container to clean up for %s: %s", self.user.name, err)
        self.object_id = ""
        for name in created_volumes:
            try:
                await self.docker("remove_volume", name)
                self.log.info("Removed volume %s created by the failed spawn", name)
            except Exception as err:
                self.log.debug("volume %s not removed: %s", name, err)

    async def poll(self) -> int | None:
        try:
            await self._connect_engine()
            try:
                return await super().poll()
            except Exception as err:
                if not _is_engine_down(err):
                    raise
                # The engine's API went away (podman's service stopped): start it again.
                await self._connect_engine(again=True)
                return await super().poll()
        except Exception as err:
            if not _is_engine_down(err) and not isinstance(err, SpawnRefused):
                raise
            # Engine away: a server that never got a container is simply not running; one
            # that has a container is kept (the engine's containers outlive its API).
            return None if self.object_id else 0
