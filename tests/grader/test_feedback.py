"""Feedback from graded notebooks: nbgrader's HTML with the scores, never a hidden test."""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import pytest

from nbcampus.grader.autograde import Autograder, generate_assignment
from nbcampus.grader.feedback import (
    FeedbackMissing,
    graded_submission_id,
    render_feedback,
    store_graded,
)
from nbcampus.grader.sandbox.base import Limits

from .notebooks import source_notebook, student_version, write

SECRET = "HIDDEN-7Q2"
TESTS = [
    ("t_visible", "assert add(1, 2) == 3", 1.0),
    (
        "t_hidden",
        "assert add(2, 2) == 4\n### BEGIN HIDDEN TESTS\n"
        f"assert add(-1, 1) == 99, {SECRET!r}\n### END HIDDEN TESTS",
        2.0,
    ),
]
# Passes the visible test; the hidden one fails. Then the student's own cells try to quote
# the hidden test: IPython's input history, and a plain print that must stay.
ANSWER = "def add(a, b):\n    return a + b"
SPY_CELLS = ["print('my own output 42')", "print(In)", "print(repr(_ih[-3]))"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory, runner) -> tuple[Path, Autograder]:
    root = tmp_path_factory.mktemp("feedback") / "course"
    write(source_notebook(ANSWER, TESTS), root / "source" / "a1" / "add.ipynb")
    generate_assignment(root, "c1", "a1")
    nb = student_version(root / "release" / "a1" / "add.ipynb", ANSWER)
    nb.cells.extend(nbformat.v4.new_code_cell(src) for src in SPY_CELLS)
    sub = write(nb, tmp_path_factory.mktemp("sub") / "add.ipynb").parent
    grader = Autograder(root, "c1", runner)
    result = grader.grade("a1", "stu", sub, None, Limits())
    assert result.score == 1.0 and result.max_score == 3.0
    executed = json.dumps(result.notebooks[0].notebook)
    assert SECRET in executed  # the spy cells did print the hidden test while grading
    store_graded(root, "a1", "stu", "uid-1", result.notebooks)
    return root, grader


def test_feedback_has_scores_and_no_hidden_test(graded) -> None:
    root, _ = graded
    assert graded_submission_id(root, "stu", "a1") == "uid-1"
    html = render_feedback(root, "c1", "a1", "stu", "add")
    assert "add (Score: 1.0 / 3.0)" in html
    assert "Score: 0.0 / 2.0" in html  # the hidden test cell's score and outcome stay
    assert "a hidden test failed" in html
    assert SECRET not in html and "add(-1, 1)" not in html
    # The spy cells' outputs shown come from the run without hidden tests (hidden.py).
    assert "print(In)" in html and "assert add(2, 2) == 4" in html
    assert "my own output 42" in html  # innocent output is kept
    assert "<script" not in html.lower()


def test_feedback_follows_manual_grades(graded) -> None:
    root, grader = graded
    from nbgrader.api import Gradebook

    with Gradebook(grader.db_url, "c1") as gb:
        grade = gb.find_grade("t_hidden", "add", "a1", "stu")
        grade.manual_score = 2.0
        comment = gb.find_comment("answer", "add", "a1", "stu")
        comment.manual_comment = "Negative numbers **too**."
        gb.db.commit()
    html = render_feedback(root, "c1", "a1", "stu", "add")
    assert "add (Score: 3.0 / 3.0)" in html
    assert "Negative numbers <strong>too</strong>." in html  # comments are Markdown


def test_no_feedback_without_graded_notebooks(graded) -> None:
    root, _ = graded
    with pytest.raises(FeedbackMissing):
        render_feedback(root, "c1", "a1", "someone-else", "add")
    assert graded_submission_id(root, "someone-else", "a1") is None


def test_feedback_rendering_is_bounded_in_time(graded) -> None:
    """A notebook whose feedback takes long to render (here many long Markdown and code cells,
    within the cell and output bounds) gets a page with its score that says it was too large;
    the score stands."""
    root, grader = graded
    nb = student_version(root / "release" / "a1" / "add.ipynb", ANSWER)
    text = "\n".join(f"| {i} | *cell* | `x = {i}` | [link](#a{i}) |" for i in range(60))
    code = "\n".join(f"def f{i}(x):\n    return [x ** {i} for _ in range({i})]" for i in range(30))
    table = "| a | b | c | d |\n|---|---|---|---|\n" + text
    for _ in range(12):
        nb.cells += [nbformat.v4.new_markdown_cell(table), nbformat.v4.new_code_cell(code)]
    sub = write(nb, root.parent / "slow-sub" / "add.ipynb").parent
    result = grader.grade("a1", "slow", sub, None, Limits())
    store_graded(root, "a1", "slow", "uid-slow", result.notebooks)
    t0 = time.monotonic()
    full = render_feedback(root, "c1", "a1", "slow", "add")
    took = time.monotonic() - t0
    assert "too large to show" not in full and "f29" in full
    bound = took / 10

    def bounded_render() -> tuple[float, str]:
        t0 = time.monotonic()
        page = render_feedback(root, "c1", "a1", "slow", "add", seconds=bound)
        return time.monotonic() - t0, page

    # The best of three: one render on a busy machine may lose its core for longer than the
    # bound (a whole suite's CI run once saw one take longer than the unbounded render).
    tries = [bounded_render() for _ in range(3)]
    assert min(t for t, _ in tries) < took / 2, (took, [t for t, _ in tries])
    for _, page in tries:
        assert "too large to show" in page
        assert f"Score: {result.score:g} / {result.max_score:g}" in page
    # The thread's exporter is kept between pages: the next page has its own bound again.
    assert "f29" in render_feedback(root, "c1", "a1", "slow", "add")
