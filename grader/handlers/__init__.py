"""The grader's REST API under /services/grader/api/v1/, one module per resource."""

from __future__ import annotations

from typing import Any

from . import assignments, gradebook, info, submissions

default_handlers: list[Any] = [
    *info.default_handlers,
    *assignments.default_handlers,
    *submissions.default_handlers,
    *gradebook.default_handlers,
]
