"""The campus API's OpenAPI document, generated from the handlers themselves.

Paths come from each resource module's `default_handlers`, summaries from the handler
methods' docstrings, request bodies from their `body_schema`, and who may call what from the
PERMISSIONS table (as `x-permission` and `x-actors`), so the document cannot drift from the
code. The builder is shared with the grader (`nbcampus.openapi`).
"""

from __future__ import annotations

from typing import Any

from nbcampus import openapi
from nbcampus.openapi import ERROR_SCHEMA, METHODS

from .permissions import PERMISSIONS

PARAM_NAMES = {
    "courses": "course",
    "classes": "class_id",
    "lessons": "lesson_id",
    "exercises": "exercise_id",
    "enrollments": "enrollment_id",
    "users": "user",
    "accounts": "account",
    "attendance": "meeting_number",
    "access": "course",
    "payments": "payment_id",
    "catalog": "course",
    "media": "token",  # a signed, expiring media URL
    "quizzes": "exercise_id",
    "attempts": "attempt",
    "accommodations": "user",
}
__all__ = ["ERROR_SCHEMA", "METHODS", "build_openapi"]


def _param_name(parts: list[str], i: int) -> str:
    """The name of the capture group `parts[i]` of a campus route."""
    prev = parts[i - 1] if i else ""
    if prev.startswith("("):
        return "lesson"  # access/{course}/{lesson}
    if prev == "enrollments" and parts[0] == "classes":
        return "student"
    return PARAM_NAMES.get(prev, "id")


def _annotate(method: str, fn: Any) -> dict[str, Any] | None:
    permission = getattr(fn, "__nbcampus_permission__", None)
    if permission is None:
        if getattr(fn, "__nbcampus_public__", False):  # the public catalog: no token
            return {"security": [], "x-actors": ["anyone"]}
        return None
    rule = PERMISSIONS[permission]
    out: dict[str, Any] = {
        "x-permission": permission,
        "x-actors": sorted(getattr(rule, "school", rule)),
    }
    if teaching := getattr(rule, "teaching", None):
        out["x-teaching-roles"] = sorted(teaching)  # on the classes one teaches
    return out


def build_openapi(handlers: list[Any], server_url: str) -> dict[str, Any]:
    return openapi.build_openapi(
        handlers,
        server_url,
        title="nbcampus campus API",
        description="Courses, classes, enrollment, credits, attendance, unlocks and "
        "progress. Authenticate with a Hub API token (Authorization: token ...); the Hub's login "
        "cookie is not accepted (docs/api.md). Every error is JSON {code, message}.",
        namer=_param_name,
        annotate=_annotate,
    )
