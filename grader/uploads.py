"""Checks on a submission's files before anything of it is stored.

A plain class apart from the handlers (as the LTI validator is): every refusal names the file
and the reason, with the status to answer (413 for a limit, 400 for a file that is not what it
claims to be). A refused submission is never stored, so the student's counted one stays.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import nbformat


class UploadRefused(ValueError):
    """A submitted file that may not be accepted: `status`, the file's name and why."""

    def __init__(self, status: int, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.status = status
        self.file = file
        self.reason = reason


@dataclass(frozen=True)
class UploadLimits:
    notebook_bytes: int = 16 * 1024 * 1024
    notebook_cells: int = 2000
    output_bytes: int = 8 * 1024 * 1024


def _output_size(nb: dict[str, Any]) -> int:
    total = 0
    for cell in nb.get("cells") or []:
        if isinstance(cell, dict):
            for out in cell.get("outputs") or []:
                total += len(json.dumps(out))
    return total


def check_notebook(name: str, content: bytes, limits: UploadLimits) -> None:
    """Refuse a notebook file that is too large, not JSON, not a valid notebook (nbformat's
    schema), of too many cells or with too much output."""
    if len(content) > limits.notebook_bytes:
        raise UploadRefused(
            413, name, f"the notebook is larger than {limits.notebook_bytes} bytes ({len(content)})"
        )
    try:
        data = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise UploadRefused(
            400, name, f"not a notebook: the file is not valid JSON ({err})"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise UploadRefused(400, name, "not a notebook: no list of cells")
    cells = len(data["cells"])
    if cells > limits.notebook_cells:
        raise UploadRefused(
            413, name, f"the notebook has {cells} cells, more than {limits.notebook_cells}"
        )
    size = _output_size(data)
    if size > limits.output_bytes:
        raise UploadRefused(
            413, name, f"the notebook's outputs are {size} bytes, more than {limits.output_bytes}"
        )
    try:
        nb = nbformat.reads(content.decode(), as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # nbformat raises several kinds; every one means "not valid"
        reason = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
        raise UploadRefused(400, name, f"not a valid notebook: {reason}") from None


def check_submission(files: dict[str, bytes], notebooks: list[str], limits: UploadLimits) -> None:
    """Every file of a submission: the assignment's notebooks (`notebooks`, names without
    .ipynb) must come as .ipynb files, every .ipynb file must be a valid notebook, and at least
    one of the assignment's notebooks must be there (a submission of other files only would be
    graded as missing and replace the counted one)."""
    expected = set(notebooks)
    for name, content in files.items():
        path = PurePosixPath(name)
        if path.suffix == ".ipynb":
            check_notebook(name, content, limits)
            continue
        stem = path.name.split(".", 1)[0]
        if stem in expected or path.name in expected:
            raise UploadRefused(
                400,
                name,
                f"notebook {stem!r} of this assignment must be submitted as {stem}.ipynb",
            )
    names = {PurePosixPath(n).name for n in files}
    if expected and not any(f"{nb}.ipynb" in names for nb in expected):
        wanted = ", ".join(f"{nb}.ipynb" for nb in sorted(expected))
        first = sorted(files)[0] if files else ""
        raise UploadRefused(400, first, f"none of this assignment's notebooks ({wanted}) is here")
