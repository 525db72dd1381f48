"""The demo course's notebooks, with their solutions, run top to bottom by nbclient."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from .conftest import KERNEL_ENV

LESSONS = Path(__file__).resolve().parents[2] / "courses" / "c-fundamentals" / "lessons"
EXPECTED = {
    "01-variables-printf/temperatures.ipynb": [
        "24 students, average 17.5, grade B\n",
        "70.7\n",
        "Lisbon: 21.5 C (70.7 F)\n",
    ],
    "02-functions-loops/loops.ipynb": ["2 3 5 7 11 13 17 19 23 29 \n"],
    "03-pointers-arrays/arrays.ipynb": ["5 4 3 2 1 \n"],
}


@pytest.mark.parametrize("notebook", sorted(EXPECTED))
def test_source_notebook_runs_clean(
    notebook: str, jupyter_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_data))
    for name, value in KERNEL_ENV.items():
        monkeypatch.setenv(name, value)
    nb = nbformat.read(LESSONS / notebook, as_version=4)
    assert nb.metadata.kernelspec.name == "c"
    NotebookClient(nb, timeout=60, resources={"metadata": {"path": str(LESSONS)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert [o for o in outputs if o.output_type == "error"] == []
    assert [o for o in outputs if o.get("name") == "stderr"] == []  # no warnings either
    assert [o.text for o in outputs if o.get("name") == "stdout"] == EXPECTED[notebook]
