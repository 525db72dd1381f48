"""Authoring from an instructor's own course folder: check, dry run and publish (authoring.py).

The Course view's server part sends the folder's files; nothing of them stays on the campus
but what the import keeps (the campus's rows, the grader's copy of the notebooks).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from nbcampus import schemas as S
from nbcampus.db import transaction
from nbcampus.hub.campus import authoring as a
from nbcampus.hub.campus import teaching
from nbcampus.hub.campus.cli import register_with_grader
from nbcampus.hub.campus.orm import Course
from nbcampus.hub.campus.permissions import needs_permission
from nbcampus.settings import Settings
from nbcampus.web import APIError, body_schema

from .base import CampusHandler

FILES = S.base64_files(a.MAX_FILES, "the course folder: relative path -> base64 content")
# The folder's own name: an nbgrader course folder without a course_id is named after it.
NAME = S.text(100)


class AuthoringHandler(CampusHandler):
    def files(self) -> dict[str, bytes]:
        return a.decode_files(self.json_body().get("files"))

    def folder_name(self) -> str | None:
        return self.json_body().get("name")

    def check_author(self, s: Session, slug: str) -> None:
        """Only the course's instructors (and admins) dry-run or publish an existing course; an
        instructor account may start a new one. Those who may not see a draft learn nothing."""
        course = s.scalar(sa.select(Course).where(Course.slug == slug))
        self.object_checked = True
        if not a.may_author(s, course, self.actor.name, self.actor.role):
            if course is None or course.status == "published":
                raise APIError(403, f"only the instructors of {slug!r} may publish it")
            raise APIError(403, "only a course's instructors and admins may publish it")

    def check_any_author(self, s: Session) -> None:
        """Checking a folder is for those who may author some course (the permission table
        lets every user through to this object check, as teaching roles are per class)."""
        self.object_checked = True
        if self.actor.role in a.AUTHOR_ROLES:
            return
        if s.scalar(teaching.taught_class_ids(self.actor.name, a.INSTRUCTOR).limit(1)):
            return
        raise APIError(403, f"{self.actor.role} {self.actor.name!r} may not author courses")


class CheckHandler(AuthoringHandler):
    @needs_permission("courses:author")
    @body_schema(S.obj(["files"], closed=True, files=FILES, name=NAME))
    async def post(self) -> None:
        """Check a course folder: every error of its course.yaml with its line (for an
        nbgrader folder without one, of the course.yaml the importer makes for it), and each
        lesson's exercises as the importer reads them."""
        await self.read(self.check_any_author)
        files, name = self.files(), self.folder_name()

        def work() -> dict[str, Any]:
            with a.unpacked(files, name) as folder:
                manifest, problems = a.check(folder)
            return {
                "valid": manifest is not None,
                "course": manifest.slug if manifest is not None else None,
                "errors": [p.as_dict() for p in problems],
                # what the importer reads, also where the manifest lists no exercises
                "exercises": a.exercises_read(manifest) if manifest is not None else {},
            }

        self.write_json(await asyncio.to_thread(work))


class ManifestHandler(AuthoringHandler):
    @needs_permission("courses:author")
    @body_schema(S.obj(["files"], closed=True, files=FILES, name=NAME))
    async def post(self) -> None:
        """The course.yaml the importer makes for an nbgrader course folder without one
        (source/<assignment>/, an optional nbgrader_config.py): its text, its data and the
        course's slug; the importer's own message when it finds no assignment."""
        await self.read(self.check_any_author)
        files, name = self.files(), self.folder_name()

        def work() -> dict[str, Any]:
            with a.unpacked(files, name) as folder:
                return a.generated(folder)

        self.write_json(await asyncio.to_thread(work))


class DryRunHandler(AuthoringHandler):
    @needs_permission("courses:author")
    @body_schema(S.obj(["files"], closed=True, files=FILES, name=NAME))
    async def post(self) -> None:
        """What publishing the course folder would change: new, changed and retired lessons,
        with how many students have progress in each lesson changed or retired."""
        files, name = self.files(), self.folder_name()
        settings = Settings.from_env()

        def work(s: Session) -> dict[str, Any]:
            with a.unpacked(files, name) as folder:
                manifest = a.require_manifest(folder)
                self.check_author(s, manifest.slug)
                return a.plan(s, manifest, settings)

        self.write_json(await self.read(work))


class PublishHandler(AuthoringHandler):
    @needs_permission("courses:author")
    @body_schema(
        S.obj(
            ["files", "revision"],
            closed=True,
            files=FILES,
            name=NAME,
            revision=S.text(64, min_length=0),
        )
    )
    async def post(self) -> None:
        """Publish the course folder (the import of `nbcampus course import`, keeping every
        student's progress) in one transaction, through review when an instructor publishes a
        course not yet published. `revision` is the dry run's: a course changed since is 409."""
        body = self.json_body()
        files, name = self.files(), self.folder_name()
        base = body.get("revision", "")
        settings = Settings.from_env()

        def work() -> dict[str, Any]:
            with a.unpacked(files, name) as folder:
                manifest = a.require_manifest(folder)
                with a.course_lock(manifest.slug):
                    try:
                        with transaction(self.db) as s:
                            self.check_author(s, manifest.slug)
                            done = a.publish(
                                s,
                                manifest,
                                actor=self.actor.name,
                                role=self.actor.role,
                                base_revision=base,
                                register=lambda man: register_with_grader(man, settings),
                            )
                    except (IntegrityError, OperationalError) as err:
                        # Another campus process published the same course at that moment.
                        raise a.PublishConflict(
                            f"the course {manifest.slug!r} was being published by someone "
                            "else at the same time: run the dry run again, then publish"
                        ) from err
            return dataclasses.asdict(done)

        self.write_json(await asyncio.to_thread(work))


default_handlers = [
    (r"api/v1/authoring/check", CheckHandler),
    (r"api/v1/authoring/manifest", ManifestHandler),
    (r"api/v1/authoring/dry-run", DryRunHandler),
    (r"api/v1/authoring/publish", PublishHandler),
]
