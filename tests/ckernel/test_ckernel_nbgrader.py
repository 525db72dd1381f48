"""nbgrader on the demo course's C notebooks: generate_assignment, autograde, feedback.

Real nbgrader (the `nbgrader` command of this venv) runs the real C kernel on
submissions made from the released notebooks: correct, wrong, empty (the stub left as
it is), not compiling, crashing, and stuck in an endless loop.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from nbgrader.api import Gradebook

from .conftest import KERNEL_ENV

REPO = Path(__file__).resolve().parents[2]
LESSONS = REPO / "courses" / "c-fundamentals" / "lessons"
NOTEBOOKS = {
    "01-variables-printf": "temperatures",
    "02-functions-loops": "loops",
    "03-pointers-arrays": "arrays",
}


def _nb(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _nbgrader_meta(cell: dict[str, Any]) -> dict[str, Any]:
    return cell.get("metadata", {}).get("nbgrader", {})


def _solutions(notebook: dict[str, Any]) -> dict[str, str]:
    return {
        _nbgrader_meta(c)["grade_id"]: "".join(c["source"])
        for c in notebook["cells"]
        if _nbgrader_meta(c).get("solution")
    }


def _points(notebook: dict[str, Any]) -> dict[str, float]:
    return {
        _nbgrader_meta(c)["grade_id"]: float(_nbgrader_meta(c)["points"])
        for c in notebook["cells"]
        if _nbgrader_meta(c).get("grade")
    }


# Submissions of lesson 2, as the solution cells a student would hand in.
def _loops_submissions(solutions: dict[str, str]) -> dict[str, dict[str, str]]:
    return {
        "correct": solutions,
        "empty": {},
        "wrong": {
            **solutions,
            # off by one, and "odd means prime"
            "sum_to": "int sum_to(int n)\n{\n    int t = 0;\n    for (int i = 1; i < n; i++)\n"
            "        t += i;\n    return t;\n}",
            "is_prime": "int is_prime(int n)\n{\n    return n % 2 == 1;\n}",
        },
        "nocompile": {gid: code.replace("return", "retrun") for gid, code in solutions.items()},
        "crashing": {
            **solutions,
            "count_digits": "int count_digits(int n)\n{\n    int *p = 0;\n    return *p + n;\n}",
            "factorial": "long factorial(int n)\n{\n    return n / (n - n);\n}",
        },
        "endless": {
            **solutions,
            "sum_to": "int sum_to(int n)\n{\n    int t = 0, i = 1;\n    while (i <= n)\n"
            "        t += i;\n    return t;\n}",
        },
    }


def _submit(course: Path, assignment: str, notebook: str, student: str, code: dict[str, str]):
    released = _nb(course / "release" / assignment / f"{notebook}.ipynb")
    for cell in released["cells"]:
        grade_id = _nbgrader_meta(cell).get("grade_id")
        if grade_id in code:
            cell["source"] = code[grade_id]
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{notebook}.ipynb").write_text(json.dumps(released))


def _nbgrader(course: Path, jupyter_data: Path, *args: str) -> None:
    env = {
        **os.environ,
        **KERNEL_ENV,
        "NBCAMPUS_CKERNEL_TIMEOUT": "1",  # the endless loop costs a second, not two
        # nbgrader runs `alembic` from PATH for its gradebook
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "JUPYTER_PATH": str(jupyter_data),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory, jupyter_data: Path) -> Path:
    """A course directory after generate_assignment and autograde of every lesson."""
    course = tmp_path_factory.mktemp("c-course")
    (course / "nbgrader_config.py").write_text(
        "from nbcampus.ckernel.nbgrader_config import configure\n"
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'c-fundamentals'\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "configure(c)\n"
    )
    for assignment, notebook in NOTEBOOKS.items():
        target = course / "source" / assignment
        target.mkdir(parents=True)
        shutil.copy(LESSONS / assignment / f"{notebook}.ipynb", target)
    _nbgrader(course, jupyter_data, "generate_assignment", "*", "--force")
    for assignment, notebook in NOTEBOOKS.items():
        solutions = _solutions(_nb(LESSONS / assignment / f"{notebook}.ipynb"))
        if assignment == "02-functions-loops":
            submissions = _loops_submissions(solutions)
        else:
            submissions = {"correct": solutions, "empty": {}}
        for student, code in submissions.items():
            _submit(course, assignment, notebook, student, code)
    _nbgrader(course, jupyter_data, "autograde", "*", "--force")
    return course


def _scores(course: Path, assignment: str, student: str) -> tuple[float, float, dict[str, float]]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        submission = gb.find_submission(assignment, student)
        grades = {
            g.name: g.score for g in submission.notebooks[0].grades if g.auto_score is not None
        }
        return submission.score, submission.max_score, grades


def _outputs(course: Path, assignment: str, student: str, grade_id: str) -> list[dict[str, Any]]:
    notebook = NOTEBOOKS[assignment]
    graded_nb = _nb(course / "autograded" / student / assignment / f"{notebook}.ipynb")
    for cell in graded_nb["cells"]:
        if _nbgrader_meta(cell).get("grade_id") == grade_id:
            return cell["outputs"]
    raise AssertionError(f"no cell {grade_id}")


def test_release_replaces_solutions_with_the_c_stub(graded: Path) -> None:
    released = _nb(graded / "release" / "02-functions-loops" / "loops.ipynb")
    sources = {_nbgrader_meta(c).get("grade_id"): "".join(c["source"]) for c in released["cells"]}
    assert sources["sum_to"] == "int sum_to(int n)\n{\n    /* YOUR CODE HERE */\n}"
    assert "BEGIN SOLUTION" not in json.dumps(released)
    tests = sources["test_sum_to"]
    assert "sum_to(10) == 55" in tests and "500500" not in tests  # hidden tests removed


@pytest.mark.parametrize("assignment", sorted(NOTEBOOKS))
def test_correct_submissions_get_full_marks(graded: Path, assignment: str) -> None:
    score, max_score, grades = _scores(graded, assignment, "correct")
    expected = _points(_nb(LESSONS / assignment / f"{NOTEBOOKS[assignment]}.ipynb"))
    assert max_score == sum(expected.values()) > 0
    assert grades == expected
    assert score == max_score


@pytest.mark.parametrize("assignment", sorted(NOTEBOOKS))
def test_empty_submissions_get_zero(graded: Path, assignment: str) -> None:
    score, max_score, grades = _scores(graded, assignment, "empty")
    assert max_score > 0
    assert score == 0
    assert set(grades.values()) == {0.0}


def test_a_wrong_submission_gets_partial_marks(graded: Path) -> None:
    score, max_score, grades = _scores(graded, "02-functions-loops", "wrong")
    assert 0 < score < max_score
    assert grades["test_sum_to"] == 0 and grades["test_is_prime"] == 0
    assert grades["test_factorial"] == 1 and grades["test_count_digits"] == 1
    failure = _outputs(graded, "02-functions-loops", "wrong", "test_sum_to")
    assert [o["ename"] for o in failure if o["output_type"] == "error"] == ["AssertionError"]


def test_a_submission_that_does_not_compile_gets_zero_with_the_compiler_message(
    graded: Path,
) -> None:
    score, _, grades = _scores(graded, "02-functions-loops", "nocompile")
    assert score == 0
    outputs = _outputs(graded, "02-functions-loops", "nocompile", "sum_to")
    errors = [o for o in outputs if o["output_type"] == "error"]
    assert errors and errors[0]["ename"] == "CompileError"
    assert "retrun" in errors[0]["evalue"]
    assert re.search(r"line \d+", errors[0]["evalue"])


def test_the_compiler_message_reaches_the_feedback(graded: Path, jupyter_data: Path) -> None:
    _nbgrader(
        graded,
        jupyter_data,
        "generate_feedback",
        "02-functions-loops",
        "--student",
        "nocompile",
        "--force",
    )
    html = (graded / "feedback" / "nocompile" / "02-functions-loops" / "loops.html").read_text()
    assert "CompileError" in html
    assert "retrun" in html


def test_crashes_score_zero_for_their_tests_only(graded: Path) -> None:
    score, max_score, grades = _scores(graded, "02-functions-loops", "crashing")
    assert grades["test_factorial"] == 0 and grades["test_count_digits"] == 0
    # the runner restarts with the other functions, so the later tests still pass
    assert grades["test_is_prime"] == 2 and grades["test_sum_to"] == 1
    assert 0 < score < max_score
    names = {
        o["ename"]
        for gid in ("test_factorial", "test_count_digits")
        for o in _outputs(graded, "02-functions-loops", "crashing", gid)
        if o["output_type"] == "error"
    }
    assert names == {"ZeroDivisionError", "SegmentationFault"}


def test_an_endless_loop_is_stopped_by_the_time_limit(graded: Path) -> None:
    score, max_score, grades = _scores(graded, "02-functions-loops", "endless")
    assert grades["test_sum_to"] == 0
    assert score == max_score - 1
    errors = [
        o
        for o in _outputs(graded, "02-functions-loops", "endless", "test_sum_to")
        if o["output_type"] == "error"
    ]
    assert errors[0]["ename"] == "TimeoutError"
