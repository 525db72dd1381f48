"""The campus service: courses, classes, enrollment, credits, attendance, unlocks, engagement."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from traitlets import Float, Integer, Unicode, default

from nbcampus.db import transaction
from nbcampus.service import ServiceApp

from . import announcements, certificates, engagement, quiz
from .handlers import default_handlers
from .hubsync import sync_all
from .orm import MIGRATIONS


class CampusService(ServiceApp):
    name = "nbcampus-campus"
    description = "The campus Hub service (started by the Hub)."
    service_name = "campus"
    migrations = MIGRATIONS

    school_timezone = Unicode(
        help="The school's time zone (IANA name, e.g. Europe/Berlin): daily streaks and weekly "
        "leaderboards follow its days and weeks. Default: $NBCAMPUS_TIMEZONE or UTC.",
    ).tag(config=True)

    lesson_xp = Integer(50, help="XP for completing a whole lesson.").tag(config=True)
    attendance_xp = Integer(
        10, help="XP for attending a meeting (present or late); 0 turns it off."
    ).tag(config=True)
    streak_xp = Integer(
        5, help="XP for each day that extends a daily streak of two days or more."
    ).tag(config=True)

    announcement_interval = Float(
        5.0,
        help="Seconds between checks for scheduled announcements that are due. Delivery state "
        "lives in the database, so a due announcement goes out after a restart too.",
    ).tag(config=True)

    notification_push_interval = Float(
        2.0,
        help="Seconds between the server's checks for new notifications on each open event "
        "stream (GET notifications/stream); the client keeps one connection and never polls.",
    ).tag(config=True)

    @default("school_timezone")
    def _tz_default(self) -> str:
        return os.environ.get("NBCAMPUS_TIMEZONE", "UTC")

    _tasks: set[asyncio.Task[Any]]

    def handlers(self) -> list[Any]:
        return list(default_handlers)

    def init_db(self) -> None:
        super().init_db()
        engagement.configure(
            engagement.EngagementConfig(
                timezone=self.school_timezone,
                lesson_xp=self.lesson_xp,
                attendance_xp=self.attendance_xp,
                streak_xp=self.streak_xp,
            )
        )
        with transaction(self.db) as session:
            engagement.sync_badges(session, engagement.CONFIG.badges, None)
        with transaction(self.db) as session:  # completions from before certificates existed
            if issued := certificates.issue_missing(session):
                self.log.info("campus: %d certificates issued for earlier completions", issued)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run background work without losing the task to the garbage collector."""
        if not hasattr(self, "_tasks"):
            self._tasks = set()
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def on_start(self) -> None:
        # Heal the Hub's class groups from the campus database (calls may have failed before).
        self.spawn(self._sync_groups())
        self.spawn(self._announcement_scheduler())
        self.spawn(self._exam_sweep())
        self.spawn(self._prewarm_scheduler())

    async def _sync_groups(self) -> None:
        count = await sync_all(self.db)
        self.log.info("campus: %d class groups synced to the Hub", count)

    def deliver_due_announcements(self) -> int:
        sent = 0
        with self.db() as session:
            due = announcements.due_ids(session)
        for a_id in due:
            with transaction(self.db) as session:
                sent += announcements.deliver(session, a_id)
        return sent

    async def _announcement_scheduler(self) -> None:
        while True:
            try:
                sent = await asyncio.to_thread(self.deliver_due_announcements)
                if sent:
                    self.log.info("campus: %d announcement notifications sent", sent)
            except Exception:  # a bad moment of the database must not stop the scheduler
                self.log.exception("campus: announcement delivery failed; retrying")
            await asyncio.sleep(self.announcement_interval)

    exam_sweep_interval = Float(
        help="Seconds between sweeps that submit timed-exam attempts past their deadline with "
        "the answers saved by then (any read of the attempt also closes it; the sweep records "
        "progress and XP for students who never come back). "
        "Default: $NBCAMPUS_EXAM_SWEEP_SECONDS or 15.",
    ).tag(config=True)

    @default("exam_sweep_interval")
    def _exam_sweep_default(self) -> float:
        from nbcampus.settings import Settings

        return Settings.from_env().exam_sweep_seconds

    def close_expired_attempts(self) -> int:
        with transaction(self.db) as session:
            return quiz.close_expired(session)

    async def _exam_sweep(self) -> None:
        while True:
            try:
                if closed := await asyncio.to_thread(self.close_expired_attempts):
                    self.log.info("campus: %d exam attempts closed at their deadline", closed)
            except Exception:  # a bad moment of the database must not stop the sweep
                self.log.exception("campus: closing expired exam attempts failed; retrying")
            await asyncio.sleep(self.exam_sweep_interval)

    prewarm_parallel = Integer(
        2,
        help="Student servers a pre-warm starts at the same time: each start takes about two "
        "CPU-seconds, so more than the machine's cores only slows the logins happening then.",
    ).tag(config=True)

    async def _prewarm_scheduler(self) -> None:
        from nbcampus.settings import Settings

        from .prewarm_hub import Prewarmer

        settings = Settings.from_env()
        if settings.prewarm_memory <= 0:
            self.log.info("campus: pre-warming off (NBCAMPUS_PREWARM_MEMORY is not set)")
            return
        warmer = Prewarmer(
            self.db,
            budget=settings.prewarm_memory,
            server_memory=int(os.environ.get("NBCAMPUS_SERVER_MEMORY") or 512 * 1024**2),
            lead=timedelta(minutes=settings.prewarm_lead_minutes),
            timezone=self.school_timezone,
            parallel=self.prewarm_parallel,
        )
        self.log.info(
            "campus: pre-warming %.0f min before meetings, budget %d MB, %d MB a server, "
            "checked every %g s",
            settings.prewarm_lead_minutes, warmer.budget // 2**20, warmer.server_memory // 2**20,
            settings.prewarm_interval_seconds,
        )  # fmt: skip
        while True:
            try:
                if started := await warmer.run_once():
                    self.log.info("campus: %d student servers pre-warmed", started)
            except Exception:  # a bad moment of the database or the Hub must not stop it
                self.log.exception("campus: pre-warming failed; retrying")
            await asyncio.sleep(settings.prewarm_interval_seconds)


main = CampusService.launch
