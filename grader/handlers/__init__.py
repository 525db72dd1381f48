"""The grader's REST API under /services/grader/api/v1/, one module per resource, and the
manual grading pages under /services/grader/courses/<course>/grading."""

from __future__ import annotations

from typing import Any

from . import (
    assignments,
    exams,
    feedback,
    gradebook,
    grading,
    info,
    openapi,
    release,
    rubric,
    score_release,
    similarity,
    stats,
    submissions,
    written,
    written_pages,
)

default_handlers: list[Any] = [
    *info.default_handlers,
    *openapi.default_handlers,
    *assignments.default_handlers,
    *submissions.default_handlers,
    *exams.default_handlers,
    *gradebook.default_handlers,
    *feedback.default_handlers,
    *score_release.default_handlers,  # before grading's courses/<c>/grading/<assignment>
    *grading.default_handlers,
    *release.default_handlers,
    *similarity.default_handlers,
    *rubric.default_handlers,
    *stats.default_handlers,
    *written.default_handlers,
    *written_pages.default_handlers,
]
