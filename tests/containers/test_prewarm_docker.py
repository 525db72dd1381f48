"""Pre-warming in the docker profile: the same path as the local one (the campus asks the
Hub's API), real containers, each counted at the profile's student memory limit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from harness.containers import DockerCampus
from harness.schedule import meeting_soon, scheduled_class, school_zone

pytestmark = [pytest.mark.container, pytest.mark.slow]

CAMPUS = "services/campus/api/v1/"
# Students' containers get 1 GB: a 2 GB budget holds two of the class's three.
EXTRA = """
c.CampusDockerSpawner.role_limits = {"student": {"cpu": 1.0, "mem": "1G"}}
"""


@pytest.fixture(scope="module")
def docker_hub(
    tmp_path_factory: pytest.TempPathFactory, docker: Any, student_image: str
) -> Iterator[DockerCampus]:
    hub = DockerCampus(
        tmp_path_factory.mktemp("prewarm-docker") / "data",
        extra_config=EXTRA,
        NBCAMPUS_PREWARM_MEMORY="2G",
        NBCAMPUS_PREWARM_INTERVAL="2",  # not the minute of a campus: the test waits for it
        NBCAMPUS_TIMEZONE=school_zone(),
    )
    hub.start()
    yield hub
    hub.stop()
    hub.remove_leftovers(docker)


def test_containers_pre_warmed_within_the_budget(docker_hub: DockerCampus, docker: Any) -> None:
    hub = docker_hub
    admin = hub.client(hub.demo("admin")["name"])
    names = [f"pwd{i}" for i in range(3)]
    for name in names:
        resp = admin.post(CAMPUS + "accounts", json={"name": name, "role": "student"})
        assert resp.status_code == 201, resp.text
    schedule = meeting_soon(hub.env["NBCAMPUS_TIMEZONE"], minutes=4)
    class_id = scheduled_class(hub, "Prewarm in containers", names, schedule)

    deadline = time.monotonic() + 300
    rows: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        body = admin.get(CAMPUS + f"classes/{class_id}/prewarms").json()
        rows = body["prewarms"]
        if len(rows) == 3 and sum(r["outcome"] == "started" for r in rows) == 2:
            break
        time.sleep(2)
    else:
        raise AssertionError(f"no pre-warm: {rows}\n{hub.log_tail(6000)}")
    assert body["server_bytes"] == 2**30  # the docker profile's student limit, not a default
    started = sorted(r["student"] for r in rows if r["outcome"] == "started")
    [skipped] = [r for r in rows if r["outcome"] == "skipped"]
    assert skipped["reason"] == "over the memory budget"
    # Real containers, started by the Hub's spawner with the role's limit.
    for name in started:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            server = (hub.admin_client().get(f"hub/api/users/{name}").json()["servers"]).get("")
            if server and server["ready"]:
                break
            time.sleep(1)
        else:
            raise AssertionError(f"{name}'s container is not ready:\n{hub.log_tail(6000)}")
        [container] = [c for c in docker.containers.list() if c.name == f"{hub.prefix}-{name}"]
        assert container.attrs["HostConfig"]["Memory"] == 2**30
    assert not [
        c for c in docker.containers.list() if c.name == f"{hub.prefix}-{skipped['student']}"
    ]
