"""Quizzes and timed exams on the server: attempts, scoring, deadlines, visibility.

A student starts an attempt, saves answers as they go, and submits; the server scores it
(quizspec.score_question) and the exercise is complete, with its XP, as any other. Nothing a
student receives before an attempt is submitted holds an answer key (quizspec.public_questions).

A timed exam has a window (opens, closes) and a time limit; a student's deadline is
min(closes, started + limit x their accommodation multiplier), taken from the server's
clock only. An open attempt past its deadline is submitted with what was saved by then, the
first time anyone (the student, a teacher, the sweep) looks at it; anything sent later is
refused. An exam is taken once and its scores stay hidden until an instructor shows them.

Double submission counts once: an attempt moves open -> submitted with one conditional
UPDATE, so a repeated (or concurrent) submit finds it submitted and answers with the same
receipt.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nbcampus.web import APIError

from . import exam as ex
from . import progress as p
from . import quizspec as qs
from .courses import exercise_by_id
from .manifest import CourseManifest
from .orm import (
    CampusClass,
    Course,
    Enrollment,
    ExamAccommodation,
    Exercise,
    Lesson,
    Quiz,
    QuizAttempt,
    utcnow,
)

# The window, deadline, multiplier and receipt rules are every exam's (exam.py).
MAX_MULTIPLIER = ex.MAX_MULTIPLIER
_aware, _iso, _time = ex.aware, ex.iso, ex.parse_time
multiplier = ex.multiplier


# --- import ---------------------------------------------------------------------------------
def sync_quizzes(session: Session, course_id: int, manifest: CourseManifest) -> None:
    """Store each quiz exercise's checked questions (the instructors' API settings stay)."""
    rows = session.execute(
        sa.select(Lesson.slug, Exercise)
        .join(Exercise, Exercise.lesson_id == Lesson.id)
        .where(Lesson.course_id == course_id)
    )
    exercises = {(slug, e.slug): e for slug, e in rows}
    for lesson in manifest.lessons:
        for spec in lesson.exercises:
            exercise = exercises.get((lesson.slug, spec.slug))
            if spec.quiz is None or exercise is None:
                continue
            row = session.get(Quiz, exercise.id)
            if row is None:
                row = Quiz(exercise_id=exercise.id)
                session.add(row)
            row.spec = json.dumps(spec.quiz, sort_keys=True)
            row.updated_at = utcnow()
    session.flush()


# --- settings -------------------------------------------------------------------------------
class Loaded:
    """A quiz with its exercise, lesson, course and effective settings (manifest + API)."""

    def __init__(self, session: Session, exercise_id: int) -> None:
        self.exercise, self.lesson, self.course = exercise_by_id(session, exercise_id)
        row = session.get(Quiz, exercise_id) if self.exercise.type == "quiz" else None
        if row is None:
            raise APIError(404, f"exercise {exercise_id} is not a quiz with questions")
        self.row = row
        self.spec: dict[str, Any] = json.loads(row.spec)
        exam = self.spec.get("exam") or {}
        self.opens = _aware(row.opens_at) or _time(exam.get("opens"))
        self.closes = _aware(row.closes_at) or _time(exam.get("closes"))
        self.time_limit: int | None = row.time_limit_seconds or exam.get("time_limit_seconds")
        self.timed = self.time_limit is not None
        self.attempts: int = 1 if self.timed else self.spec["attempts"]
        self.due = _time(self.spec.get("due"))
        visible = row.scores_visible
        self.scores_visible: bool = (
            visible if visible is not None else (self.spec["scores_visible"] and not self.timed)
        )

    @property
    def max_score(self) -> float:
        return qs.max_points(self.spec)

    def feedback_open(self, now: datetime) -> bool:
        """Per-question feedback: after the attempt, or only once due (the manifest's choice);
        never while scores are hidden (the feedback would tell them)."""
        if not self.scores_visible:
            return False
        if self.spec["feedback"] == "after_due":
            return self.due is not None and now >= self.due
        return True

    def settings_dict(self) -> dict[str, Any]:
        return {
            "attempts": self.attempts,
            "shuffle": self.spec["shuffle"],
            "feedback": self.spec["feedback"],
            "due": _iso(self.due),
            "timed": self.timed,
            "opens_at": _iso(self.opens),
            "closes_at": _iso(self.closes),
            "time_limit_seconds": self.time_limit,
            "scores_visible": self.scores_visible,
            "released_at": _iso(self.row.released_at),
            "questions": len(self.spec["questions"]),
            "max_score": self.max_score,
        }


def deadline_for(quiz: Loaded, started: datetime, factor: float) -> datetime | None:
    """The student's deadline: their time limit (x their multiplier) within the window."""
    return ex.deadline_for(quiz.closes, quiz.time_limit, started, factor)


# --- attempts -------------------------------------------------------------------------------
def _attempts(session: Session, exercise_id: int, user: str) -> list[QuizAttempt]:
    return list(
        session.scalars(
            sa.select(QuizAttempt)
            .filter_by(exercise_id=exercise_id, user=user)
            .order_by(QuizAttempt.number)
        )
    )


def receipt(attempt: QuizAttempt, course: str, exercise: str) -> str:
    """A hash of what was submitted: the student keeps it, the server can show it matches."""
    return ex.receipt(
        {
            "course": course,
            "exercise": exercise,
            "user": attempt.user,
            "attempt": attempt.number,
            "answers": json.loads(attempt.answers),
            "submitted_at": _iso(attempt.submitted_at),
        }
    )


def _finish(
    session: Session, quiz: Loaded, attempt: QuizAttempt, at: datetime, *, auto: bool
) -> bool:
    """Move the attempt open -> submitted once (False: someone else already did), score it,
    and record the exercise done with its score."""
    done = session.execute(
        sa.update(QuizAttempt)
        .where(QuizAttempt.id == attempt.id, QuizAttempt.status == "open")
        .values(status="submitted", submitted_at=at, auto_submitted=auto)
        .execution_options(synchronize_session=False)
    )
    session.refresh(attempt)
    if done.rowcount != 1:
        return False
    answers = json.loads(attempt.answers)
    results = {q["id"]: qs.score_question(q, answers.get(q["id"])) for q in quiz.spec["questions"]}
    attempt.results = json.dumps(results)
    attempt.score, attempt.max_score = sum(results.values()), quiz.max_score
    attempt.receipt = receipt(attempt, quiz.course.slug, quiz.exercise.slug)
    session.flush()
    # The best attempt's score counts; a submitted quiz completes the exercise, right or not.
    note = f"quiz-attempt:{attempt.id}"
    p.complete_exercise(
        session, attempt.user, quiz.exercise, score=attempt.score,
        max_score=attempt.max_score, at=at, note=note,
    )  # fmt: skip
    p.complete_exercise(session, attempt.user, quiz.exercise, at=at, note=note)
    return True


def close_if_due(session: Session, quiz: Loaded, attempt: QuizAttempt, now: datetime) -> None:
    """An open attempt past its deadline: submitted as saved, at its deadline."""
    deadline = _aware(attempt.deadline_at)
    if attempt.status == "open" and deadline is not None and now >= deadline:
        _finish(session, quiz, attempt, deadline, auto=True)


def close_expired(session: Session, now: datetime | None = None) -> int:
    """Submit every open attempt whose deadline has passed (the periodic sweep)."""
    now = now or utcnow()
    due = list(
        session.scalars(
            sa.select(QuizAttempt).where(
                QuizAttempt.status == "open", QuizAttempt.deadline_at <= now
            )
        )
    )
    closed = 0
    for attempt in due:
        try:
            quiz = Loaded(session, attempt.exercise_id)
        except APIError:  # its exercise was retired: nothing to record it against
            continue
        close_if_due(session, quiz, attempt, now)
        closed += 1
    return closed


def _window_check(quiz: Loaded, now: datetime) -> None:
    if quiz.opens is not None and now < quiz.opens:
        raise APIError(409, f"the quiz opens at {_iso(quiz.opens)}", code="QUIZ_NOT_OPEN")
    if quiz.closes is not None and now >= quiz.closes:
        raise APIError(409, "the quiz is closed", code="QUIZ_CLOSED")


def start(session: Session, quiz: Loaded, user: str, now: datetime) -> tuple[QuizAttempt, bool]:
    """The student's open attempt, or a new one (True) when the rules allow it."""
    p.require_unlocked(session, user, quiz.lesson, quiz.course)
    attempts = _attempts(session, quiz.exercise.id, user)
    for attempt in attempts:
        close_if_due(session, quiz, attempt, now)
    current = next((a for a in attempts if a.status == "open"), None)
    if current is not None:
        return current, False
    _window_check(quiz, now)
    if quiz.attempts and len(attempts) >= quiz.attempts:
        raise APIError(409, f"no attempts left (all {quiz.attempts} used)", code="NO_ATTEMPTS_LEFT")
    factor = multiplier(session, quiz.course.id, user) if quiz.timed else 1.0
    attempt = QuizAttempt(
        exercise_id=quiz.exercise.id, user=user, number=len(attempts) + 1, status="open",
        started_at=now, deadline_at=deadline_for(quiz, now, factor), answers="{}",
        auto_submitted=False, results="{}",
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(attempt)
    except IntegrityError:  # the same start twice at once: the other one made it
        attempts = _attempts(session, quiz.exercise.id, user)
        current = next((a for a in attempts if a.status == "open"), None)
        if current is None:
            raise APIError(409, "the attempt was started twice", code="CONFLICT") from None
        return current, False
    return attempt, True


def own_attempt(session: Session, quiz: Loaded, user: str, number: int) -> QuizAttempt:
    attempt = session.scalar(
        sa.select(QuizAttempt).filter_by(exercise_id=quiz.exercise.id, user=user, number=number)
    )
    if attempt is None:
        raise APIError(404, f"no attempt {number} of yours at this quiz")
    return attempt


def clean_answers(quiz: Loaded, raw: dict[str, Any]) -> dict[str, Any]:
    """Answers keyed by question id, each well formed (a 400 naming the question if not)."""
    questions = {q["id"]: q for q in quiz.spec["questions"]}
    out = {}
    for qid, answer in raw.items():
        question = questions.get(qid)
        if question is None:
            raise APIError(400, f"no question {qid!r} in this quiz", field=f"answers.{qid}")
        problem = qs.check_answer(question, answer)
        if problem:
            raise APIError(400, f"answer to {qid}: {problem}", field=f"answers.{qid}")
        out[qid] = answer
    return out


def _writable(session: Session, quiz: Loaded, attempt: QuizAttempt, now: datetime) -> None:
    p.require_unlocked(session, attempt.user, quiz.lesson, quiz.course)
    close_if_due(session, quiz, attempt, now)
    if attempt.status != "open":
        if attempt.auto_submitted:
            raise APIError(
                409, "time is up: the attempt was submitted with the answers saved by its "
                "deadline", code="TIME_UP",
            )  # fmt: skip
        raise APIError(409, "this attempt is already submitted", code="ATTEMPT_FINISHED")
    if quiz.closes is not None and now >= quiz.closes:
        raise APIError(409, "the quiz is closed", code="QUIZ_CLOSED")


def save(
    session: Session, quiz: Loaded, attempt: QuizAttempt, answers: dict[str, Any], now: datetime
) -> None:
    _writable(session, quiz, attempt, now)
    merged = {**json.loads(attempt.answers), **clean_answers(quiz, answers)}
    attempt.answers = json.dumps(merged, sort_keys=True)
    attempt.saved_at = now


def submit(
    session: Session,
    quiz: Loaded,
    attempt: QuizAttempt,
    answers: dict[str, Any] | None,
    now: datetime,
) -> bool:
    """Submit (True), or find it already submitted with the same answers (False: counted
    once); other answers to a submitted attempt are refused, and so is anything after an
    attempt's deadline closed it (the student's own submit came too late)."""
    if attempt.status == "submitted" and not attempt.auto_submitted:
        same = answers is None or {
            **json.loads(attempt.answers),
            **clean_answers(quiz, answers),
        } == json.loads(attempt.answers)
        if same:
            return False
    if answers:
        save(session, quiz, attempt, answers, now)
    else:
        _writable(session, quiz, attempt, now)
    return _finish(session, quiz, attempt, now, auto=False)


# --- what a student sees --------------------------------------------------------------------
def attempt_dict(quiz: Loaded, attempt: QuizAttempt, now: datetime) -> dict[str, Any]:
    """An attempt as its student sees it: their answers always; score only when scores are
    visible; per-question feedback only when it is open (Loaded.feedback_open)."""
    deadline = _aware(attempt.deadline_at)
    out: dict[str, Any] = {
        "number": attempt.number,
        "status": attempt.status,
        "started_at": _iso(attempt.started_at),
        "deadline": _iso(deadline),
        # What the countdown runs from: the server's clock, not the browser's.
        "remaining_seconds": (
            max(0.0, (deadline - now).total_seconds())
            if deadline is not None and attempt.status == "open"
            else None
        ),
        "answers": json.loads(attempt.answers),
        "saved_at": _iso(attempt.saved_at),
        "submitted_at": _iso(attempt.submitted_at),
        "auto_submitted": attempt.auto_submitted,
        "receipt": attempt.receipt,
    }
    if attempt.status == "submitted" and quiz.scores_visible:
        out["score"], out["max_score"] = attempt.score, attempt.max_score
    if attempt.status == "submitted" and quiz.feedback_open(now):
        results = json.loads(attempt.results)
        answers = json.loads(attempt.answers)
        attempts_left = not quiz.attempts or attempt.number < quiz.attempts
        due_passed = quiz.due is not None and now >= quiz.due
        show_solution = not attempts_left or due_passed
        feedback = []
        for q in quiz.spec["questions"]:
            item: dict[str, Any] = {
                "id": q["id"],
                "points": results.get(q["id"], 0.0),
                "max_points": q["points"],
                "correct": results.get(q["id"], 0.0) >= q["points"],
                "answer": answers.get(q["id"]),
            }
            if show_solution:  # with attempts left, the answer key would give the next away
                item["solution"], item["explanation"] = qs.solution(q), q["explanation"]
            feedback.append(item)
        out["feedback"] = feedback
    return out


def student_view(session: Session, quiz: Loaded, user: str, now: datetime) -> dict[str, Any]:
    """The quiz for its student: settings, their attempts and, while an attempt is open (or
    for an untimed quiz), the questions without answers."""
    attempts = _attempts(session, quiz.exercise.id, user)
    for attempt in attempts:
        close_if_due(session, quiz, attempt, now)
    current = next((a for a in attempts if a.status == "open"), None)
    used = len(attempts)
    state = "open"
    if quiz.opens is not None and now < quiz.opens:
        state = "not_open"
    elif quiz.closes is not None and now >= quiz.closes:
        state = "closed"
    elif current is None and quiz.attempts and used >= quiz.attempts:
        state = "finished"
    out: dict[str, Any] = {
        "exercise_id": quiz.exercise.id,
        "course": quiz.course.slug,
        "lesson": quiz.lesson.slug,
        "slug": quiz.exercise.slug,
        "title": quiz.exercise.title,
        "xp": quiz.exercise.xp,
        "settings": quiz.settings_dict(),
        "state": state,
        "attempts_used": used,
        "server_time": _iso(now),
        "attempts": [attempt_dict(quiz, a, now) for a in attempts],
        "current": current.number if current is not None else None,
    }
    if quiz.timed:
        out["multiplier"] = multiplier(session, quiz.course.id, user)
    # A timed exam's questions only inside its attempt (its clock starts when they are shown)
    # and after it, beside the feedback; they never carry the answer key.
    submitted = any(a.status == "submitted" for a in attempts)
    if current is not None or submitted or (not quiz.timed and state == "open"):
        out["questions"] = qs.public_questions(quiz.spec, user)
    return out


def my_quizzes(session: Session, user: str) -> list[dict[str, Any]]:
    """The quizzes of the student's courses (for the Campus panel's quiz buttons)."""
    rows = session.execute(
        sa.select(Exercise, Lesson, Course)
        .join(Quiz, Quiz.exercise_id == Exercise.id)
        .join(Lesson, Lesson.id == Exercise.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .join(CampusClass, CampusClass.course_id == Course.id)
        .join(Enrollment, Enrollment.class_id == CampusClass.id)
        .where(
            Enrollment.student == user,
            Enrollment.status != "withdrawn",
            Course.status == "published",
            Exercise.retired.is_(False),
            Lesson.retired.is_(False),
        )
        .distinct()
        .order_by(Course.slug, Lesson.order_index, Exercise.order_index)
    )
    out = []
    for exercise, lesson, course in rows:
        quiz = Loaded(session, exercise.id)
        out.append(
            {
                "exercise_id": exercise.id,
                "course": course.slug,
                "lesson": lesson.slug,
                "slug": exercise.slug,
                "title": exercise.title,
                "timed": quiz.timed,
            }
        )
    return out


# --- teachers -------------------------------------------------------------------------------
def course_quizzes(session: Session, course_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        sa.select(Exercise, Lesson)
        .join(Quiz, Quiz.exercise_id == Exercise.id)
        .join(Lesson, Lesson.id == Exercise.lesson_id)
        .where(Lesson.course_id == course_id, Exercise.retired.is_(False))
        .order_by(Lesson.order_index, Exercise.order_index)
    )
    return [
        {
            "exercise_id": e.id,
            "lesson": lesson.slug,
            "slug": e.slug,
            "title": e.title,
            "settings": Loaded(session, e.id).settings_dict(),
        }
        for e, lesson in rows
    ]


def results(session: Session, quiz: Loaded, users: list[str] | None, now: datetime) -> list[dict]:
    """Every attempt (closing those past their deadline first), for the course's teachers."""
    query = sa.select(QuizAttempt).filter_by(exercise_id=quiz.exercise.id)
    if users is not None:
        query = query.where(QuizAttempt.user.in_(users))
    out = []
    for attempt in session.scalars(query.order_by(QuizAttempt.user, QuizAttempt.number)):
        close_if_due(session, quiz, attempt, now)
        out.append(
            {
                "user": attempt.user,
                "number": attempt.number,
                "status": attempt.status,
                "started_at": _iso(attempt.started_at),
                "deadline": _iso(attempt.deadline_at),
                "submitted_at": _iso(attempt.submitted_at),
                "auto_submitted": attempt.auto_submitted,
                "score": attempt.score,
                "max_score": attempt.max_score,
                "receipt": attempt.receipt,
                "answers": json.loads(attempt.answers),
            }
        )
    return out


def update_settings(
    session: Session, quiz: Loaded, body: dict[str, Any], by: str, now: datetime
) -> None:
    """An instructor's changes: exam window and time limit, score visibility (showing an
    exam's scores is its release)."""
    row = quiz.row
    for key in ("opens_at", "closes_at", "time_limit_seconds"):
        if key in body:
            setattr(row, key, body[key])
    if "scores_visible" in body:
        row.scores_visible = body["scores_visible"]
        if body["scores_visible"] and row.released_at is None:
            row.released_at = now
    row.updated_by, row.updated_at = by, now
    session.flush()


def set_multiplier(session: Session, course_id: int, user: str, factor: float, by: str) -> None:
    row = session.get(ExamAccommodation, (course_id, user))
    if row is None:
        row = ExamAccommodation(course_id=course_id, user=user)
        session.add(row)
    row.multiplier, row.set_by, row.set_at = factor, by, utcnow()
    session.flush()


def accommodations(session: Session, course_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        sa.select(ExamAccommodation).filter_by(course_id=course_id).order_by(ExamAccommodation.user)
    )
    return [
        {"user": r.user, "multiplier": r.multiplier, "set_by": r.set_by, "set_at": _iso(r.set_at)}
        for r in rows
    ]
