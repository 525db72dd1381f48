"""The grader API's OpenAPI document, generated from its handlers by the builder the campus
uses (`nbcampus.openapi`): paths, summaries, query parameters and request-body schemas."""

from __future__ import annotations

from typing import Any

from nbcampus import openapi

# The names of the capture groups after each path segment, in order.
PARAM_NAMES: dict[str, tuple[str, ...]] = {
    "courses": ("course",),
    "assignments": ("assignment",),
    "submissions": ("submission",),
    "grades": ("student", "notebook", "cell"),
    "comments": ("student", "notebook", "cell"),
    "students": ("student",),
    "rubric": ("notebook", "cell"),
    "marks": ("student", "notebook", "cell"),
    "comment-bank": ("comment",),
    "line-comments": ("student", "comment"),
    "extensions": ("student",),
    "written": ("exercise",),
    "written-submissions": ("submission",),
}


def _param_name(parts: list[str], i: int) -> str:
    j = i
    while j > 0 and parts[j - 1].startswith("("):
        j -= 1
    names = PARAM_NAMES.get(parts[j - 1] if j else "", ())
    return names[i - j] if i - j < len(names) else f"arg{i}"


def build_openapi(handlers: list[Any], server_url: str) -> dict[str, Any]:
    return openapi.build_openapi(
        handlers,
        server_url,
        title="nbcampus grader API",
        description="nbgrader's exchange over HTTP (list, fetch, submit, feedback), the "
        "autograde queue's results and the gradebook. Authenticate with a Hub API token "
        "(Authorization: token ...). Every error is JSON {code, message}.",
        namer=_param_name,
    )
