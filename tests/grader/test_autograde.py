"""Autograde in the sandbox: same scores as stock nbgrader, and hostile submissions contained."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from harness.procs import nice_values
from harness.reference import PS1
from nbgrader.utils import determine_grade, is_grade, parse_utc

from nbcampus.grader.autograde import KERNEL_PROTOCOL_ERROR, Autograder, generate_assignment
from nbcampus.grader.sandbox.base import Limits
from nbcampus.grader.sandbox.local import DEMOTED_NICE

from .notebooks import ANSWER, TESTS, source_notebook, student_version, write


def stock_grades(notebook: Path) -> dict[str, float | None]:
    """Per graded cell, the auto score stock nbgrader gave (from its autograded notebook)."""
    nb = nbformat.read(notebook, as_version=4)
    out = {}
    for cell in nb.cells:
        if is_grade(cell):
            auto, _max = determine_grade(cell)
            out[cell.metadata["nbgrader"]["grade_id"]] = auto
    return out


def test_ps1_same_scores_as_stock_nbgrader(tmp_path: Path, runner) -> None:
    root = tmp_path / "course"
    shutil.copytree(PS1 / "source", root / "source")
    assert generate_assignment(root, "course101", "ps1") == ["problem1", "problem2"]
    grader = Autograder(root, "course101", runner)
    for student in ("bitdiddle", "hacker"):
        sub = PS1 / "submitted" / student / "ps1"
        stamp = parse_utc((sub / "timestamp.txt").read_text())
        result = grader.grade("ps1", student, sub, stamp, Limits())
        for nb in result.notebooks:
            expected = stock_grades(PS1 / "autograded" / student / "ps1" / f"{nb.name}.ipynb")
            ours = {t["name"]: t for t in nb.tests}
            assert set(ours) == set(expected), (student, nb.name)
            for name, auto in expected.items():
                if auto is None:  # stock leaves it to a person: so do we
                    assert ours[name]["needs_manual_grade"], (student, name)
                else:
                    assert ours[name]["score"] == auto, (student, nb.name, name)
    # bitdiddle fails two tests and raises NotImplementedError; hacker passes every test
    assert result.score > 0


@pytest.fixture(scope="module")
def course(tmp_path_factory, runner) -> Autograder:
    root = tmp_path_factory.mktemp("hostile") / "course"
    write(source_notebook(ANSWER, TESTS), root / "source" / "a1" / "add.ipynb")
    (root / "source" / "a1" / "data.txt").write_text("material")
    generate_assignment(root, "c1", "a1")
    return Autograder(root, "c1", runner)


def submit(
    course: Autograder, tmp: Path, student: str, answer: str, edit=None, cell_timeout: float = 3
):
    release = course.root / "release" / "a1" / "add.ipynb"
    nb = student_version(release, answer)
    if edit:
        edit(nb)
    write(nb, tmp / student / "add.ipynb")
    return course.grade("a1", student, tmp / student, None, Limits(cell_timeout=cell_timeout))


def test_correct_and_hidden_tests_reported_without_source(course, tmp_path) -> None:
    good = submit(course, tmp_path, "s-good", ANSWER)
    assert (good.score, good.max_score) == (3.0, 3.0)
    bad = submit(course, tmp_path, "s-bad", "def add(a, b):\n    return 4")
    assert bad.score == 0.0
    public = json.dumps(bad.public())
    tests = {t["name"]: t for t in bad.public()["notebooks"][0]["tests"]}
    assert tests["t_hidden"]["hidden"] and tests["t_hidden"]["passed"] is False
    assert "add(-1, 1)" not in public and "message" not in tests["t_hidden"]


def test_infinite_loop_gets_time_limit(course, tmp_path) -> None:
    res = submit(course, tmp_path, "s-loop", "while True:\n    pass\n" + ANSWER)
    assert res.score == 0.0
    assert res.notebooks[0].status == "time limit"


def test_a_runaway_cell_yields_the_cpu(course, runner, tmp_path) -> None:
    """A cell still running after a second has its kernel demoted to the CPU the other
    gradings leave over, and the worker is told (so that a spare can take its turn)."""
    seen: list[list[int]] = []
    release = course.root / "release" / "a1" / "add.ipynb"
    write(student_version(release, "while True:\n    pass\n" + ANSWER), tmp_path / "add.ipynb")
    res = course.grade(
        "a1",
        "s-runaway",
        tmp_path,
        None,
        Limits(cell_timeout=3),
        on_slow_cell=lambda: seen.append(nice_values({slot.uid for slot in runner._slots})),
    )
    assert res.notebooks[0].status == "time limit"
    assert len(seen) == 1 and DEMOTED_NICE in seen[0], seen
    # a quick submission is never demoted
    seen.clear()
    write(student_version(release, ANSWER), tmp_path / "quick" / "add.ipynb")
    quick = course.grade(
        "a1", "s-quick", tmp_path / "quick", None, Limits(cell_timeout=3), seen.append
    )
    assert quick.score == 3.0 and seen == []


def test_memory_bomb_gets_memory_limit(course, tmp_path) -> None:
    res = submit(course, tmp_path, "s-mem", "x = bytearray(8 * 1024**3)\n" + ANSWER)
    assert res.notebooks[0].status == "memory limit"
    assert res.score == 0.0


def test_fork_bomb_contained(course, tmp_path) -> None:
    bomb = (
        "import os\nn = 0\ntry:\n    for _ in range(10000):\n        if os.fork() == 0:\n"
        "            import time; time.sleep(30); os._exit(0)\n        n += 1\n"
        "except OSError:\n    pass\nassert n < 100, n\n" + ANSWER
    )
    res = submit(course, tmp_path, "s-fork", bomb)
    assert res.score == 3.0  # `add` exists only if the forks were capped before 100
    # the next submission in the same slot starts clean and scores full marks
    assert submit(course, tmp_path, "s-after-fork", ANSWER).score == 3.0


def test_gigabyte_of_output_cut(course, tmp_path) -> None:
    # The cell's time limit is the notebook's here, so the output bound (not a loaded machine's
    # slowness) ends the flood: a cell interrupted at its own time limit lets the tests run on,
    # as in stock nbgrader, which would hide what this test is about.
    flood = ANSWER + "\nwhile True:\n    print('x' * 65536)"
    res = submit(course, tmp_path, "s-out", flood, cell_timeout=Limits().notebook_timeout)
    # Output past the cap is dropped (with a note) while the cell runs on; a flood that goes on
    # past the second bound stops the kernel: "output limit" (or the kernel's own output buffer
    # meets the memory limit first, a MemoryError in the student's cell, after which the tests
    # run as in stock nbgrader).
    status = res.notebooks[0].status
    # A kernel out of memory may also send half a message that the next one joins: its
    # signature fails and the kernel is ended as one that broke the protocol.
    assert status in ("output limit", "memory limit", KERNEL_PROTOCOL_ERROR)
    assert len(nbformat.writes(res.notebooks[0].notebook)) < 2 * Limits().output_bytes
    if status == "output limit":  # dropped past the first bound, stopped past the second
        assert res.notebooks[0].notes and "dropped" in res.notebooks[0].notes[0]
        assert res.score == 0.0  # the tests never ran


def test_a_kernel_that_forges_its_messages_is_ended_not_the_grader(course, tmp_path) -> None:
    """Student code that writes into the kernel's socket to the grader something that is not
    a message (a frame of junk): the grading ends that kernel with a clear status and scores
    0, and the next submission grades as usual."""
    forged = ANSWER + (
        "\nwire = get_ipython().kernel.session.wire"
        "\nwire.sock.sendall(b'\\x00\\x00\\x00\\x05junk!')\nprint('after the junk')"
    )
    res = submit(course, tmp_path, "s-forged", forged)
    assert res.notebooks[0].status == KERNEL_PROTOCOL_ERROR
    assert res.score == 0.0
    assert submit(course, tmp_path, "s-after-forged", ANSWER).score == 3.0


def test_cannot_read_other_files_or_network(course, tmp_path) -> None:
    other = tmp_path / "s-victim"
    submit(course, tmp_path, "s-victim", ANSWER)
    probe = ANSWER + (
        "\nimport os, socket\nseen = open('data.txt').read()\n"
        f"assert not os.path.exists({str(other)!r})\n"
        f"assert not os.path.exists({str(course.root / 'gradebook.db')!r})\n"
        "assert not os.path.exists('/etc/shadow')\n"
        "assert sorted(os.listdir('.')) == ['add.ipynb', 'data.txt'], os.listdir('.')\n"
        "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n    net = True\n"
        "except OSError:\n    net = False\nassert not net\n"
        "try:\n    open('add.ipynb', 'a')\n    writable = True\nexcept OSError:\n"
        "    writable = False\nassert not writable\n"
    )
    res = submit(course, tmp_path, "s-probe", probe)
    assert res.notebooks[0].status == "ok"
    assert res.score == 3.0, res.public()  # every probe assertion held inside the sandbox


def _test_cells(nb):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


@pytest.mark.parametrize(
    "tamper",
    ["delete", "edit", "metadata", "checksum", "traceback"],
)
def test_tampering_never_raises_score(course, tmp_path, tamper) -> None:
    wrong = "def add(a, b):\n    return 0"

    def edit(nb):
        cells = _test_cells(nb)
        if tamper == "delete":
            for c in cells:
                nb.cells.remove(c)
        elif tamper == "edit":
            for c in cells:
                c.source = "pass"
        elif tamper == "metadata":
            for c in cells:
                c.metadata["nbgrader"]["grade"] = False
                c.metadata["nbgrader"]["points"] = 0
                c.source = "pass"
        elif tamper == "checksum":
            for c in cells:
                c.source = "pass"
                c.metadata["nbgrader"]["checksum"] = "0" * 32
        elif tamper == "traceback":
            nb.cells[0].source = wrong + (
                "\nfrom IPython import get_ipython\nip = get_ipython()\n"
                "ip.showtraceback = lambda *a, **k: None\n"
                "ip._showtraceback = lambda *a, **k: None\n"
            )

    res = submit(course, tmp_path, f"s-{tamper}", wrong, edit)
    assert res.score == 0.0, res.public()
    assert res.max_score == 3.0


def test_c_notebook_graded_with_its_own_kernel(tmp_path: Path, runner) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    if "c" not in KernelSpecManager().find_kernel_specs():
        from harness.ci import unavailable

        unavailable("the C kernelspec is not installed (scripts/setup.sh)")
    lesson = Path(__file__).resolve().parents[2] / "courses/c-fundamentals/lessons"
    notebook = next((lesson / "01-variables-printf").glob("*.ipynb"))
    root = tmp_path / "course"
    (root / "source" / "l1").mkdir(parents=True)
    shutil.copy(notebook, root / "source" / "l1")
    generate_assignment(root, "cf", "l1")
    grader = Autograder(root, "cf", runner)
    right = grader.grade("l1", "s-right", root / "source" / "l1", None, Limits())
    blank = grader.grade("l1", "s-blank", root / "release" / "l1", None, Limits())
    assert right.score == right.max_score > 0, right.public()
    assert blank.score == 0.0 and blank.max_score == right.max_score
