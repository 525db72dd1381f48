"""Material and video exercises: a material's page, a video's player data and watch
heartbeats, and the video files themselves through signed, expiring URLs (range requests)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from jupyterhub.utils import url_path_join
from sqlalchemy.orm import Session

from nbcampus import schemas as S
from nbcampus.hub.campus import media, validate
from nbcampus.hub.campus.orm import utcnow
from nbcampus.hub.campus.permissions import needs_permission
from nbcampus.web import APIError, body_schema

from .base import CampusHandler
from .catalog import PublicHandler, public

CHUNK = 256 * 1024
RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


class MaterialHandler(CampusHandler):
    @needs_permission("campus:read")
    async def get(self, exercise_id: str) -> None:
        """A material exercise's page (Markdown text or a notebook), for a student of a class
        that unlocked its lesson; mark it done with POST exercises/{id}/complete."""
        eid = validate.path_id(exercise_id, "exercise")
        name = self.actor.name
        self.write_json(await self.read(lambda s: media.material(s, name, eid)))


class VideoHandler(CampusHandler):
    @needs_permission("campus:read")
    async def get(self, exercise_id: str) -> None:
        """A video exercise for the player: a signed URL to its file that expires (or its
        external URL), the share that completes it and the seconds watched so far."""
        eid = validate.path_id(exercise_id, "exercise")
        name = self.actor.name
        prefix = url_path_join(self.settings["service_prefix"], "api/v1")
        self.write_json(await self.read(lambda s: media.video(s, name, eid, prefix)))


class WatchHandler(CampusHandler):
    @needs_permission("progress:write")
    @body_schema(
        S.obj(
            ["ranges"],
            closed=True,
            ranges={
                "type": "array",
                "maxItems": media.MAX_RANGES,
                "items": {
                    "type": "array",
                    "minItems": 2,
                    "maxItems": 2,
                    "items": S.number(0, media.MAX_DURATION),
                },
                "description": "[start, end] seconds the player played since the last heartbeat",
            },
            duration=S.nullable(S.number(0.1, media.MAX_DURATION)),
        )
    )
    async def post(self, exercise_id: str) -> None:
        """A video player's heartbeat: the ranges it played since the last one. The server
        counts the seconds watched (no more than the time that passed); the exercise completes
        at its share."""
        eid = validate.path_id(exercise_id, "exercise")
        body = self.json_body()
        ranges = media.parse_ranges(body.get("ranges"))
        duration = body.get("duration")
        name = self.actor.name

        def work(s: Session) -> dict[str, Any]:
            return media.heartbeat(s, name, eid, ranges, duration)

        self.write_json(await self.tx(work))


class MediaFileHandler(PublicHandler):
    """The signed URL is the credential (a <video> element sends no token)."""

    def compute_etag(self) -> str | None:
        return None

    @public
    async def get(self, token: str) -> None:
        """A video file through a signed URL that expires, with range requests (206); refused
        (JSON) when forged, expired, or when the lesson is no longer open to its student."""
        await self._serve(token, body=True)

    @public
    async def head(self, token: str) -> None:
        """The video file's headers (size, type, ranges accepted) through a signed URL."""
        await self._serve(token, body=False)

    async def _serve(self, token: str, *, body: bool) -> None:
        grant = media.verify(media.signing_key(), token, utcnow())
        path, kind = await self.read(lambda s: media.media_file(s, grant))
        size = path.stat().st_size
        start, end = 0, size - 1
        header = self.request.headers.get("Range")
        if header:
            match = RANGE_RE.fullmatch(header.strip())
            if match is None or not (match.group(1) or match.group(2)):
                raise APIError(416, "only one byte range is served", code="BAD_RANGE")
            first, last = match.group(1), match.group(2)
            if first:
                start, end = int(first), min(int(last), size - 1) if last else size - 1
            else:  # the last N bytes
                start = max(0, size - int(last))
            if start >= size or start > end:
                raise APIError(
                    416, f"the range is outside the file ({size} bytes)", code="BAD_RANGE"
                )
            self.set_status(206)
            self.set_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.set_header("Content-Type", kind)
        self.set_header("Accept-Ranges", "bytes")
        self.set_header("Content-Length", str(end - start + 1))
        self.set_header("Cache-Control", "private, max-age=300")
        if not body:
            return
        left, offset = end - start + 1, start
        while left > 0:  # read off the event loop, a chunk at a time
            chunk = await asyncio.to_thread(_read, path, offset, min(CHUNK, left))
            if not chunk:
                break
            left, offset = left - len(chunk), offset + len(chunk)
            self.write(chunk)
            await self.flush()


def _read(path: Path, offset: int, size: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(offset)
        return fh.read(size)


default_handlers = [
    (r"api/v1/exercises/([^/]+)/material", MaterialHandler),
    (r"api/v1/exercises/([^/]+)/video", VideoHandler),
    (r"api/v1/exercises/([^/]+)/watch", WatchHandler),
    (r"api/v1/media/([A-Za-z0-9_.-]{1,600})", MediaFileHandler),
]
