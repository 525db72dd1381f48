"""Grading aids of an assignment for its teachers: rubric items per manually graded cell and
the marks ticked per student (their sum becomes the cell's manual score in nbgrader's
gradebook), the comment bank, line comments, and per-student extensions (the late penalty
is counted again). The rules are in ../rubric.py."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from nbgrader.api import Gradebook, MissingEntry

from nbcampus import schemas as S
from nbcampus.web import MAX_ID, APIError, body_schema, clean_text, parse_datetime

from ..feedback import graded_notebooks
from ..linenotes import annotate_html, notes_list
from ..orm import Assignment, BankComment, Extension, LineComment
from ..rubric import (
    RubricError,
    due_for,
    extension_of,
    line_comments,
    marks_of,
    points_for,
    recompute_late_penalty,
    replace_rubric,
    rubric_items,
    set_marks,
)
from ..worker import course_root
from .base import INSTRUCTING, GraderHandler, slug
from .gradebook import gradebook_url, write_manual_score

MAX_TEXT = 10_000
ITEM = S.obj(
    ["label", "points"],
    id=S.nullable({**S.ID}),
    label=S.text(500),
    points=S.number(0, 1e6),
)


def _refused(err: RubricError) -> APIError:
    return APIError(400, str(err), field=err.field)


def _student(name: str) -> str:
    """A student's name from the path, as long as the grader's tables keep (100)."""
    if not name or len(name) > 100:
        raise APIError(400, "student must be 1 to 100 characters", field="student")
    return clean_text(name, "student")


def _id(raw: str, what: str) -> int:
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        raise APIError(400, f"{what} must be a positive whole number", field=what)
    return int(raw)


class RubricHandler(GraderHandler):
    async def get(self, course: str, assignment: str) -> None:
        """The assignment's rubric items per cell: {"cells": [{notebook, cell, items}]}."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        await self.require_teacher(course)

        def read() -> list[dict[str, Any]]:
            with self.app.db() as s:
                items = rubric_items(s, course, assignment)
            return [
                {"notebook": nb, "cell": cell, "items": [i.json() for i in rows]}
                for (nb, cell), rows in sorted(items.items())
            ]

        self.write_json({"cells": await self.blocking(read)})


class CellRubricHandler(GraderHandler):
    @body_schema(S.obj(["items"], items={"type": "array", "items": ITEM, "maxItems": 50}))
    async def put(self, course: str, assignment: str, notebook: str, cell: str) -> None:
        """Set a cell's rubric ({"items": [{id?, label, points}]}); their total may not exceed
        the cell's points."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        await self.require_teacher(course)
        items = self.json_body()["items"]
        for item in items:
            clean_text(item["label"], "label")
        url = gradebook_url(self.app, course)

        def write() -> list[dict[str, Any]]:
            try:
                with Gradebook(url, course) as gb:
                    top = float(gb.find_grade_cell(cell, notebook, assignment).max_score)
            except MissingEntry:
                raise APIError(404, f"no graded cell {cell!r} in {notebook!r}") from None
            try:
                with self.app.db() as s, s.begin():
                    rows = replace_rubric(s, course, assignment, notebook, cell, items, top)
                    return [r.json() for r in rows]
            except RubricError as err:
                raise _refused(err) from None

        self.write_json({"notebook": notebook, "cell": cell, "items": await self.blocking(write)})


class MarksHandler(GraderHandler):
    @body_schema(S.obj(["items"], items={"type": "array", "items": S.ID, "maxItems": 50}))
    async def put(
        self, course: str, assignment: str, student: str, notebook: str, cell: str
    ) -> None:
        """Tick rubric items for a student ({"items": [ids]}): their points become the cell's
        manual score in nbgrader's gradebook, and the new grade is sent on."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        student = _student(student)
        await self.require_grader_of(course, student)
        ids = [int(i) for i in self.json_body()["items"]]
        me = self.actor.name

        def write() -> tuple[dict[str, Any], int | None]:
            try:
                with self.app.db() as s:
                    points = points_for(s, course, assignment, notebook, cell, ids)
            except RubricError as err:
                raise _refused(err) from None

            def mark(s: Any) -> None:
                set_marks(s, course, assignment, notebook, cell, student, ids, by=me)

            out, sub_id = write_manual_score(
                self.app, course, assignment, student, notebook, cell, points, also=mark
            )
            return {**out, "items": sorted(set(ids))}, sub_id

        out, sub_id = await self.blocking(write)
        if sub_id is not None:
            self.app.result_changed(sub_id)
        self.write_json(out)


class CommentBankHandler(GraderHandler):
    async def get(self, course: str, assignment: str) -> None:
        """The assignment's reusable comments, oldest first."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        await self.require_teacher(course)

        def read() -> list[dict[str, Any]]:
            with self.app.db() as s:
                rows = s.scalars(
                    sa.select(BankComment)
                    .where(BankComment.course == course, BankComment.assignment == assignment)
                    .order_by(BankComment.id)
                )
                return [{"id": r.id, "text": r.text, "created_by": r.created_by} for r in rows]

        self.write_json({"comments": await self.blocking(read)})

    @body_schema(S.obj(["text"], text=S.text(MAX_TEXT, multiline=True)))
    async def post(self, course: str, assignment: str) -> None:
        """Add a reusable comment ({"text"})."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        await self.require_teacher(course)
        text = clean_text(self.json_body()["text"], "text", multiline=True).strip()
        if not text:
            raise APIError(400, "the comment is empty", field="text")
        me = self.actor.name

        def write() -> dict[str, Any]:
            with self.app.db() as s, s.begin():
                row = BankComment(course=course, assignment=assignment, text=text, created_by=me)
                s.add(row)
                s.flush()
                return {"id": row.id, "text": row.text, "created_by": me}

        self.write_json(await self.blocking(write), status=201)


class BankCommentHandler(GraderHandler):
    @body_schema(None)
    async def delete(self, course: str, assignment: str, comment_id: str) -> None:
        """Remove a reusable comment (comments already given stay)."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        await self.require_teacher(course)
        cid = _id(comment_id, "comment")

        def write() -> int:
            with self.app.db() as s, s.begin():
                return s.execute(
                    sa.delete(BankComment).where(
                        BankComment.id == cid,
                        BankComment.course == course,
                        BankComment.assignment == assignment,
                    )
                ).rowcount

        if not await self.blocking(write):
            raise APIError(404, f"no comment {cid} in this assignment's bank")
        self.set_status(204)
        self.finish()


def _note_json(row: LineComment) -> dict[str, Any]:
    return {
        "id": row.id,
        "notebook": row.notebook,
        "cell": row.cell,
        "line": row.line,
        "text": row.text,
        "author": row.author,
        "created_at": row.created_at.isoformat(),
    }


class LineCommentsHandler(GraderHandler):
    async def get(self, course: str, assignment: str, student: str) -> None:
        """A student's line comments in this assignment."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        student = _student(student)
        await self.require_grader_of(course, student)

        def read() -> list[dict[str, Any]]:
            with self.app.db() as s:
                notes = line_comments(s, course, assignment, student)
                return [_note_json(r) for rows in notes.values() for r in rows]

        self.write_json({"comments": await self.blocking(read)})

    @body_schema(
        S.obj(
            ["notebook", "cell", "line", "text"],
            notebook=S.text(200),
            cell=S.text(200),
            line=S.integer(1, 100_000),
            text=S.text(MAX_TEXT, multiline=True),
        )
    )
    async def post(self, course: str, assignment: str, student: str) -> None:
        """Comment on a line of a student's graded cell ({notebook, cell, line, text}); the
        student sees it at that line in the feedback."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        student = _student(student)
        await self.require_grader_of(course, student)
        body = self.json_body()
        notebook, cell, line = body["notebook"], body["cell"], int(body["line"])
        text = clean_text(body["text"], "text", multiline=True).strip()
        if not text:
            raise APIError(400, "the comment is empty", field="text")
        root = course_root(self.app.data_dir, course)
        me = self.actor.name

        def write() -> dict[str, Any]:
            nb = graded_notebooks(root, student, assignment).get(notebook)
            source = None
            for c in nb.cells if nb is not None else []:
                meta = c.get("metadata", {}).get("nbgrader") or {}
                if isinstance(meta, dict) and meta.get("grade_id") == cell:
                    source = str(c.source or "")
            if source is None:
                raise APIError(404, f"no cell {cell!r} in {student}'s graded {notebook!r}")
            count = max(1, len(source.splitlines()))
            if line > count:
                raise APIError(400, f"the cell has {count} lines", field="line")
            with self.app.db() as s, s.begin():
                row = LineComment(
                    course=course,
                    assignment=assignment,
                    student=student,
                    notebook=notebook,
                    cell=cell,
                    line=line,
                    text=text,
                    author=me,
                )
                s.add(row)
                s.flush()
                return _note_json(row)

        self.write_json(await self.blocking(write), status=201)


class LineCommentHandler(GraderHandler):
    @body_schema(None)
    async def delete(self, course: str, assignment: str, student: str, note_id: str) -> None:
        """Remove a line comment."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        student = _student(student)
        await self.require_grader_of(course, student)
        nid = _id(note_id, "comment")

        def write() -> int:
            with self.app.db() as s, s.begin():
                return s.execute(
                    sa.delete(LineComment).where(
                        LineComment.id == nid,
                        LineComment.course == course,
                        LineComment.assignment == assignment,
                        LineComment.student == student,
                    )
                ).rowcount

        if not await self.blocking(write):
            raise APIError(404, f"no line comment {nid} for {student}")
        self.set_status(204)
        self.finish()


def _extension_json(ext: Extension | None, student: str) -> dict[str, Any]:
    if ext is None:
        return {"student": student, "due_at": None}
    return {
        "student": student,
        "due_at": ext.due_at.isoformat(),
        "reason": ext.reason,
        "granted_by": ext.granted_by,
    }


class ExtensionHandler(GraderHandler):
    """A student's own due date. Instructors of the student's class (and overseers) only."""

    async def _allowed(self, course: str, student: str) -> None:
        await self.require_teacher(course, INSTRUCTING)
        await self.require_grader_of(course, student)

    async def get(self, course: str, assignment: str, student: str) -> None:
        """The student's extension ({"due_at": null} when none)."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        student = _student(student)
        await self.require_grader_of(course, student)

        def read() -> dict[str, Any]:
            with self.app.db() as s:
                return _extension_json(extension_of(s, course, assignment, student), student)

        self.write_json(await self.blocking(read))

    @body_schema(S.obj(["due_at"], due_at=S.DATETIME, reason=S.text(500, min_length=0)))
    async def put(self, course: str, assignment: str, student: str) -> None:
        """Grant or change an extension ({"due_at", "reason"?}); the student's graded
        submissions get their late penalty counted again from it."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        student = _student(student)
        await self._allowed(course, student)
        body = self.json_body()
        due = parse_datetime(body["due_at"], "due_at")
        reason = clean_text(body.get("reason") or "", "reason")
        me = self.actor.name

        def write() -> tuple[dict[str, Any], list[int]]:
            with self.app.db() as s, s.begin():
                ext = extension_of(s, course, assignment, student)
                if ext is None:
                    ext = Extension(course=course, assignment=assignment, student=student)
                    s.add(ext)
                ext.due_at, ext.reason, ext.granted_by = due, reason, me
                s.flush()
                changed = recompute_late_penalty(s, course, assignment, student)
                return _extension_json(ext, student), changed

        out, changed = await self.blocking(write)
        for sub_id in changed:
            self.app.result_changed(sub_id)
        self.write_json({**out, "rescored": len(changed)})

    @body_schema(None)
    async def delete(self, course: str, assignment: str, student: str) -> None:
        """Withdraw the extension: the assignment's due date counts again."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        student = _student(student)
        await self._allowed(course, student)

        def write() -> list[int]:
            with self.app.db() as s, s.begin():
                s.execute(
                    sa.delete(Extension).where(
                        Extension.course == course,
                        Extension.assignment == assignment,
                        Extension.student == student,
                    )
                )
                return recompute_late_penalty(s, course, assignment, student)

        for sub_id in await self.blocking(write):
            self.app.result_changed(sub_id)
        self.set_status(204)
        self.finish()


A = r"api/v1/courses/([^/]+)/assignments/([^/]+)/"
default_handlers: list[Any] = [
    (A + r"rubric", RubricHandler),
    (A + r"rubric/([^/]+)/([^/]+)", CellRubricHandler),
    (A + r"marks/([^/]+)/([^/]+)/([^/]+)", MarksHandler),
    (A + r"comment-bank", CommentBankHandler),
    (A + r"comment-bank/([^/]+)", BankCommentHandler),
    (A + r"line-comments/([^/]+)", LineCommentsHandler),
    (A + r"line-comments/([^/]+)/([^/]+)", LineCommentHandler),
    (A + r"extensions/([^/]+)", ExtensionHandler),
]


def page_aids(
    app: Any, course: str, assignment: str, student: str, notebooks: list[Any]
) -> dict[str, Any]:
    """What the grading page shows beside nbgrader's grades: rubrics with the student's marks,
    the comment bank, the extension, and line comments (also put at their lines in the
    cells' HTML, which is changed in place)."""
    with app.db() as s:
        rubrics = rubric_items(s, course, assignment)
        ids = [i.id for rows in rubrics.values() for i in rows]
        marked = marks_of(s, student, ids)
        bank = list(
            s.scalars(
                sa.select(BankComment)
                .where(BankComment.course == course, BankComment.assignment == assignment)
                .order_by(BankComment.id)
            )
        )
        notes = line_comments(s, course, assignment, student)
        ext = extension_of(s, course, assignment, student)
        due = due_for(s, course, assignment, student)
        a = s.scalar(
            sa.select(Assignment).where(Assignment.course == course, Assignment.name == assignment)
        )
        s.expunge_all()
    for nb in notebooks:
        for cell in nb.cells:
            cell_notes = [(n.line, n.text) for n in notes.get((nb.name, cell.grade_id), [])]
            if not cell_notes or not cell.grade_id:
                continue
            if cell.cell_type == "code" and cell.html:
                cell.html = annotate_html(cell.html, cell_notes)
            else:
                cell.html = (cell.html or "") + notes_list(cell.source, cell_notes)
    return {
        "rubrics": rubrics,
        "marked": marked,
        "bank": bank,
        "notes": notes,
        "extension": ext,
        "due_at": due,
        "assignment_due": a.due_at if a is not None else None,
    }
