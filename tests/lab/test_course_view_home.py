"""The Course view's folders when the home itself is an nbgrader course (nbgrader's standard
place: ~/source with ~/nbgrader_config.py beside it), on a real Jupyter server with the Lab's
server part: the home is offered ("."), its lessons preview with nbgrader, its course.yaml
once written keeps it offered, and the other folders are still listed. Then in Chromium through
the real Hub: the instructor's Course view offers "~/ (your home)" and reads it with the
campus's importer. Screenshot: test-output/course-view-home-nbgrader.png."""

from __future__ import annotations

import base64
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from harness.browser import open_lab
from harness.hub import CampusHub
from harness.reference import PS1
from labserver import LabServer

pytestmark = pytest.mark.slow
CONFIG = 'c = get_config()\nc.CourseDirectory.course_id = "ps1"\n'


@pytest.fixture
def home(tmp_path: Path) -> Iterator[tuple[Path, LabServer]]:
    root = tmp_path / "home"
    shutil.copytree(PS1 / "source", root / "source")
    (root / "nbgrader_config.py").write_text(CONFIG)
    (root / "other" / "source" / "hw1").mkdir(parents=True)  # an nbgrader course one level down
    server = LabServer(root, {})
    yield root, server
    server.stop()


def call(server: LabServer, method: str, path: str, **kwargs) -> requests.Response:  # type: ignore[no-untyped-def]
    url = server.url + "nbcampus-courses/" + path
    return requests.request(method, url, headers=server.headers, timeout=180, **kwargs)


def test_the_home_as_an_nbgrader_course_is_offered(home: tuple[Path, LabServer]) -> None:
    root, server = home
    folders = call(server, "GET", "folders").json()["folders"]
    assert {"path": ".", "slug": "", "title": "", "nbgrader": True} in folders, folders
    assert any(f["path"] == "other" and f.get("nbgrader") for f in folders), folders
    # its lesson previews as nbgrader generates it
    preview = call(server, "POST", "preview?path=.", json={"lesson": "ps1"})
    assert preview.status_code == 200, preview.text
    assert "problem1.ipynb" in preview.text
    # written as a course.yaml (the form's first save), the home stays offered
    data = {"slug": "ps1", "title": "Problem set 1", "sections": []}
    saved = call(server, "PUT", "course?path=.", json={"data": data})
    assert saved.status_code == 200 and saved.json()["path"] == ".", saved.text
    assert (root / "course.yaml").is_file()
    folders = call(server, "GET", "folders").json()["folders"]
    assert {"path": ".", "slug": "ps1", "title": "Problem set 1"} in folders, folders
    # nothing outside the home
    assert call(server, "GET", "course?path=..").json()["code"] == "VALIDATION_ERROR"


def put_into_home(hub: CampusHub, name: str, files: dict[str, bytes]) -> None:
    """Files into the instructor's home through their server's contents API (as an upload
    from the Lab's file browser would)."""
    me = hub.client(name)
    base = f"user/{name}/api/contents/"
    made: set[str] = set()
    for rel, data in files.items():
        parts = rel.split("/")
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            if folder not in made:
                resp = me.put(base + folder, json={"type": "directory"})
                assert resp.status_code in (200, 201), resp.text
                made.add(folder)
        body = {"type": "file", "format": "base64", "content": base64.b64encode(data).decode()}
        resp = me.put(base + rel, json=body)
        assert resp.status_code in (200, 201), resp.text


@pytest.mark.browser
@pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)
def test_the_course_view_opens_the_home_as_an_nbgrader_course(
    campus_hub: CampusHub, browser: Any, output_dir: Path
) -> None:
    teacher = campus_hub.demo("instructor")
    name = teacher["name"]
    campus_hub.start_server(name)
    course = f"home-ps1-{uuid.uuid4().hex[:6]}"
    source = PS1 / "source"
    files = {
        "source/" + p.relative_to(source).as_posix(): p.read_bytes()
        for p in sorted(source.rglob("*"))
        if p.is_file()
    }
    files["nbgrader_config.py"] = CONFIG.replace("ps1", course).encode()
    put_into_home(campus_hub, name, files)

    page = open_lab(browser, campus_hub, name, teacher["password"], viewport=(1500, 1000))
    try:
        page.click("#nbc-tab-teach")
        page.locator(".nbc-open-courseview").click()
        view = page.locator(".nbc-cv")
        view.wait_for(timeout=20_000)
        option = view.locator('.nbc-cv-folder option[value="."]')
        option.wait_for(state="attached", timeout=20_000)
        assert option.inner_text() == "~/ (your home) — nbgrader course (no course.yaml)"
        view.locator(".nbc-cv-folder").select_option(".")
        # the campus's importer reads it: the course named by nbgrader_config.py, lesson ps1
        view.locator(".nbc-cv-count-ok").wait_for(timeout=30_000)
        assert view.locator(".nbc-cv-course-slug").input_value() == course
        assert "~/ is nbgrader's layout" in view.locator(".nbc-cv-source").inner_text()
        found = view.locator('.nbc-cv-read[data-lesson="ps1"] li')
        found.first.wait_for(timeout=30_000)
        assert found.evaluate_all("items => items.map(i => i.dataset.exercise)") == [
            "problem1",
            "problem2",
        ]
        page.screenshot(path=str(output_dir / "course-view-home-nbgrader.png"))
        # the dry run sends the home's course parts only, and finds lesson ps1 new
        dry = view.locator(".nbc-cv-dry-run")
        dry.scroll_into_view_if_needed()
        dry.click()
        row = view.locator('tr[data-change="new"][data-lesson="ps1"]')
        row.or_(view.locator(".nbc-cv-outcome.nbc-error")).first.wait_for(timeout=120_000)
        assert view.locator(".nbc-cv-outcome.nbc-error").count() == 0
    finally:
        page.context.close()
