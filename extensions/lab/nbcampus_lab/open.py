"""`<server>/nbcampus/open/<course>/<lesson>[/<exercise>]`: where an LMS launch of a linked
lesson lands (issue 20, item 2).

It does what the Campus panel's Open does, on the server: fetch the lesson's released files
from the grader (with the server's own Hub token, so the grader sees the student and checks
that the lesson is unlocked for them) into `<course>/<lesson>/` of the student's home, once,
never overwriting a file that is there; then it redirects to the notebook in JupyterLab
(`lab/tree/<course>/<lesson>/<exercise>.ipynb`, or the lesson's first notebook). A lesson it
cannot fetch (still locked, no notebook, grader away) opens JupyterLab on the Campus panel
with the lesson named (`lab?nbcampus-lesson=<course>/<lesson>`), unless earlier fetched
notebooks are in the folder.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import quote, urlencode

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import ensure_async, url_path_join
from tornado import web
from tornado.httpclient import HTTPRequest

from .services import ServiceConfigError, target_for

SLUG = r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}"
_SLUG = re.compile(f"^{SLUG}$")
FETCH_TIMEOUT = 60.0


class OpenLessonHandler(JupyterHandler):
    @web.authenticated
    async def get(self, course: str, lesson: str, exercise: str | None = None) -> None:
        for value in (course, lesson, exercise or "x"):
            if not _SLUG.fullmatch(value) or value in (".", ".."):
                raise web.HTTPError(404, "no such lesson")
        folder = f"{course}/{lesson}"
        notebooks = await self._fetch(course, lesson, folder)
        if notebooks is None:  # not fetched now: what an earlier fetch left in the folder
            notebooks = await self._notebooks_in(folder)
        wanted = f"{folder}/{exercise}.ipynb" if exercise else None
        if wanted and wanted in notebooks:
            path = wanted
        elif notebooks:
            path = sorted(notebooks)[0]
        else:
            query = urlencode({"nbcampus-lesson": folder})
            self.redirect(url_path_join(self.base_url, "lab") + "?" + query)
            return
        self.redirect(url_path_join(self.base_url, "lab", "tree", quote(path)))

    async def _fetch(self, course: str, lesson: str, folder: str) -> list[str] | None:
        """Write the released files that are not there yet; the release's notebooks, or None
        when the grader does not hand the lesson out (locked, unknown, unreachable)."""
        from .handlers import _client

        try:
            target = target_for("grader")
        except ServiceConfigError as err:
            self.log.warning("nbcampus.lab open: %s", err)
            return None
        url = target.url(f"api/v1/courses/{quote(course)}/assignments/{quote(lesson)}/files")
        request = HTTPRequest(
            url,
            headers={"Authorization": f"token {target.token}", "Accept": "application/json"},
            request_timeout=FETCH_TIMEOUT,
            follow_redirects=False,
        )
        try:
            resp = await _client().fetch(request, raise_error=False)
        except OSError as err:
            self.log.warning("nbcampus.lab open %s: grader unreachable: %s", folder, err)
            return None
        if resp.code != 200:
            self.log.info("nbcampus.lab open %s: grader answered %s", folder, resp.code)
            return None
        try:
            files: dict[str, Any] = json.loads(resp.body)["files"]
        except (ValueError, KeyError, TypeError):
            return None
        cm = self.contents_manager
        notebooks = []
        for name, data in sorted(files.items()):
            parts = name.split("/")
            if not isinstance(data, str) or any(p in ("", ".", "..") for p in parts):
                continue
            path = f"{folder}/{name}"
            if name.endswith(".ipynb"):
                notebooks.append(path)
            # fetched once: a student's own work is never overwritten
            if await ensure_async(cm.file_exists(path)) or await ensure_async(cm.dir_exists(path)):
                continue
            so_far = ""
            for part in path.split("/")[:-1]:
                so_far = f"{so_far}/{part}" if so_far else part
                if not await ensure_async(cm.dir_exists(so_far)):
                    await ensure_async(cm.save({"type": "directory"}, so_far))
            base64.b64decode(data, validate=True)
            model = {"type": "file", "format": "base64", "content": data}
            await ensure_async(cm.save(model, path))
        return notebooks

    async def _notebooks_in(self, folder: str) -> list[str]:
        cm = self.contents_manager
        if not await ensure_async(cm.dir_exists(folder)):
            return []
        listing = await ensure_async(cm.get(folder, content=True))
        return [m["path"] for m in listing.get("content") or () if m.get("type") == "notebook"]


def handlers(base: str) -> list[tuple[str, type]]:
    route = url_path_join(base, "nbcampus", "open", f"({SLUG})", f"({SLUG})")
    return [(route + f"(?:/({SLUG}))?/?", OpenLessonHandler)]
