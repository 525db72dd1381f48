"""What happens after a grade is recorded: result hooks (LTI passback) and the campus post.

A hook is any class with `async def on_result(result: GradedResult) -> None`, named in
`GraderService.result_hooks` as "module:Class". Hooks run after the grade is committed; a
failing hook is logged and never loses or changes the grade.

Delivery is at least once: the submission stays "hooks due" in the grader's database until
every hook returned without raising for its current grade, and the grader's retry loop runs
all hooks again until then (also after a restart). So a hook must be idempotent for a repeated
identical result (the LTI passback hook is: its outbox skips an identical score for the same
submission), and should raise only when it has not taken the result in its own durable store.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from importlib import import_module
from typing import Any, Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GradedResult:
    submission_id: str
    user: str
    course: str
    assignment: str  # the campus lesson
    score: float
    max_score: float
    graded_at: str  # ISO-8601
    notebooks: tuple[dict[str, Any], ...] = ()  # per exercise: name, score, max_score
    # `score` is the lesson's total (an LMS link to the whole lesson takes it); False for a
    # written assignment's grade in a lesson whose notebooks make that total.
    lesson_total: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ResultHook(Protocol):
    async def on_result(self, result: GradedResult) -> None: ...


def load_hooks(specs: list[str], **kwargs: Any) -> list[ResultHook]:
    hooks = []
    for spec in specs:
        module, _, name = spec.partition(":")
        cls = getattr(import_module(module), name)
        try:
            hooks.append(cls(**kwargs))
        except TypeError:
            hooks.append(cls())
    return hooks


async def run_hooks(hooks: list[ResultHook], result: GradedResult) -> bool:
    """Run every hook (one failing does not stop the others); True when none raised."""
    all_ok = True
    for hook in hooks:
        try:
            await hook.on_result(result)
        except Exception:
            all_ok = False
            log.exception("result hook %r failed for %s", hook, result.submission_id)
    return all_ok
