"""A quiz as a file: read and check the YAML file a `quiz` exercise names in course.yaml.

```yaml
# lessons/01-values/values-quiz.yaml, named by {slug: values-quiz, type: quiz}
attempts: 2              # how many attempts a student may make (0: no limit; an exam: 1)
shuffle: true            # options in a per-student order (stable across reloads)
feedback: after_attempt  # after_attempt | after_due (per-question feedback only once due)
due: 2026-12-20T18:00Z   # optional; after_due needs it
scores: visible          # visible | hidden: the score visibility default (instructors toggle it)
exam:                    # optional: a timed exam (one attempt, scores hidden until released)
  opens: 2026-12-20T09:00Z
  closes: 2026-12-20T12:00Z
  time_limit: 45         # minutes per student, before their accommodation multiplier
questions:
  - {id: q1, type: single, prompt: "2 + 2?", options: [{text: "4", correct: true}, {text: "5"}]}
  - {id: q2, type: multiple, prompt: "Sequences?", options: [...], points: 2}
  - {id: q3, type: numeric, prompt: "pi to 2 places", answer: 3.14, tolerance: 0.005}
  - {id: q4, type: text, prompt: "A mutable sequence", accepted: [list, a list]}
```

Parsing only (no database), like manifest.py. The parsed quiz is a plain JSON-ready dict
that the campus stores at import; `public_questions` is the only view of it a student gets
before an attempt is submitted.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from .exam import ExamSpecError, parse_exam

QUESTION_TYPES = ("single", "multiple", "numeric", "text")
FEEDBACK = ("after_attempt", "after_due")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
MAX_QUESTIONS = 200
MAX_OPTIONS = 20
MAX_TEXT = 4000
QUIZ_SUFFIX = ".quiz.yaml"


class QuizError(ValueError):
    """The quiz file is not a valid quiz."""


def _when(value: Any, where: str) -> str | None:
    """An ISO time (YAML may hand over a datetime already), as an aware ISO string."""
    if value is None:
        return None
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise QuizError(f"{where}: not an ISO-8601 time: {value!r}") from None
    else:
        raise QuizError(f"{where}: must be an ISO-8601 time")
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).isoformat()


def _text(data: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or (default is None and not value.strip()):
        raise QuizError(f"{where}: '{key}' must be a non-empty string")
    if len(value) > MAX_TEXT:
        raise QuizError(f"{where}: '{key}' is longer than {MAX_TEXT} characters")
    return value


def _number(value: Any, where: str, *, low: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise QuizError(f"{where}: must be a number")
    if value < low:
        raise QuizError(f"{where}: must be at least {low}")
    return float(value)


def _question(data: Any, index: int, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise QuizError(f"{where}: question {index} must be a mapping")
    qid = str(data.get("id", f"q{index}"))
    if not ID_RE.fullmatch(qid):
        raise QuizError(f"{where}: question id {qid!r} must match {ID_RE.pattern}")
    where = f"{where} question {qid}"
    kind = data.get("type")
    if kind not in QUESTION_TYPES:
        raise QuizError(f"{where}: type must be one of {', '.join(QUESTION_TYPES)}")
    out: dict[str, Any] = {
        "id": qid,
        "type": kind,
        "prompt": _text(data, "prompt", where),
        "points": _number(data.get("points", 1), f"{where} points"),
        "explanation": _text(data, "explanation", where, default=""),
    }
    if kind in ("single", "multiple"):
        options = data.get("options")
        if not isinstance(options, list) or not 2 <= len(options) <= MAX_OPTIONS:
            raise QuizError(f"{where}: options must be a list of 2 to {MAX_OPTIONS} choices")
        texts, correct = [], []
        for i, opt in enumerate(options):
            opt = {"text": opt} if isinstance(opt, str) else opt
            if not isinstance(opt, dict):
                raise QuizError(f"{where}: option {i} must be a string or {{text, correct}}")
            texts.append(_text(opt, "text", f"{where} option {i}"))
            if opt.get("correct", False) is True:
                correct.append(i)
        if kind == "single" and len(correct) != 1:
            raise QuizError(f"{where}: a single-choice question needs exactly one correct option")
        if kind == "multiple" and not correct:
            raise QuizError(f"{where}: a multiple-choice question needs a correct option")
        out["options"], out["correct"] = texts, correct
    elif kind == "numeric":
        out["answer"] = _number(data.get("answer"), f"{where} answer", low=-math.inf)
        out["tolerance"] = _number(data.get("tolerance", 0), f"{where} tolerance")
    else:
        accepted = data.get("accepted")
        if isinstance(accepted, str):
            accepted = [accepted]
        if not isinstance(accepted, list) or not accepted:
            raise QuizError(f"{where}: accepted must be a list of answers")
        out["accepted"] = [_text({"a": str(a)}, "a", f"{where} accepted") for a in accepted]
        out["case_sensitive"] = data.get("case_sensitive", False) is True
    return out


def parse_quiz(data: Any, where: str) -> dict[str, Any]:
    """The checked quiz (a JSON-ready dict) from the YAML's data; QuizError with the reason."""
    if not isinstance(data, dict):
        raise QuizError(f"{where}: must be a mapping")
    questions = data.get("questions")
    if not isinstance(questions, list) or not 1 <= len(questions) <= MAX_QUESTIONS:
        raise QuizError(f"{where}: questions must be a list of 1 to {MAX_QUESTIONS} questions")
    parsed = [_question(q, i, where) for i, q in enumerate(questions, start=1)]
    if len({q["id"] for q in parsed}) != len(parsed):
        raise QuizError(f"{where}: question ids must be unique")
    attempts = data.get("attempts", 0)
    if not isinstance(attempts, int) or isinstance(attempts, bool) or not 0 <= attempts <= 100:
        raise QuizError(f"{where}: attempts must be a whole number 0-100 (0: no limit)")
    feedback = data.get("feedback", "after_attempt")
    if feedback not in FEEDBACK:
        raise QuizError(f"{where}: feedback must be one of {', '.join(FEEDBACK)}")
    scores = data.get("scores", "visible")
    if scores not in ("visible", "hidden"):
        raise QuizError(f"{where}: scores must be visible or hidden")
    due = _when(data.get("due"), f"{where} due")
    if feedback == "after_due" and due is None:
        raise QuizError(f"{where}: feedback after_due needs a due time")
    exam = data.get("exam")
    out_exam = None
    if exam is not None:
        try:
            out_exam = parse_exam(exam, where)
        except ExamSpecError as err:
            raise QuizError(str(err)) from None
        attempts = 1  # an exam is taken once
        scores = "hidden"  # until the instructor releases them
    return {
        "questions": parsed,
        "attempts": attempts,
        "shuffle": data.get("shuffle", False) is True,
        "feedback": feedback,
        "due": due,
        "scores_visible": scores == "visible",
        "exam": out_exam,
    }


def load_quiz(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise QuizError(f"{path}: cannot read ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise QuizError(f"{path}: not valid YAML ({err})") from None
    return parse_quiz(data, str(path))


def max_points(quiz: dict[str, Any]) -> float:
    return sum(q["points"] for q in quiz["questions"])


# --- what a student sees, and scoring ---------------------------------------------------------
def option_order(question: dict[str, Any], seed: str, shuffle: bool) -> list[int]:
    """The order a student sees a question's options in: stable for one student (seeded by
    their name and the question), different between students when the quiz shuffles."""
    order = list(range(len(question.get("options", []))))
    if shuffle:
        digest = hashlib.sha256(f"{seed}:{question['id']}".encode()).digest()
        random.Random(digest).shuffle(order)
    return order


def public_questions(quiz: dict[str, Any], seed: str) -> list[dict[str, Any]]:
    """The questions without any answer key: prompts, points and (reordered) option texts.
    Options are named by their original index, so an answer is independent of the order."""
    out = []
    for q in quiz["questions"]:
        item: dict[str, Any] = {"id": q["id"], "type": q["type"], "prompt": q["prompt"]}
        item["points"] = q["points"]
        if "options" in q:
            order = option_order(q, seed, quiz["shuffle"])
            item["options"] = [{"key": i, "text": q["options"][i]} for i in order]
        out.append(item)
    return out


def check_answer(question: dict[str, Any], answer: Any) -> str | None:
    """Why `answer` is not a well-formed answer to `question` (None when it is)."""
    kind = question["type"]
    if answer is None:
        return None  # left blank
    n = len(question.get("options", []))
    if kind == "single":
        ok = isinstance(answer, int) and not isinstance(answer, bool) and 0 <= answer < n
        return None if ok else f"must be an option key 0-{n - 1}"
    if kind == "multiple":
        ok = isinstance(answer, list) and all(
            isinstance(a, int) and not isinstance(a, bool) and 0 <= a < n for a in answer
        )
        return None if ok and len(set(answer)) == len(answer) else "must be a list of option keys"
    if kind == "numeric":
        ok = isinstance(answer, int | float) and not isinstance(answer, bool)
        return None if ok and math.isfinite(answer) else "must be a number"
    return None if isinstance(answer, str) and len(answer) <= 500 else "must be text (≤ 500)"


def _norm(text: str, case_sensitive: bool) -> str:
    text = " ".join(text.split())
    return text if case_sensitive else text.casefold()


def score_question(question: dict[str, Any], answer: Any) -> float:
    """Points earned: all or nothing per question (partial credit invites guessing)."""
    if answer is None:
        return 0.0
    kind = question["type"]
    if kind == "single":
        right = [answer] == question["correct"]
    elif kind == "multiple":
        right = sorted(answer) == sorted(question["correct"])
    elif kind == "numeric":
        right = abs(float(answer) - question["answer"]) <= question["tolerance"] + 1e-12
    else:
        cs = question["case_sensitive"]
        right = _norm(answer, cs) in {_norm(a, cs) for a in question["accepted"]}
    return question["points"] if right else 0.0


def solution(question: dict[str, Any]) -> Any:
    """The right answer, for feedback once it may be shown."""
    if "correct" in question:
        return question["correct"] if question["type"] == "multiple" else question["correct"][0]
    if question["type"] == "numeric":
        return {"answer": question["answer"], "tolerance": question["tolerance"]}
    return question["accepted"]
