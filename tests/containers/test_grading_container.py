"""Grading in throwaway containers of the grader image: scores, limits, no network, no leaks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from grader.notebooks import ANSWER, TESTS, source_notebook, student_version, write
from harness.procs import nice_values

from nbcampus.grader.autograde import Autograder, generate_assignment
from nbcampus.grader.sandbox.base import Limits
from nbcampus.grader.sandbox.container import CONTAINER_UID, DEMOTED_NICE, ContainerRunner

pytestmark = [pytest.mark.container, pytest.mark.slow]


@pytest.fixture(scope="module")
def runner(student_image: str, docker: Any) -> Iterator[ContainerRunner]:
    r = ContainerRunner(image=student_image)
    r.start()
    yield r
    r.stop()
    left = docker.containers.list(all=True, filters={"label": "org.nbcampus.role=grading"})
    assert left == [], "grading containers left behind"


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory, runner: ContainerRunner) -> Autograder:
    root = tmp_path_factory.mktemp("cgrade") / "course"
    write(source_notebook(ANSWER, TESTS), root / "source" / "a1" / "add.ipynb")
    (root / "source" / "a1" / "data.txt").write_text("material")
    generate_assignment(root, "c1", "a1")
    return Autograder(root, "c1", runner)


def submit(course: Autograder, tmp: Path, student: str, answer: str, limits: Limits = None):
    release = course.root / "release" / "a1" / "add.ipynb"
    write(student_version(release, answer), tmp / student / "add.ipynb")
    limits = limits or Limits(cell_timeout=5, memory_bytes=512 * 1024**2)
    return course.grade("a1", student, tmp / student, None, limits)


def test_graded_in_a_container(course: Autograder, tmp_path: Path, docker: Any) -> None:
    good = submit(course, tmp_path, "s-good", ANSWER)
    assert (good.score, good.max_score) == (3.0, 3.0)
    bad = submit(course, tmp_path, "s-bad", "def add(a, b):\n    return 4")
    assert bad.score == 0.0
    assert docker.containers.list(all=True, filters={"label": "org.nbcampus.role=grading"}) == []


def test_container_sees_only_its_submission_and_no_network(
    course: Autograder, tmp_path: Path
) -> None:
    probe = ANSWER + (
        "\nimport os, socket\n"
        "assert open('data.txt').read() == 'material'\n"  # the test material is there
        "assert sorted(os.listdir('.')) == ['add.ipynb', 'data.txt'], os.listdir('.')\n"
        f"assert not os.path.exists({str(course.root)!r})\n"  # no gradebook, no sources
        "assert os.getuid() == 1000\n"
        "try:\n    open('new.txt', 'w')\n    raise AssertionError('writable')\n"
        "except OSError:\n    pass\n"
        "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
        "    raise AssertionError('network')\nexcept OSError:\n    pass\n"
        "assert [n for n in socket.if_nameindex() if n[1] != 'lo'] == []\n"
    )
    res = submit(course, tmp_path, "s-probe", probe)
    assert res.score == 3.0, res.public()


def test_memory_bomb_hits_the_containers_limit(course: Autograder, tmp_path: Path) -> None:
    bomb = "x = bytearray(2 * 1024**3)\n" + ANSWER
    res = submit(course, tmp_path, "s-mem", bomb)
    assert res.score == 0.0
    assert res.notebooks[0].status == "memory limit", res.notebooks[0].status


def test_infinite_loop_gets_time_limit(course: Autograder, tmp_path: Path) -> None:
    # Once the cell has run for a second, the container's processes yield the CPU.
    nices: list[list[int]] = []

    def container_nices() -> None:
        nices.append(nice_values({CONTAINER_UID}, cmdline_has="ipykernel"))

    release = course.root / "release" / "a1" / "add.ipynb"
    write(
        student_version(release, "while True:\n    pass\n" + ANSWER),
        tmp_path / "s-loop" / "add.ipynb",
    )
    limits = Limits(cell_timeout=5, memory_bytes=512 * 1024**2)
    res = course.grade("a1", "s-loop", tmp_path / "s-loop", None, limits, container_nices)
    assert len(nices) == 1 and DEMOTED_NICE in nices[0], nices
    assert res.score == 0.0
    assert res.notebooks[0].status == "time limit"
