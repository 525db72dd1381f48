"""The Course view's folders when the home itself is an nbgrader course (nbgrader's standard
place: ~/source with ~/nbgrader_config.py beside it), on a real Jupyter server with the Lab's
server part: the home is offered ("."), its lessons preview with nbgrader, its course.yaml
once written keeps it offered, and the other folders are still listed."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from harness.reference import PS1
from labserver import LabServer

pytestmark = pytest.mark.slow


@pytest.fixture
def home(tmp_path: Path) -> Iterator[tuple[Path, LabServer]]:
    root = tmp_path / "home"
    shutil.copytree(PS1 / "source", root / "source")
    (root / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "ps1"\n'
    )
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
