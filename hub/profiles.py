"""How student servers run, per profile: local processes, containers, or Kubernetes pods."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from nbcampus.settings import Settings


def configure_local(c: Any, settings: Settings) -> None:
    """One local process per student, each with a home directory under the data directory.

    The processes run as the Hub's own user (there are no system accounts per student), so
    this profile isolates students from each other only as far as the file system layout
    does; the docker profile is the one that contains them.
    """
    c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
    c.SimpleLocalProcessSpawner.home_dir_template = str(settings.homes_dir / "{username}")
    c.Spawner.cmd = [str(Path(sys.executable).parent / "jupyterhub-singleuser")]
    if os.geteuid() == 0:
        c.Spawner.args = ["--allow-root"]


def configure_docker(c: Any, settings: Settings) -> None:
    """Containers through the Docker API (Docker Engine, or podman's compatible service)."""
    c.JupyterHub.spawner_class = "dockerspawner.DockerSpawner"
    c.DockerSpawner.image = os.environ.get("NBCAMPUS_STUDENT_IMAGE", "localhost/nbcampus-student")
    c.DockerSpawner.allowed_images = [c.DockerSpawner.image]
    c.DockerSpawner.volumes = {"nbcampus-home-{username}": "/home/jovyan"}
    c.DockerSpawner.remove = True
    c.DockerSpawner.extra_create_kwargs = {"init": True}
    c.JupyterHub.hub_ip = "0.0.0.0"  # noqa: S104 - containers must reach the Hub


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
