"""`python -m nbcampus.singleuser`: the stock jupyterhub-singleuser without the grammar build
that jsonschema's optional `rfc3987_syntax` import costs on every server start."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from nbcampus import singleuser
for name in singleuser.SKIPPED_IMPORTS:
    sys.modules.setdefault(name, None)
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
