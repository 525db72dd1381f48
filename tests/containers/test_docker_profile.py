"""The docker profile end to end: a student logs in through the Hub and works in a real
container of the student image; homes survive; the Hub restarts without touching servers;
refusals are clear and leave nothing behind."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from harness.containers import DockerCampus, run_cell, wait_ready

pytestmark = [pytest.mark.container, pytest.mark.slow]

MISSING_IMAGE = "localhost/nbcampus-never-built:latest"
# Students get 1 CPU and 1 GB; instructors more; staff a memory limit no container can start
# with, to meet a container that fails to start for real.
EXTRA = f"""
c.CampusDockerSpawner.role_limits = {{
    "student": {{"cpu": 1.0, "mem": "1G"}},
    "instructor": {{"cpu": 2.0, "mem": "3G"}},
    "staff": {{"cpu": 0.5, "mem": "1M"}},
}}
c.DockerSpawner.allowed_images = ["localhost/nbcampus-student:latest", {MISSING_IMAGE!r}]
c.JupyterHub.load_roles.append(
    {{"name": "test-services", "scopes": ["list:services", "read:services"],
      "services": ["test-admin"]}}
)
"""


@pytest.fixture(scope="module")
def docker_hub(
    tmp_path_factory: pytest.TempPathFactory, docker: Any, student_image: str
) -> Iterator[DockerCampus]:
    hub = DockerCampus(tmp_path_factory.mktemp("docker") / "data", extra_config=EXTRA)
    hub.start()
    yield hub
    hub.stop()
    hub.remove_leftovers(docker)


def xsrf_token(session: requests.Session) -> str:
    return next(c.value for c in session.cookies if c.name == "_xsrf")


def containers_of(docker: Any, hub: DockerCampus, name: str) -> list[Any]:
    wanted = f"{hub.prefix}-{name}"
    return [c for c in docker.containers.list(all=True) if c.name == wanted]


def volume_names(docker: Any, hub: DockerCampus) -> set[str]:
    return {v.name for v in docker.volumes.list() if v.name.startswith(hub.prefix)}


def ensure_server(hub: DockerCampus, name: str) -> None:
    """Start `name`'s server through the Hub's API unless it runs already."""
    admin = hub.admin_client()
    if not admin.get(f"hub/api/users/{name}").json()["servers"].get(""):
        resp = admin.post(
            f"hub/api/users/{name}/server", json={"image": "localhost/nbcampus-student:latest"}
        )
        assert resp.status_code in (201, 202), resp.text
    wait_ready(hub, name)


def stop_server(hub: DockerCampus, name: str) -> None:
    admin = hub.admin_client()
    assert admin.delete(f"hub/api/users/{name}/server").status_code in (202, 204)
    for _ in range(120):
        if not admin.get(f"hub/api/users/{name}").json()["servers"]:
            return
        time.sleep(0.25)
    raise TimeoutError(f"{name}'s server did not stop")


def test_student_lab_in_a_container(docker_hub: DockerCampus, docker: Any, student_image) -> None:
    alice = docker_hub.demo("student")
    name = alice["name"]
    session = docker_hub.login_session(name, alice["password"])
    # Two images are offered here, so the spawn page asks which; the student picks the first.
    form = session.get(docker_hub.url + "hub/spawn", timeout=60)
    assert form.status_code == 200 and student_image in form.text
    page = session.post(
        docker_hub.url + "hub/spawn",
        data={"image": student_image},
        headers={"X-XSRFToken": xsrf_token(session)},
        timeout=60,
    )
    assert page.status_code == 200
    wait_ready(docker_hub, name)

    (container,) = containers_of(docker, docker_hub, name)
    assert student_image in container.image.tags
    host = container.attrs["HostConfig"]
    assert host["Init"] is True
    assert host["Memory"] == 1024**3  # the student role's limit
    assert host["CpuQuota"] == 100_000 and host["CpuPeriod"] == 100_000
    mounts = container.attrs["Mounts"]
    assert [(m["Type"], m["Name"], m["Destination"]) for m in mounts] == [
        ("volume", f"{docker_hub.prefix}-home-{name}", "/home/jovyan")
    ]
    # the single-user port is published on the host's loopback only
    ports = container.attrs["NetworkSettings"]["Ports"]["8888/tcp"]
    assert {p["HostIp"] for p in ports} == {"127.0.0.1"}

    out = run_cell(
        docker_hub,
        name,
        "python3",
        "import getpass, os, sys\nprint(getpass.getuser(), os.getcwd(), sys.version_info[:2])",
    )
    assert out["status"] == "ok", out
    assert out["stdout"].strip() == "jovyan /home/jovyan (3, 11)"
    # the Lab the student gets carries the campus lab extension
    headers = {"Authorization": f"token {docker_hub.token_for(name)}"}
    lab = requests.get(docker_hub.url + f"user/{name}/lab", headers=headers, timeout=30)
    assert lab.status_code == 200 and '"@nbcampus/lab"' in lab.text
    # a light server: jupyterhub-singleuser through nbcampus.singleuser, without nbgrader's
    # instructor tools
    assert container.attrs["Config"]["Cmd"][:3] == ["python3", "-m", "nbcampus.singleuser"]
    formgrader = requests.get(
        docker_hub.url + f"user/{name}/formgrader", headers=headers, timeout=30
    )
    assert formgrader.status_code == 404


def test_c_cells_in_the_container(docker_hub: DockerCampus) -> None:
    name = docker_hub.demo("student")["name"]
    ensure_server(docker_hub, name)
    token = docker_hub.token_for(name)
    specs = requests.get(
        docker_hub.url + f"user/{name}/api/kernelspecs",
        headers={"Authorization": f"token {token}"},
        timeout=30,
    ).json()["kernelspecs"]
    c_kernels = [k for k, v in specs.items() if v["spec"]["language"].lower() == "c"]
    assert c_kernels, f"the student image has no C kernel: {sorted(specs)}"
    code = '#include <stdio.h>\nint square(int x) { return x * x; }\nprintf("%d\\n", square(7));'
    out = run_cell(docker_hub, name, c_kernels[0], code)
    assert out["status"] == "ok", out
    assert out["stdout"].strip() == "49"
    broken = run_cell(docker_hub, name, c_kernels[0], "int x = ;")
    assert broken["status"] == "error" and broken["error"], broken


def test_container_reaches_the_hub_and_services_but_not_their_data(
    docker_hub: DockerCampus,
) -> None:
    """The Lab's server part and nbgrader's exchange call the campus and grader services from
    the container (with the server's Hub token); the databases and storage stay out of reach."""
    name = docker_hub.demo("student")["name"]
    ensure_server(docker_hub, name)
    services = docker_hub.admin_client().get("hub/api/services").json()
    grader_url = services["grader"]["url"].rstrip("/")
    from nbcampus.engine import host_address

    code = f"""
import os, urllib.request, urllib.error
api = os.environ["JUPYTERHUB_API_URL"]
print("hub", urllib.request.urlopen(api + "/", timeout=5).status)
grader = os.environ["NBCAMPUS_GRADER_URL"]
print("grader url on host", grader.startswith({grader_url!r}))
try:
    urllib.request.urlopen(grader + "api/v1/courses/python-intro/assignments", timeout=5)
    print("grader without token: open")
except urllib.error.HTTPError as err:
    print("grader without token:", err.code)
print("data dir visible", os.path.exists({str(docker_hub.data_dir)!r}))
import subprocess, sys
listed = subprocess.run([sys.executable, "-m", "nbgrader", "list"], capture_output=True,
                        text=True, timeout=60)
print("nbgrader list", listed.returncode, "python-intro 01-values released" in listed.stderr)
"""
    out = run_cell(docker_hub, name, "python3", code)
    assert out["status"] == "ok", out
    lines = out["stdout"].strip().splitlines()
    assert lines[0] == "hub 200"
    assert lines[1] == "grader url on host True", (lines, grader_url, host_address())
    # nbgrader's own student command in the container lists the course over HTTP.
    assert lines[4] == "nbgrader list 0 True", out
    assert lines[2] in ("grader without token: 401", "grader without token: 403"), lines
    # the Hub's SQLite databases, the grader's storage and the secrets live there
    assert lines[3] == "data dir visible False"
    # The Lab's server part, running in the container, reaches the campus for the student.
    me = docker_hub.client(name).get(f"user/{name}/nbcampus/campus/api/v1/me")
    assert me.status_code == 200, me.text
    assert me.json()["name"] == name
    courses = docker_hub.client(name).get(f"user/{name}/nbcampus/grader/api/v1/")
    assert courses.status_code == 200, courses.text


def test_home_survives_container_removal(docker_hub: DockerCampus, docker: Any) -> None:
    name = docker_hub.demo("student")["name"]
    ensure_server(docker_hub, name)
    token = docker_hub.token_for(name)
    headers = {"Authorization": f"token {token}"}
    url = docker_hub.url + f"user/{name}/api/contents/keep.txt"
    body = {"type": "file", "format": "text", "content": "still here"}
    assert requests.put(url, json=body, headers=headers, timeout=30).status_code in (200, 201)

    stop_server(docker_hub, name)
    assert containers_of(docker, docker_hub, name) == []  # the container is gone...
    assert f"{docker_hub.prefix}-home-{name}" in volume_names(docker, docker_hub)  # not the home

    assert docker_hub.admin_client().post(f"hub/api/users/{name}/server").status_code in (
        201,
        202,
    )
    wait_ready(docker_hub, name)
    got = requests.get(url, headers=headers, timeout=30).json()
    assert got["content"] == "still here"


def test_instructor_gets_the_instructor_limits(docker_hub: DockerCampus, docker: Any) -> None:
    name = docker_hub.demo("instructor")["name"]
    resp = docker_hub.admin_client().post(f"hub/api/users/{name}/server")
    assert resp.status_code in (201, 202)
    wait_ready(docker_hub, name)
    (container,) = containers_of(docker, docker_hub, name)
    assert container.attrs["HostConfig"]["Memory"] == 3 * 1024**3
    assert container.attrs["HostConfig"]["CpuQuota"] == 200_000
    stop_server(docker_hub, name)


def test_image_not_offered_is_refused_cleanly(docker_hub: DockerCampus, docker: Any) -> None:
    name = docker_hub.demo("staff")["name"]  # a user without any server or volume yet
    before = volume_names(docker, docker_hub)
    resp = docker_hub.admin_client().post(
        f"hub/api/users/{name}/server", json={"image": "docker.io/library/evil:latest"}
    )
    assert resp.status_code == 400
    assert "is not offered on this campus" in resp.json()["message"]
    assert containers_of(docker, docker_hub, name) == []
    assert volume_names(docker, docker_hub) == before
    assert "refused image 'docker.io/library/evil:latest'" in docker_hub.log_tail(20000)


def test_missing_image_is_explained(docker_hub: DockerCampus, docker: Any) -> None:
    name = docker_hub.demo("admin")["name"]
    before = volume_names(docker, docker_hub)
    admin = docker_hub.admin_client()
    resp = admin.session.post(
        docker_hub.url + f"hub/api/users/{name}/server", json={"image": MISSING_IMAGE}, timeout=60
    )
    assert resp.status_code == 503, resp.text
    assert "not installed on this campus yet" in resp.json()["message"]
    assert containers_of(docker, docker_hub, name) == []
    assert volume_names(docker, docker_hub) == before
    assert f"image {MISSING_IMAGE} missing" in docker_hub.log_tail(20000)


def test_container_that_fails_to_start(docker_hub: DockerCampus, docker: Any) -> None:
    staff = docker_hub.demo("staff")
    name = staff["name"]
    before = volume_names(docker, docker_hub)
    session = docker_hub.login_session(name, staff["password"])
    form = session.get(docker_hub.url + "hub/spawn", timeout=60)
    assert form.status_code == 200
    page = session.post(
        docker_hub.url + "hub/spawn",
        data={"image": "localhost/nbcampus-student:latest"},
        headers={"X-XSRFToken": xsrf_token(session)},
        timeout=60,
    )
    # The spawn page tells the person what happened: at once, or on the pending page once
    # the start has failed.
    text = page.text
    deadline = time.monotonic() + 30
    while "failed to start" not in text and time.monotonic() < deadline:
        time.sleep(0.5)
        text = session.get(docker_hub.url + f"hub/spawn-pending/{name}", timeout=30).text
    assert "container failed to start" in text, text[-3000:]
    assert containers_of(docker, docker_hub, name) == []
    assert volume_names(docker, docker_hub) == before  # its new home volume went too
    assert f"container for {name} from" in docker_hub.log_tail(20000)


def test_hub_restart_keeps_running_containers(docker_hub: DockerCampus, docker: Any) -> None:
    name = docker_hub.demo("student")["name"]
    ensure_server(docker_hub, name)
    (before,) = containers_of(docker, docker_hub, name)
    docker_hub.stop()
    before.reload()
    assert before.status == "running"
    docker_hub.start()
    wait_ready(docker_hub, name)
    (after,) = containers_of(docker, docker_hub, name)
    assert after.id == before.id
    out = run_cell(docker_hub, name, "python3", "print(6 * 7)")
    assert out["stdout"].strip() == "42"


def test_submission_graded_in_a_grading_container(docker_hub: DockerCampus, docker: Any) -> None:
    """The student saves the released notebook in the Lab, answers it, and submits it; the
    grader (with the container runner of the docker profile) grades it in a container."""
    import base64
    import datetime
    from pathlib import Path

    name = docker_hub.demo("student")["name"]
    ensure_server(docker_hub, name)
    student = docker_hub.client(name)
    grader = "services/grader/api/v1/courses/python-intro/assignments/01-values/"
    files = student.get(grader + "files").json()["files"]
    (nb_name,) = [n for n in files if n.endswith(".ipynb")]

    # the instructor's source notebook stands in for the student's correct answers
    source = Path(__file__).resolve().parents[2] / "courses/python-intro/lessons/01-values"
    answered = (source / nb_name).read_text()
    headers = {"Authorization": f"token {docker_hub.token_for(name)}"}
    url = docker_hub.url + f"user/{name}/api/contents/{nb_name}"
    import json

    body = {"type": "notebook", "format": "json", "content": json.loads(answered)}
    assert requests.put(url, json=body, headers=headers, timeout=30).status_code in (200, 201)
    saved = requests.get(url, headers=headers, timeout=30).json()["content"]

    since = datetime.datetime.now(datetime.UTC)
    content = base64.b64encode(json.dumps(saved).encode()).decode()
    resp = student.post(grader + "submissions", json={"files": {nb_name: content}})
    assert resp.status_code == 202, resp.text
    uid = resp.json()["id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        sub = student.get(f"services/grader/api/v1/submissions/{uid}").json()
        if sub["status"] in ("graded", "failed"):
            break
        time.sleep(0.5)
    assert sub["status"] == "graded", sub
    assert sub["score"] == sub["max_score"] > 0

    # The engine's event log: grading containers were created and started since the submit.
    # (podman's Docker API returns no past events; its command line reads the same log.)
    from nbcampus.engine import find_engine

    log = find_engine().run(
        "events",
        "--stream=false",
        "--since",
        since.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "--filter",
        "label=org.nbcampus.role=grading",
        "--format",
        "{{.Status}}",
        capture_output=True,
        text=True,
        timeout=60,
    )
    actions = set(log.stdout.split())
    assert {"create", "start"} <= actions, log.stdout + log.stderr
    left = docker.containers.list(all=True, filters={"label": "org.nbcampus.role=grading"})
    assert left == []
