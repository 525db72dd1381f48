"""What a student sees when the campus cannot start containers: the engine is down, the disk
is full. One Hub, restarted between the two cases; each case leaves no container or volume."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from harness.containers import DockerCampus, spawn_events

pytestmark = [pytest.mark.container, pytest.mark.slow]


@pytest.fixture(scope="module")
def broken_hub(
    tmp_path_factory: pytest.TempPathFactory, docker: Any, student_image: str
) -> Iterator[DockerCampus]:
    data = tmp_path_factory.mktemp("broken") / "data"
    # An engine address where nothing answers: what a stopped Docker daemon looks like.
    hub = DockerCampus(
        data, NBCAMPUS_ENGINE="docker", DOCKER_HOST=f"unix://{data.parent}/no-engine.sock"
    )
    hub.start()
    yield hub
    hub.stop()
    hub.remove_leftovers(docker)


def spawn_page_text(hub: DockerCampus, role: str) -> str:
    account = hub.demo(role)
    session = hub.login_session(account["name"], account["password"])
    page = session.get(hub.url + "hub/spawn", timeout=60)
    events = spawn_events(hub, account["name"]) if page.status_code == 200 else []
    return page.text + " ".join(e.get("message", "") for e in events)


def leftovers(docker: Any, hub: DockerCampus) -> list[str]:
    names = [c.name for c in docker.containers.list(all=True) if c.name.startswith(hub.prefix)]
    return names + [v.name for v in docker.volumes.list() if v.name.startswith(hub.prefix)]


def test_engine_down_is_explained(broken_hub: DockerCampus, docker: Any) -> None:
    text = spawn_page_text(broken_hub, "student")
    assert "The container engine of this campus is not running" in text
    assert "container engine unavailable" in broken_hub.log_tail(20000)
    assert leftovers(docker, broken_hub) == []


def test_full_disk_is_explained(broken_hub: DockerCampus, docker: Any) -> None:
    broken_hub.stop()
    broken_hub.extra_env.pop("DOCKER_HOST")
    broken_hub.extra_env.pop("NBCAMPUS_ENGINE")
    # More free space than any disk has: the same refusal as a disk that is really full.
    broken_hub.extra_config = "\nc.CampusDockerSpawner.min_free_disk_mb = 10**12\n"
    broken_hub.start()
    text = spawn_page_text(broken_hub, "instructor")
    assert "disk is full" in text
    assert "disk full:" in broken_hub.log_tail(20000)
    assert leftovers(docker, broken_hub) == []
