"""How student servers run, per profile: local processes, containers, or Kubernetes pods."""

from __future__ import annotations

import os
import sys
from typing import Any

from nbcampus.ports import free_port
from nbcampus.secretfiles import private_dir
from nbcampus.settings import Settings


def configure_local(c: Any, settings: Settings) -> None:
    """One local process per student, each with a home directory under the data directory.

    Each server runs under a system user of its own with a private home (hub/isolation.py),
    which needs the Hub to run as root; NBCAMPUS_LOCAL_TRUSTED=1 runs them all as the Hub's
    own user instead. Containers (the docker profile) add their own file system, limits and
    network on top.
    """
    from nbcampus.hub.isolation import (
        IsolationError,
        check_isolation,
        describe,
        lock_down_data_dir,
        trusted_mode_requested,
    )

    # SimpleLocalProcessSpawner, returning as soon as the server answers (hub/readiness.py).
    c.JupyterHub.spawner_class = "nbcampus.hub.readiness.CampusLocalSpawner"
    c.SimpleLocalProcessSpawner.home_dir_template = str(settings.homes_dir / "{username}")
    isolate = not trusted_mode_requested()
    c.CampusLocalSpawner.isolate_users = isolate
    c.CampusLocalSpawner.data_dir = str(settings.data_dir)
    # jupyterhub-singleuser without its slowest import (see nbcampus/singleuser.py).
    c.Spawner.cmd = [sys.executable, "-m", "nbcampus.singleuser"]
    if isolate:
        try:
            check_isolation(settings.data_dir)
        except IsolationError as err:
            sys.exit(f"refusing to start: {err}")
        lock_down_data_dir(settings.data_dir, settings.homes_dir)
    elif os.geteuid() == 0:
        c.Spawner.args = ["--allow-root"]
    print(describe(isolate), file=sys.stderr, flush=True)
    # A class logging in at once on a small machine: twenty Labs starting together can take
    # more than the Hub's default 30 s to answer; waiting beats killing them half-started.
    c.Spawner.http_timeout = 120


def stable_hub_port(settings: Settings) -> int:
    """The Hub's API port, chosen once per data directory and kept.

    Containers learn the Hub's URL when they start; a new port on every Hub start would cut
    running containers off from the Hub after a restart.
    """
    path = settings.data_dir / "hub-port"
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        port = int(os.environ.get("NBCAMPUS_HUB_PORT") or free_port())
        private_dir(settings.data_dir)
        path.write_text(f"{port}\n")
        return port


def configure_docker(c: Any, settings: Settings) -> None:
    """Containers through the Docker API (Docker Engine, or podman's compatible service).

    Environment (all optional):
      NBCAMPUS_STUDENT_IMAGE    the image of student servers (localhost/nbcampus-student:latest)
      NBCAMPUS_ALLOWED_IMAGES   comma-separated images a user may ask for (default: that one)
      NBCAMPUS_CONTAINER_PREFIX prefix of container and volume names (default nbcampus)
      NBCAMPUS_HUB_CONNECT_IP   the address containers use to reach the Hub (default: this
                                machine's address on its default route)
      NBCAMPUS_PULL_POLICY      never (default: images are built here) | ifnotpresent | always
    Limits per campus role: c.CampusDockerSpawner.role_limits (see hub/spawner.py).
    """
    from nbcampus.engine import host_address

    image = os.environ.get("NBCAMPUS_STUDENT_IMAGE", "localhost/nbcampus-student:latest")
    allowed = os.environ.get("NBCAMPUS_ALLOWED_IMAGES", "")
    c.JupyterHub.spawner_class = "nbcampus.hub.spawner.CampusDockerSpawner"
    c.DockerSpawner.image = image
    # Never "*": a user may only pick among images the operator lists.
    c.DockerSpawner.allowed_images = [i.strip() for i in allowed.split(",") if i.strip()] or [image]
    c.DockerSpawner.prefix = os.environ.get("NBCAMPUS_CONTAINER_PREFIX", "nbcampus")
    c.DockerSpawner.name_template = "{prefix}-{username}"
    # Named volumes outlive containers: `remove` drops the container on stop, never the home.
    c.DockerSpawner.volumes = {"{prefix}-home-{username}": "/home/jovyan"}
    c.DockerSpawner.notebook_dir = "/home/jovyan"
    c.DockerSpawner.remove = True
    c.DockerSpawner.pull_policy = os.environ.get("NBCAMPUS_PULL_POLICY", "never")
    # A real init as PID 1 reaps the kernels' children and makes stops immediate.
    c.DockerSpawner.extra_host_config = {"init": True}
    # The single-user server's port is published on the host's loopback only: the proxy
    # reaches it there, nothing else on the network can.
    c.DockerSpawner.host_ip = "127.0.0.1"
    # jupyterhub-singleuser without its slowest import (see nbcampus/singleuser.py).
    c.DockerSpawner.cmd = ["python3", "-m", "nbcampus.singleuser"]
    # The Hub listens on this machine's own address at a fixed port: reachable from the
    # containers without depending on the podman bridge (which exists only while containers
    # are attached to it), and the same after a Hub restart.
    ip = host_address()
    port = stable_hub_port(settings)
    c.JupyterHub.hub_bind_url = f"http://{ip}:{port}"
    c.JupyterHub.hub_connect_url = f"http://{ip}:{port}"
    # The Lab's server part and nbgrader's exchange in a container call the campus and grader
    # services themselves: they listen on that address too (every request needs a Hub token;
    # the databases and the grader's storage stay out of the containers' reach).
    env = c.Spawner.environment
    for service in c.JupyterHub.services:
        url = service.get("url", "")
        if url.startswith("http://127.0.0.1:"):
            service["url"] = url.replace("127.0.0.1", ip, 1)
            key = f"NBCAMPUS_{service['name'].upper()}_URL"
            if key in env:
                env[key] = env[key].replace(url, service["url"], 1)
    # Many students starting at once on a busy host: a Lab in a container may take more than
    # the Hub's default 30 s to answer; waiting longer beats failing the spawn.
    c.Spawner.http_timeout = 120
    c.Spawner.start_timeout = 300
    # Restarting the Hub keeps the students' containers running; it finds them again.
    c.JupyterHub.cleanup_servers = False
    # The grader runs submissions in throwaway containers of the grader image.
    grader_image = os.environ.get("NBCAMPUS_GRADER_IMAGE", image)
    for service in c.JupyterHub.services:
        if service.get("name") == "grader":
            service["command"] = [
                *service["command"],
                "--GraderService.sandbox_runner=nbcampus.grader.sandbox.container:ContainerRunner",
            ]
            service["environment"] = {
                **service.get("environment", {}),
                "NBCAMPUS_GRADER_IMAGE": grader_image,
            }


def configure_kubernetes(c: Any, settings: Settings) -> None:
    """Pods through KubeSpawner, as deployed by Zero to JupyterHub (see images/kubernetes)."""
    c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"


PROFILES = {
    "local": configure_local,
    "docker": configure_docker,
    "kubernetes": configure_kubernetes,
}


def configure_profile(c: Any, settings: Settings) -> None:
    PROFILES[settings.profile](c, settings)


# A local server has no enforced limit; the memory a pre-warm counts it at unless the operator
# sets c.Spawner.mem_limit (a Lab with one kernel takes ~150-300 MB resident).
LOCAL_SERVER_MEMORY = "512M"


def _config_value(section: Any, name: str) -> Any:
    return section[name] if name in section else None


def student_server_memory(c: Any, settings: Settings) -> int:
    """Bytes one student's server is counted at by the schedule's pre-warm (its memory budget,
    hub/campus/prewarm.py): the profile's memory limit for a student, as configured (the
    operator's extra config included, so call it after that is loaded)."""
    from nbcampus.settings import parse_memory

    value: Any = None
    if settings.profile == "docker":
        limits = _config_value(c.CampusDockerSpawner, "role_limits")
        if limits is None:
            from nbcampus.hub.spawner import CampusDockerSpawner

            limits = CampusDockerSpawner().role_limits
        value = (limits.get("student") or {}).get("mem")
    elif settings.profile == "kubernetes":
        value = _config_value(c.KubeSpawner, "mem_limit")
    value = value or _config_value(c.Spawner, "mem_limit") or LOCAL_SERVER_MEMORY
    return value if isinstance(value, int) else parse_memory(str(value))
