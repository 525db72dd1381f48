"""The similarity report's comparison on nbgrader's example course: the two reference
submissions are not a pair, a planted copy (renamed variables, other whitespace and comments)
is; template lines and empty answers never make students similar; C cells are compared too."""

from __future__ import annotations

import re

import nbformat
import pytest
from harness.reference import PS1
from nbgrader.preprocessors import ClearSolutions

from nbcampus.grader import similarity as sim


@pytest.fixture(scope="module")
def release() -> dict[str, nbformat.NotebookNode]:
    """The student version of ps1, made by nbgrader's own ClearSolutions."""
    out = {}
    for path in sorted((PS1 / "source" / "ps1").glob("*.ipynb")):
        nb, _ = ClearSolutions().preprocess(nbformat.read(path, as_version=4), {})
        out[path.stem] = nb
    return out


def submitted(student: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (PS1 / "submitted" / student / "ps1").iterdir()}


def disguised(files: dict[str, bytes]) -> dict[str, bytes]:
    """Someone else's answers with variables renamed, indentation and spacing changed and a
    comment added: what a copier does."""
    out = {}
    for name, data in files.items():
        if name.endswith(".ipynb"):
            nb = nbformat.reads(data.decode(), as_version=4)
            for cell in nb.cells:
                if cell.cell_type == "code":
                    src = re.sub(r"\bs\b", "result", cell.source)
                    src = re.sub(r"\btotal\b", "acc", re.sub(r"\bi\b", "k", src))
                    src = src.replace("    ", "  ").replace(" = ", "=")
                    cell.source = re.sub(r"\n( *)return ", r"\n\1# my own work\n\1return ", src)
            data = nbformat.writes(nb).encode()
        out[name] = data
    return out


def test_no_false_pair_and_the_planted_copy_is_found(release: dict) -> None:
    students = {s: sim.notebook_answers(submitted(s), release) for s in ("bitdiddle", "hacker")}
    # the two reference students are not similar at any usual threshold
    (only,) = sim.report(students, 0.0)
    assert {only.a, only.b} == {"bitdiddle", "hacker"} and only.score < 0.3
    assert sim.report(students, sim.DEFAULT_THRESHOLD) == []
    students["copycat"] = sim.notebook_answers(disguised(submitted("bitdiddle")), release)
    (pair,) = sim.report(students, sim.DEFAULT_THRESHOLD)
    assert (pair.a, pair.b) == ("bitdiddle", "copycat") and pair.score > 0.9
    squares = next(c for c in pair.cells if c.cell == "squares")
    assert squares.score == 1.0 and squares.lines_a and squares.lines_b
    as_json = pair.as_json()
    assert as_json["a"] == "bitdiddle" and {c["cell"] for c in as_json["cells"]} >= {"squares"}


def test_template_lines_are_left_out(release: dict) -> None:
    answers = sim.notebook_answers(submitted("bitdiddle"), release)
    squares = answers[("problem1", "squares")]
    # the signature and the docstring came with the release; the loop is the student's
    assert {0, 1, 2, 4} <= squares.template  # line 3 is blank
    assert not any(squares.lines[i].strip().startswith("for") for i in squares.template)
    # bitdiddle left this one as released: nothing of it is an answer
    assert answers[("problem1", "sum_of_squares_application")].tokens == []
    # two students who both kept only the template are not a pair
    blank = {"problem1.ipynb": nbformat.writes(release["problem1"]).encode()}
    students = {n: sim.notebook_answers(blank, release) for n in ("x", "y")}
    assert sim.report(students, 0.0) == []


def c_notebook(code: str) -> nbformat.NotebookNode:
    spec = {"name": "c", "language": "c", "display_name": "C"}
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": spec})
    meta = {"grade_id": "sum", "solution": True, "grade": False, "locked": False}
    nb.cells.append(nbformat.v4.new_code_cell(code, metadata={"nbgrader": meta}))
    return nb


def test_c_cells_with_renamed_variables() -> None:
    template = "int sum(int n) {\n    /* YOUR CODE HERE */\n}"
    a = (
        "int sum(int n) {\n    int total = 0;\n"
        "    for (int i = 1; i <= n; i++) total += i;\n    return total;\n}"
    )
    b = "int sum(int n) {\n  int acc=0; // mine\n  for (int j=1;j<=n;j++)\n    acc+=j;\n"
    b += "  return acc;\n}"
    c = 'int sum(int n) {\n    return n * (n + 1) / 2;\n}\n/* printf("%d", n); */'
    release = {"nb": c_notebook(template)}
    students = {
        name: sim.answers(c_notebook(code), release["nb"], "nb")
        for name, code in (("a", a), ("b", b), ("c", c))
    }
    # the signature "int sum(int n) {" is template: the answer starts at "int total ="
    tokens = students["a"][("nb", "sum")].tokens
    assert tokens[0] == "int" and tokens[2] == "=" and "(" not in tokens[:3]
    (pair,) = sim.report(students, 0.8)
    assert (pair.a, pair.b) == ("a", "b") and pair.score == 1.0
