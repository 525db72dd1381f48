"""A scheduled announcement goes out on time even when the service restarts in between.

The campus service runs as its own process here (no Hub needed for its scheduler): one
process is started and stopped before the announcement is due, a second one after.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_rules import make_class

from nbcampus.db import transaction
from nbcampus.hub.campus import announcements as an
from nbcampus.hub.campus.orm import Announcement, Notification
from nbcampus.ports import free_port

pytestmark = pytest.mark.slow


def start_service(db_url: str, data_dir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {
        **os.environ,
        "NBCAMPUS_DATA_DIR": str(data_dir),
        "NBCAMPUS_DB_URL": db_url,
        "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}",
    }
    for key in ("JUPYTERHUB_API_URL", "JUPYTERHUB_API_TOKEN"):
        env.pop(key, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "nbcampus.hub.campus", "--CampusService.announcement_interval=0.3"],
        env=env,
        cwd=data_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, "the campus service exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port
        except OSError:
            assert time.monotonic() < deadline, "the campus service did not start"
            time.sleep(0.2)


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def announcement_notes(factory) -> list[tuple[str, datetime]]:
    with factory() as s:
        return [
            (u, at)
            for u, at in s.execute(
                sa.select(Notification.user, Notification.created_at).where(
                    Notification.type == "announcement"
                )
            )
        ]


def test_scheduled_announcement_survives_a_restart(campus_db, db_url: str, tmp_path: Path) -> None:
    class_id = make_class(campus_db, ["s00", "s01"])
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    first, _ = start_service(db_url, data_dir)
    due = datetime.now(UTC) + timedelta(seconds=5)
    with transaction(campus_db) as s:
        a_id = an.create(
            s, author="ines", class_id=class_id, course_id=None, title="Quiz Friday",
            body="Bring a laptop.", publish_at=due,
        ).id  # fmt: skip
    time.sleep(1.0)  # the running scheduler looks at least once before the due time
    stop(first)
    assert datetime.now(UTC) < due, "the machine was too slow to stop before the due time"
    assert announcement_notes(campus_db) == []
    while datetime.now(UTC) < due:
        time.sleep(0.2)
    second, _ = start_service(db_url, data_dir)
    try:
        deadline = time.monotonic() + 20
        while len(announcement_notes(campus_db)) < 2:
            assert time.monotonic() < deadline, "the due announcement was not delivered"
            time.sleep(0.2)
    finally:
        stop(second)
    notes = announcement_notes(campus_db)
    assert sorted(u for u, _ in notes) == ["s00", "s01"]
    with campus_db() as s:
        sent_at = s.get(Announcement, a_id).sent_at
    assert sent_at is not None
    if sent_at.tzinfo is None:  # SQLite keeps naive UTC
        sent_at = sent_at.replace(tzinfo=UTC)
    assert due <= sent_at < due + timedelta(seconds=30)
