"""Material and video exercises: what they show, signed media URLs, and watch accounting.

A material exercise shows a Markdown page or a read-only notebook of its lesson folder; the
student marks it done (or the Lab does when it was read to the end) through the ordinary
exercise completion. A video exercise is complete when the student has *watched* a share of
it (manifest `complete_at`, 0.9 by default), counted here on the server:

- the player reports the ranges it actually played (seeking ahead plays nothing) in
  heartbeats every few seconds;
- the new seconds of a heartbeat are clipped to the wall-clock time since the previous one
  (at the fastest playback rate the Lab offers), so a client cannot claim more than it could
  have played;
- the watched total is the length of the union of the accepted ranges, so watching a part
  twice counts once.

Video files are served by the campus with HTTP range requests through signed, expiring URLs:
the URL carries the student, the exercise and an expiry, signed with a key only the campus
holds; every request re-checks that the lesson is still open to that student.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nbcampus.web import APIError

from . import progress
from .courses import exercise_by_id
from .manifest import CourseManifest
from .orm import Exercise, ExerciseMedia, ExerciseProgress, Lesson, VideoWatch, utcnow

URL_TTL = timedelta(minutes=30)  # a signed video URL's life; the Lab asks again when it ends
MAX_RATE = 2.0  # the fastest playback rate the Lab offers
SLACK_SECONDS = 3.0  # network and timer jitter between heartbeats
MAX_GAP_SECONDS = 120.0  # a heartbeat after a long pause credits no more than this much time
MAX_RANGES = 100  # per heartbeat
MAX_DURATION = 24 * 3600.0
VIDEO_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".webm": "video/webm",
    ".ogv": "video/ogg",
    ".ogg": "video/ogg",
}
_FALLBACK_KEY = secrets.token_bytes(32)


# --- import ------------------------------------------------------------------------------
def sync_media(session: Session, course_id: int, manifest: CourseManifest) -> None:
    """Record what each material and video exercise of an imported course shows."""
    for lesson_spec in manifest.lessons:
        for spec in lesson_spec.exercises:
            if spec.type not in ("material", "video"):
                continue
            exercise = session.scalar(
                sa.select(Exercise)
                .join(Lesson, Lesson.id == Exercise.lesson_id)
                .where(
                    Lesson.course_id == course_id,
                    Lesson.slug == lesson_spec.slug,
                    Exercise.slug == spec.slug,
                )
            )
            if exercise is None:
                continue
            row = session.get(ExerciseMedia, exercise.id) or ExerciseMedia(exercise_id=exercise.id)
            settings = spec.settings
            name = settings.get("file")
            folder = lesson_spec.directory
            row.file = name
            row.path = str((folder / name).resolve()) if name and folder else None
            row.url = settings.get("url")
            row.complete_at = float(settings.get("complete_at", 0.9))
            row.seconds = settings.get("seconds")
            session.add(row)
    session.flush()


# --- signed URLs ---------------------------------------------------------------------------
def signing_key() -> bytes:
    """The campus's key for media URLs: derived from its Hub API token (the same across
    restarts and replicas, known to no one else); a random one when it runs without."""
    token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
    if not token:
        return _FALLBACK_KEY
    return hashlib.sha256(b"nbcampus-media-url:" + token.encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def sign(key: bytes, user: str, exercise_id: int, expires: datetime) -> str:
    payload = _b64(json.dumps([user, exercise_id, int(expires.timestamp())]).encode())
    mac = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


@dataclass(frozen=True)
class MediaGrant:
    user: str
    exercise_id: int
    expires: int


def verify(key: bytes, token: str, now: datetime) -> MediaGrant:
    """The grant a media URL's token carries; 403 when forged, 410 when it has expired."""
    if len(token) > 600 or not re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token):
        raise APIError(403, "this media link is not valid", code="BAD_SIGNATURE")
    payload, mac = token.split(".")
    good = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac, good):
        raise APIError(403, "this media link is not valid", code="BAD_SIGNATURE")
    user, exercise_id, expires = json.loads(base64.urlsafe_b64decode(payload + "=" * 4))
    if now.timestamp() > expires:
        raise APIError(410, "this media link has expired; open the video again", code="EXPIRED")
    return MediaGrant(str(user), int(exercise_id), int(expires))


# --- reading ------------------------------------------------------------------------------
def _open_exercise(
    session: Session, user: str, exercise_id: int, kind: str
) -> tuple[Exercise, ExerciseMedia]:
    """The exercise of `kind`, refused unless its lesson is open to `user`."""
    exercise, lesson, course = exercise_by_id(session, exercise_id)
    if exercise.type != kind or course.status != "published":
        raise APIError(404, f"no {kind} exercise {exercise_id}")
    progress.require_unlocked(session, user, lesson, course)
    media = session.get(ExerciseMedia, exercise.id)
    if media is None:
        media = ExerciseMedia(exercise_id=exercise.id, complete_at=0.9)
    return exercise, media


def _completed(session: Session, user: str, exercise_id: int) -> bool:
    return bool(
        session.scalar(
            sa.select(ExerciseProgress.completed).where(
                ExerciseProgress.user == user, ExerciseProgress.exercise_id == exercise_id
            )
        )
    )


def material(session: Session, user: str, exercise_id: int) -> dict[str, Any]:
    """A material exercise's page: Markdown text, or a notebook's cells (outputs kept)."""
    exercise, media = _open_exercise(session, user, exercise_id, "material")
    out: dict[str, Any] = {
        "exercise_id": exercise.id,
        "title": exercise.title,
        "xp": exercise.xp,
        "completed": _completed(session, user, exercise.id),
        "format": "none",
        "content": None,
    }
    if media.path:
        try:
            text = Path(media.path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise APIError(404, f"the page of exercise {exercise.id} is missing") from None
        if media.path.endswith(".ipynb"):
            try:
                out["content"] = json.loads(text)
            except ValueError:
                raise APIError(404, f"the notebook of exercise {exercise.id} is broken") from None
            out["format"] = "notebook"
        else:
            out["content"], out["format"] = text, "markdown"
    return out


def _watch_row(session: Session, user: str, exercise_id: int) -> VideoWatch:
    row, _ = progress._get_or_create(session, VideoWatch, user=user, exercise_id=exercise_id)
    return row


def _length(ranges: list[list[float]]) -> float:
    return sum(end - start for start, end in ranges)


def merge(ranges: list[list[float]]) -> list[list[float]]:
    """The union of [start, end] ranges, sorted and merged (touching ranges join)."""
    out: list[list[float]] = []
    for start, end in sorted(ranges):
        if out and start <= out[-1][1] + 0.25:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return out


def _subtract(ranges: list[list[float]], taken: list[list[float]]) -> list[list[float]]:
    """The parts of `ranges` (merged) outside `taken` (merged)."""
    out: list[list[float]] = []
    for start, end in ranges:
        pieces = [[start, end]]
        for t_start, t_end in taken:
            nxt = []
            for a, b in pieces:
                if t_end <= a or t_start >= b:
                    nxt.append([a, b])
                    continue
                if a < t_start:
                    nxt.append([a, t_start])
                if t_end < b:
                    nxt.append([t_end, b])
            pieces = nxt
        out.extend(p for p in pieces if p[1] - p[0] > 1e-6)
    return out


def _clip(ranges: list[list[float]], budget: float) -> list[list[float]]:
    """The first `budget` seconds of `ranges`, in time order."""
    out = []
    for start, end in ranges:
        if budget <= 0:
            break
        take = min(end - start, budget)
        out.append([start, start + take])
        budget -= take
    return out


def video_state(watch: VideoWatch | None, media: ExerciseMedia, completed: bool) -> dict[str, Any]:
    duration = media.seconds or (watch.duration if watch else None)
    watched = watch.watched if watch else 0.0
    return {
        "watched_seconds": round(watched, 2),
        "duration": duration,
        "complete_at": media.complete_at,
        "share": round(min(1.0, watched / duration), 4) if duration else 0.0,
        "completed": completed,
    }


def video(session: Session, user: str, exercise_id: int, prefix: str) -> dict[str, Any]:
    """A video exercise for the player: a signed URL to the file (or the external URL) and
    what the student has watched so far. `prefix` is the campus API's URL path."""
    exercise, media = _open_exercise(session, user, exercise_id, "video")
    now = utcnow()
    expires = now + URL_TTL
    if media.path:
        token = sign(signing_key(), user, exercise.id, expires)
        src, external = f"{prefix.rstrip('/')}/media/{token}", False
    else:
        src, external = media.url, True
    watch = session.scalar(sa.select(VideoWatch).filter_by(user=user, exercise_id=exercise.id))
    return {
        "exercise_id": exercise.id,
        "title": exercise.title,
        "xp": exercise.xp,
        "src": src,
        "external": external,
        "expires_at": expires.isoformat() if not external else None,
        "ranges": json.loads(watch.ranges) if watch else [],
        **video_state(watch, media, _completed(session, user, exercise.id)),
    }


def parse_ranges(raw: Any) -> list[list[float]]:
    if not isinstance(raw, list) or len(raw) > MAX_RANGES:
        raise APIError(400, f"ranges must be a list of at most {MAX_RANGES}", field="ranges")
    out = []
    for item in raw:
        ok = isinstance(item, list) and len(item) == 2
        ok = ok and all(isinstance(x, int | float) and not isinstance(x, bool) for x in item)
        if not ok or not 0 <= item[0] <= item[1] <= MAX_DURATION:
            raise APIError(400, "each range must be [start, end] in seconds", field="ranges")
        out.append([float(item[0]), float(item[1])])
    return out


def heartbeat(
    session: Session,
    user: str,
    exercise_id: int,
    ranges: list[list[float]],
    duration: float | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Account for the ranges the player says it played since its last heartbeat."""
    exercise, media = _open_exercise(session, user, exercise_id, "video")
    now = now or utcnow()
    watch = _watch_row(session, user, exercise.id)
    if watch.duration is None and duration is not None and not media.seconds:
        watch.duration = duration  # the player's figure, kept from its first report
    length = media.seconds or watch.duration
    if length:
        ranges = [[min(a, length), min(b, length)] for a, b in ranges]
    seen = merge(json.loads(watch.ranges or "[]"))
    new = _subtract(merge(ranges), seen)
    last = watch.heartbeat_at
    if last is not None and last.tzinfo is None:  # SQLite gives naive UTC back
        last = last.replace(tzinfo=now.tzinfo)
    gap = 0.0 if last is None else max(0.0, (now - last).total_seconds())
    budget = min(gap, MAX_GAP_SECONDS) * MAX_RATE + SLACK_SECONDS
    accepted = _clip(new, budget)
    merged = merge(seen + accepted)
    watch.ranges = json.dumps([[round(a, 3), round(b, 3)] for a, b in merged])
    watch.watched = _length(merged)
    watch.heartbeat_at = now
    watch.updated_at = now
    session.flush()
    completed = _completed(session, user, exercise.id)
    events = None
    if not completed and length and watch.watched >= media.complete_at * length - 0.5:
        events = progress.complete_exercise(session, user, exercise)
        completed = True
    return {
        "exercise_id": exercise.id,
        "accepted_seconds": round(_length(accepted), 3),
        "refused_seconds": round(_length(new) - _length(accepted), 3),
        "ranges": json.loads(watch.ranges),
        "exercise_completed": bool(events and events.exercise_completed),
        "lesson_completed": bool(events and events.lesson_completed),
        **video_state(watch, media, completed),
    }


def media_file(session: Session, grant: MediaGrant) -> tuple[Path, str]:
    """The file a valid grant opens, if its lesson is still open to the student."""
    _, media = _open_exercise(session, grant.user, grant.exercise_id, "video")
    if not media.path:
        raise APIError(404, "this video is not a file of the course")
    path = Path(media.path)
    if not path.is_file():
        raise APIError(404, "the video file is missing")
    return path, VIDEO_TYPES.get(path.suffix.lower(), "application/octet-stream")
