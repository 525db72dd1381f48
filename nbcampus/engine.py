"""The container engine behind the docker profile: Docker Engine, or podman's Docker API.

Everything that talks to containers (the spawner, the grading runner, `nbcampus images`)
asks this module for a Docker API URL. Where Docker Engine answers, it is used as is;
otherwise podman is configured and its Docker-compatible service started on a unix socket.

podman is configured through files of our own (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF)
rather than /etc/containers, so the host's podman settings stay untouched:
- runc instead of crun (crun fails on hybrid cgroup hierarchies),
- lower default ulimits (the host's nofile limit is above what runc accepts as a default),
- overlay storage, written before the first podman call (podman remembers its first driver).

The service runs in its own session and outlives the Hub: containers (supervised by conmon,
not by the service) and the service itself survive a Hub restart.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DOCKER_SOCKET = Path("/var/run/docker.sock")


class EngineError(RuntimeError):
    """No container engine is usable; the message says what is missing, in one line."""


def _config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(os.environ.get("NBCAMPUS_PODMAN_CONFIG_DIR") or Path(base) / "nbcampus" / "podman")


def _runtime_dir() -> Path:
    if os.geteuid() == 0:
        return Path("/run/nbcampus")
    fallback = Path(tempfile.gettempdir()) / f"nbcampus-{os.geteuid()}"
    return Path(os.environ.get("XDG_RUNTIME_DIR") or fallback)


CONTAINERS_CONF = """\
# Written by nbcampus (nbcampus/engine.py); podman reads it through CONTAINERS_CONF.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""

STORAGE_CONF = """\
# Written by nbcampus (nbcampus/engine.py); podman reads it through CONTAINERS_STORAGE_CONF.
[storage]
driver = "overlay"
graphroot = "{graphroot}"
runroot = "{runroot}"
"""


def _storage_conf() -> str:
    if os.geteuid() == 0:
        graphroot, runroot = "/var/lib/containers/storage", "/run/containers/storage"
    else:
        data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        graphroot = f"{data}/containers/storage"
        runroot = f"{_runtime_dir()}/containers"
    return STORAGE_CONF.format(graphroot=graphroot, runroot=runroot)


@dataclass(frozen=True)
class Engine:
    """A Docker API endpoint and, for podman, the environment its CLI needs."""

    url: str
    kind: str  # "docker" or "podman"
    env: dict[str, str]

    def cli(self) -> list[str]:
        """The command line tool for builds and imports (podman or docker)."""
        return [self.kind]

    def run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
        env = {**os.environ, **self.env}
        return subprocess.run([*self.cli(), *args], env=env, **kwargs)


def podman_env() -> dict[str, str]:
    """Write podman's configuration files (once) and return the environment pointing at them."""
    conf_dir = _config_dir()
    conf_dir.mkdir(parents=True, exist_ok=True)
    files = {"containers.conf": CONTAINERS_CONF, "storage.conf": _storage_conf()}
    for name, text in files.items():
        path = conf_dir / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    return {
        "CONTAINERS_CONF": str(conf_dir / "containers.conf"),
        "CONTAINERS_STORAGE_CONF": str(conf_dir / "storage.conf"),
    }


def _socket_answers(path: Path) -> bool:
    import socket

    if not path.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            sock.connect(str(path))
            sock.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return b"200" in sock.recv(64)
    except OSError:
        return False


def podman_socket() -> Path:
    return _runtime_dir() / "podman.sock"


def start_podman_service(timeout: float = 20.0) -> Engine:
    """Start `podman system service` on our socket unless it already answers."""
    if not shutil.which("podman"):
        raise EngineError(
            "no container engine: Docker's socket is absent and podman is not installed "
            "(run scripts/install-system-deps.sh)"
        )
    env = podman_env()
    sock = podman_socket()
    engine = Engine(url=f"unix://{sock}", kind="podman", env=env)
    if _socket_answers(sock):
        return engine
    sock.parent.mkdir(parents=True, exist_ok=True)
    sock.unlink(missing_ok=True)
    log = open(sock.parent / "podman-service.log", "ab")  # noqa: SIM115 - handed to the child
    # Its own session: the service must survive the Hub (and a Ctrl-C in the Hub's terminal).
    proc = subprocess.Popen(
        ["podman", "system", "service", "--time=0", f"unix://{sock}"],
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
        # conmon leaves an `oom` marker in its working directory when a container is
        # OOM-killed (the grader's memory limit): not in whatever folder started the service.
        cwd=sock.parent,
    )
    log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _socket_answers(sock):
            return engine
        if proc.poll() is not None:
            tail = (sock.parent / "podman-service.log").read_text(errors="replace")[-300:]
            raise EngineError(f"podman's Docker API service exited: {tail.strip()}")
        time.sleep(0.1)
    raise EngineError(f"podman's Docker API service did not answer on {sock} within {timeout} s")


def find_engine(start: bool = True) -> Engine:
    """The engine to use: $DOCKER_HOST, Docker Engine's socket, or podman's service.

    NBCAMPUS_ENGINE=podman|docker forces one. With start=False a podman service that is not
    running yet is an error instead of being started.
    """
    forced = os.environ.get("NBCAMPUS_ENGINE", "").strip()
    if forced not in ("", "docker", "podman"):
        raise EngineError(f"NBCAMPUS_ENGINE={forced!r}: use docker or podman")
    if forced != "podman":
        host = os.environ.get("DOCKER_HOST")
        if host:
            return Engine(url=host, kind="docker", env={})
        if _socket_answers(DOCKER_SOCKET) and shutil.which("docker"):
            return Engine(url=f"unix://{DOCKER_SOCKET}", kind="docker", env={})
        if forced == "docker":
            raise EngineError(f"Docker Engine does not answer on {DOCKER_SOCKET}")
    if not start:
        sock = podman_socket()
        if not _socket_answers(sock):
            raise EngineError(f"the container engine does not answer on {sock}")
        return Engine(url=f"unix://{sock}", kind="podman", env=podman_env())
    return start_podman_service()


def docker_client(engine: Engine, timeout: int = 60):  # type: ignore[no-untyped-def]
    """A docker-py client for the engine (imported lazily: only the docker profile needs it)."""
    import docker

    return docker.DockerClient(base_url=engine.url, timeout=timeout)


def host_address() -> str:
    """This machine's own address on its default route: how containers reach the Hub.

    Not the podman bridge's gateway: that address exists only while a container is attached
    to the bridge, and the Hub must stay reachable across container and engine restarts.
    """
    import socket

    override = os.environ.get("NBCAMPUS_HUB_CONNECT_IP")
    if override:
        return override
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("203.0.113.1", 9))  # no packet is sent: UDP connect picks a route
            return sock.getsockname()[0]
        except OSError:
            return socket.gethostbyname(socket.gethostname())
