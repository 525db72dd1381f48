"""`python -m nbcampus.singleuser`: the stock jupyterhub-singleuser without the grammar build
that jsonschema's optional `rfc3987_syntax` import costs on every server start (and the same
for the Hub's process, the services and the command line, nbcampus/imports.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

PROBE = """
import sys
from nbcampus.imports import skip_unneeded_imports
skip_unneeded_imports()
import jupyter_events.logger, jsonschema
from jupyterhub.singleuser import main  # the server itself still imports
# Jupyter's event schemas still validate, with the format checks that remain.
checker = jsonschema.Draft7Validator.FORMAT_CHECKER
print("rfc3987_syntax" in sys.modules and sys.modules["rfc3987_syntax"] is None)
print(checker.conforms("2026-11-23", "date"), checker.conforms("no date", "date"))
"""


def test_skipped_import_is_absent_and_events_still_validate() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True
    ).stdout.split()
    assert out == ["True", "True", "False"]


def test_the_module_is_jupyterhub_singleuser() -> None:
    """Same options as the stock command: it is the same server."""
    from pathlib import Path

    stock = Path(sys.executable).parent / "jupyterhub-singleuser"
    ours = [sys.executable, "-m", "nbcampus.singleuser"]
    outputs = [
        subprocess.run([*cmd, "--help-all"], capture_output=True, text=True, timeout=120)
        for cmd in ([str(stock)], ours)
    ]
    assert [o.returncode for o in outputs] == [0, 0], outputs[1].stderr
    assert "JupyterHubSingleUser" in outputs[1].stdout
    assert outputs[1].stdout == outputs[0].stdout


def test_campus_processes_start_without_the_grammar_build() -> None:
    """The Hub's process, the grader (nbgrader) and the command line import jsonschema; none
    of them may build the grammar."""
    probe = """
import sys
from nbcampus.imports import skip_unneeded_imports
skip_unneeded_imports()
import jupyterhub.app, nbgrader.apps, nbcampus.grader.app, nbcampus.cli
print(sys.modules.get("rfc3987_syntax", "imported"))
"""
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    ).stdout.split()
    assert out == ["None"]
    entries = ("nbcampus/hub_process.py", "nbcampus/cli.py", "grader/__main__.py")
    for entry in (*entries, "hub/campus/__main__.py", "hub/dashboards/__main__.py"):
        source = (REPO / entry).read_text()
        assert "skip_unneeded_imports()" in source, entry


def test_the_nbgrader_command_starts_without_the_grammar_build() -> None:
    """The `nbgrader` an instructor types is nbgrader's own script, no campus entry point:
    scripts/setup.sh leaves rfc3987_syntax out of the environment, so it skips the build too."""
    nbgrader = Path(sys.executable).parent / "nbgrader"
    out = subprocess.run(
        [sys.executable, "-X", "importtime", str(nbgrader), "--version"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "jsonschema._format" in out.stderr  # the import chain ran ...
    imported = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines()}
    assert "rfc3987_syntax.syntax_helpers" not in imported  # ... without the grammar
    assert "lark" not in imported  # (whose parsers it builds)
