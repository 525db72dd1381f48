"""The kubernetes profile's Hub image (images/hub/Containerfile): it builds, and nbcampus and
KubeSpawner run in it, as a user other than root."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.container, pytest.mark.slow]


def run_in(docker: Any, image: str, *command: str) -> str:
    out = docker.containers.run(image, list(command), remove=True, network_mode="none")
    return out.decode()


def test_nbcampus_runs_in_the_hub_image(docker: Any, hub_image: str) -> None:
    text = run_in(docker, hub_image, "nbcampus", "--help")
    assert "usage: nbcampus" in text
    assert "images" in text  # the full command set, not a stub


def test_kubespawner_and_the_campus_are_installed(docker: Any, hub_image: str) -> None:
    code = (
        "import getpass, kubespawner, nbcampus.hub.spawner, nbcampus.grader;"
        "print(getpass.getuser(), kubespawner.KubeSpawner.__name__)"
    )
    assert run_in(docker, hub_image, "python3", "-c", code).split() == ["jovyan", "KubeSpawner"]
