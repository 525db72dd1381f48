"""nbgrader's exchange over HTTP: nbgrader's commands talk to the grader service.

nbgrader 0.7+ lets a deployment swap the exchange classes. With these, `nbgrader
fetch_assignment`, `nbgrader submit`, `nbgrader list` and `nbgrader fetch_feedback` (and the
nbgrader lab extension, which calls the same classes) work in a student's server with no shared
filesystem; and an instructor's `nbgrader release_assignment`, `list --inbound`, `collect` and
`release_feedback` (after nbgrader's own generate_feedback) work from their terminal. Put this
in the server's nbgrader_config.py:

    from nbcampus.grader.exchange import configure
    configure(get_config())

which sets `c.ExchangeFactory.<command>` to the classes below. The grader decides who may do
what from the campus's records: only a course's instructors release and collect.

The grader's address comes from `HTTPExchange.grader_url` (default: $NBCAMPUS_GRADER_URL, or
$NBCAMPUS_BIND_URL + services/grader/) and the token from $JUPYTERHUB_API_TOKEN.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from nbgrader.exchange.abc import (
    ExchangeCollect,
    ExchangeFetchAssignment,
    ExchangeFetchFeedback,
    ExchangeList,
    ExchangeReleaseAssignment,
    ExchangeReleaseFeedback,
    ExchangeSubmit,
)
from nbgrader.exchange.abc.exchange import Exchange, ExchangeError
from nbgrader.utils import parse_utc
from traitlets import Unicode, default

MAX_FILE_BYTES = 16 * 1024 * 1024


class HTTPExchange(Exchange):
    grader_url = Unicode(help="Base URL of the grader service (ending in /services/grader/).").tag(
        config=True
    )
    api_token = Unicode(help="Hub API token (default: $JUPYTERHUB_API_TOKEN).").tag(config=True)

    @default("grader_url")
    def _grader_url(self) -> str:
        url = os.environ.get("NBCAMPUS_GRADER_URL", "")
        if not url:
            bind = os.environ.get("NBCAMPUS_BIND_URL", "http://127.0.0.1:8000/")
            url = bind.rstrip("/") + "/services/grader/"
        return url if url.endswith("/") else url + "/"

    @default("api_token")
    def _api_token(self) -> str:
        return os.environ.get("JUPYTERHUB_API_TOKEN", "")

    def api(self, method: str, path: str, body: Any = None) -> Any:
        resp = requests.request(
            method,
            self.grader_url + "api/v1/" + path,
            headers={"Authorization": f"token {self.api_token}"},
            json=body,
            timeout=60,
        )
        try:
            data = resp.json()
        except ValueError:
            data = {"message": resp.text[:200]}
        if resp.status_code >= 400:
            self.fail(f"grader: {data.get('message', resp.reason)} ({resp.status_code})")
        return data

    def course(self) -> str:
        if not self.coursedir.course_id:
            self.fail("no course id: set CourseDirectory.course_id or pass --course")
        return quote(self.coursedir.course_id, safe="")

    def assignment(self) -> str:
        return quote(self.coursedir.assignment_id, safe="")

    def local_dir(self) -> Path:
        return Path(self.assignment_dir) / self.coursedir.assignment_id

    def init_src(self) -> None:
        pass

    def init_dest(self) -> None:
        pass

    def copy_files(self) -> None:
        pass  # listing moves no files


class HTTPFetchAssignment(HTTPExchange, ExchangeFetchAssignment):
    def copy_files(self) -> None:
        dest = self.local_dir()
        if dest.is_dir() and not self.replace_missing_files:
            self.fail(f"You already have a copy of the assignment in {dest}")
        data = self.api("GET", f"courses/{self.course()}/assignments/{self.assignment()}/files")
        for name, content in data["files"].items():
            target = (dest / name).resolve()
            if dest.resolve() not in target.parents:
                self.fail(f"refusing an unsafe file name from the grader: {name!r}")
            if target.exists():
                continue  # replace_missing_files: keep the student's own work
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(base64.b64decode(content))
        self.log.info("Fetched as: %s %s", self.coursedir.course_id, self.coursedir.assignment_id)


class HTTPSubmit(HTTPExchange, ExchangeSubmit):
    def copy_files(self) -> None:
        src = self.local_dir()
        if not src.is_dir():
            self.fail(f"Assignment not found: {src}")
        files = {}
        for path in sorted(src.rglob("*")):
            if not path.is_file() or ".ipynb_checkpoints" in path.parts:
                continue
            if path.stat().st_size > MAX_FILE_BYTES:
                self.fail(f"{path.name} is larger than {MAX_FILE_BYTES} bytes")
            rel = path.relative_to(src).as_posix()
            files[rel] = base64.b64encode(path.read_bytes()).decode()
        data = self.api(
            "POST",
            f"courses/{self.course()}/assignments/{self.assignment()}/submissions",
            {"files": files},
        )
        self.submission = data
        self.log.info(
            "Submitted as: %s %s %s", self.coursedir.course_id, data["assignment"], data["id"]
        )


class HTTPList(HTTPExchange, ExchangeList):
    campus_url = Unicode(
        help="Base URL of the campus service (ending in /services/campus/); asked for the "
        "student's courses when no course is given."
    ).tag(config=True)

    @default("campus_url")
    def _campus_url(self) -> str:
        url = os.environ.get("NBCAMPUS_CAMPUS_URL", "")
        if not url:
            url = self.grader_url.rstrip("/").rsplit("/", 1)[0] + "/campus/"
        return url if url.endswith("/") else url + "/"

    def courses(self) -> list[str]:
        """The course asked for, or else every course of the student (as nbgrader's list does
        over the exchange's folders, and as the Lab's assignment list needs)."""
        if self.coursedir.course_id:
            return [self.coursedir.course_id]
        resp = requests.get(
            self.campus_url + "api/v1/me/courses",
            headers={"Authorization": f"token {self.api_token}"},
            timeout=60,
        )
        if resp.status_code >= 400:
            self.fail(f"campus: cannot list your courses ({resp.status_code})")
        return [c["slug"] for c in resp.json().get("courses", [])]

    def list_files(self) -> list[dict[str, Any]]:
        out = []
        for course_id in self.courses():
            out += self._list_course(course_id)
        if self.inbound:
            self.log.info("Submitted assignments:")
            for item in out:
                for info in item["submissions"]:
                    self.log.info(
                        "%s %s %s %s",
                        info["course_id"],
                        info["student_id"],
                        info["assignment_id"],
                        info["timestamp"],
                    )
            return out
        for item in out:
            self.log.info("%s %s %s", item["course_id"], item["assignment_id"], item["status"])
        return out

    def _list_course(self, course_id: str) -> list[dict[str, Any]]:
        course = quote(course_id, safe="")
        out = []
        if self.inbound:
            # The instructor's view (nbgrader's exchange inbound): every student's submissions,
            # one entry per student and assignment, as nbgrader's own list gives them.
            for a in self.api("GET", f"courses/{course}/assignments?all=1")["assignments"]:
                subs = self.api(
                    "GET", f"courses/{course}/assignments/{quote(a['name'])}/submissions?all=1"
                )["submissions"]
                by_student: dict[str, list[dict[str, Any]]] = {}
                for sub in subs:
                    if self.coursedir.student_id in ("", "*", sub["student"]):
                        by_student.setdefault(sub["student"], []).append(sub)
                for student, items in sorted(by_student.items()):
                    infos = [self._submitted(course_id, a["name"], x) for x in items]
                    out.append(
                        {
                            "course_id": course_id,
                            "assignment_id": a["name"],
                            "student_id": student,
                            "status": "submitted",
                            "submissions": sorted(infos, key=lambda x: x["timestamp"]),
                        }
                    )
        elif self.cached:
            for a in self.api("GET", f"courses/{course}/assignments")["assignments"]:
                subs = self.api(
                    "GET", f"courses/{course}/assignments/{quote(a['name'])}/submissions"
                )["submissions"]
                if not subs:
                    continue  # nothing submitted: the assignment is only released
                out.append(
                    {
                        "course_id": course_id,
                        "assignment_id": a["name"],
                        "student_id": subs[0]["student"],
                        "status": "submitted",
                        "submissions": [self._submitted(course_id, a["name"], s) for s in subs],
                    }
                )
        else:
            for a in self.api("GET", f"courses/{course}/assignments")["assignments"]:
                local = Path(self.assignment_dir) / a["name"]
                out.append(
                    {
                        "course_id": course_id,
                        "assignment_id": a["name"],
                        "status": "fetched" if local.is_dir() else "released",
                        "path": str(local),
                        "notebooks": [
                            {"notebook_id": nb, "path": str(local / f"{nb}.ipynb")}
                            for nb in a["notebooks"]
                        ],
                    }
                )
        return out

    def _submitted(self, course_id: str, assignment_id: str, sub: dict[str, Any]) -> dict:
        """One submission with the keys nbgrader's list gives (and its Lab's assignment list
        reads): the notebooks and whether their feedback is fetched or ready to fetch."""
        local = Path(self.assignment_dir) / assignment_id
        folder = local / "feedback" / sub["submitted_at"].replace(":", "-")
        # graded, and its score not hidden from the student (grader/visibility.py)
        ready = sub["status"] == "graded" and not sub.get("score_hidden")
        fetched_at = None
        try:
            fetched_at = json.loads((folder / "results.json").read_text()).get("graded_at")
        except (OSError, ValueError, AttributeError):
            pass
        notebooks = []
        for name in sub.get("files") or []:
            if "/" in name or not name.endswith(".ipynb"):
                continue
            nb_id = name[: -len(".ipynb")]
            html = folder / f"{nb_id}.html"
            has_local = html.is_file()
            notebooks.append(
                {
                    "notebook_id": nb_id,
                    "path": str((local / name).absolute()),
                    "has_local_feedback": has_local,
                    "has_exchange_feedback": ready,
                    "local_feedback_path": str(html.absolute()) if has_local else None,
                    "feedback_updated": has_local and ready and fetched_at != sub["graded_at"],
                }
            )
        has_local = bool(notebooks) and all(nb["has_local_feedback"] for nb in notebooks)
        return {
            "course_id": course_id,
            "assignment_id": assignment_id,
            "student_id": sub["student"],
            "timestamp": sub["submitted_at"],
            "status": "submitted",
            "path": str(local.absolute()),
            "notebooks": notebooks,
            "has_local_feedback": has_local,
            "has_exchange_feedback": ready,
            "feedback_updated": any(nb["feedback_updated"] for nb in notebooks),
            "local_feedback_path": str(folder.absolute()) if has_local else None,
            "score": sub["score"],
            "max_score": sub["max_score"],
            "grading": sub["status"],
        }

    def remove_files(self) -> None:
        self.fail("removing released or submitted assignments is not possible over HTTP")


class HTTPFetchFeedback(HTTPExchange, ExchangeFetchFeedback):
    def copy_files(self) -> None:
        """Write each graded submission's results as feedback/<timestamp>/results.json and,
        where the grader keeps it (the latest graded submission), nbgrader's feedback as
        feedback/<timestamp>/<notebook>.html."""
        subs = self.api(
            "GET", f"courses/{self.course()}/assignments/{self.assignment()}/submissions"
        )["submissions"]
        dest = self.local_dir() / "feedback"
        for sub in subs:
            if sub["status"] != "graded" or sub.get("score_hidden"):
                continue  # not graded, or its score not released yet
            folder = dest / sub["submitted_at"].replace(":", "-")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "results.json").write_text(json.dumps(sub, indent=2))
            for page in self.feedback_pages(sub["id"]):
                name = Path(str(page.get("name", ""))).name
                if name and isinstance(page.get("html"), str):
                    (folder / f"{name}.html").write_text(page["html"], encoding="utf-8")
        released = self.released_feedback()
        if released is not None:
            # What the instructor released (nbgrader's generate_feedback) goes beside the
            # submission it is about, over the grader's own page for it.
            folder = dest / _feedback_folder_name(released.get("timestamp", ""), subs)
            folder.mkdir(parents=True, exist_ok=True)
            for page in released.get("notebooks") or []:
                name = Path(str(page.get("name", ""))).name
                if name and isinstance(page.get("html"), str):
                    (folder / f"{name}.html").write_text(page["html"], encoding="utf-8")
            self.log.info("Feedback released by %s in %s", released.get("released_by"), folder)
        self.log.info("Feedback for %d submissions in %s", len(subs), dest)

    def released_feedback(self) -> dict[str, Any] | None:
        """The feedback an instructor released to this student (nbgrader release_feedback)."""
        resp = requests.get(
            self.grader_url + f"api/v1/courses/{self.course()}/assignments/"
            f"{self.assignment()}/feedback",
            headers={"Authorization": f"token {self.api_token}"},
            timeout=60,
        )
        if resp.status_code == 404:
            return None
        if resp.status_code >= 400:
            self.log.warning("no released feedback: %s", resp.status_code)
            return None
        return resp.json()

    def feedback_pages(self, uid: str) -> list[dict[str, Any]]:
        """The HTML feedback of one submission; none for superseded or older gradings."""
        resp = requests.get(
            self.grader_url + f"api/v1/submissions/{quote(uid, safe='')}/feedback",
            params={"format": "json"},
            headers={"Authorization": f"token {self.api_token}"},
            timeout=60,
        )
        if resp.status_code in (404, 409):
            return []
        if resp.status_code >= 400:
            self.log.warning("no HTML feedback for %s: %s", uid, resp.status_code)
            return []
        return list(resp.json().get("notebooks") or [])


def _timestamp(value: str) -> datetime | None:
    try:
        stamp = parse_utc(value)
    except (ValueError, OverflowError, TypeError):
        return None
    return stamp.replace(tzinfo=None)


def _feedback_folder_name(timestamp: str, subs: list[dict[str, Any]]) -> str:
    """The feedback folder of the submission with this timestamp (as fetch names them)."""
    wanted = _timestamp(timestamp)
    for sub in subs:
        if wanted is not None and _timestamp(sub["submitted_at"]) == wanted:
            return sub["submitted_at"].replace(":", "-")
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in timestamp) or "released"


def nbgrader_timestamp(iso: str) -> str:
    """A grader time in the form nbgrader writes to timestamp.txt."""
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f %Z")


class HTTPReleaseAssignment(HTTPExchange, ExchangeReleaseAssignment):
    """`nbgrader release_assignment NAME`: send source/NAME/ to the grader, which generates the
    student version; students get it once their class has the lesson unlocked."""

    def copy_files(self) -> None:
        src = Path(self.coursedir.format_path(self.coursedir.source_directory, ".", ""))
        src = src / self.coursedir.assignment_id
        if not src.is_dir():
            self.fail(f"Assignment not found: {src} (nbgrader's source/<assignment>/ folder)")
        from nbcampus.hub.campus.manifest import ManifestError, lesson_files

        try:
            others = lesson_files(src, str(src))
        except ManifestError as err:
            self.fail(str(err))
        names = [p.name for p in sorted(src.glob("*.ipynb"))] + list(others)
        files = {n: base64.b64encode((src / n).read_bytes()).decode() for n in names}
        data = self.api(
            "POST",
            f"courses/{self.course()}/assignments/{self.assignment()}/release",
            {"files": files},
        )
        self.log.info(
            "Released as: %s %s (%s)",
            self.coursedir.course_id,
            self.coursedir.assignment_id,
            ", ".join(data["files"]),
        )


class HTTPCollect(HTTPExchange, ExchangeCollect):
    """`nbgrader collect NAME`: every student's newest submission (or, with --before-duedate,
    the newest before the due date) into nbgrader's submitted/<student>/<assignment>/ with its
    timestamp.txt, as nbgrader's own collect leaves it."""

    def copy_files(self) -> None:
        subs = self.api(
            "GET", f"courses/{self.course()}/assignments/{self.assignment()}/submissions?all=1"
        )["submissions"]
        due = None
        if self.before_duedate:
            policy = self.api("GET", f"courses/{self.course()}/assignments/{self.assignment()}")
            due = policy.get("due_at")
        chosen: dict[str, dict[str, Any]] = {}
        for sub in sorted(subs, key=lambda x: x["submitted_at"]):
            if self.coursedir.student_id not in ("", "*", sub["student"]):
                continue
            if due and sub["submitted_at"] > due and sub["student"] in chosen:
                continue
            chosen[sub["student"]] = sub
        if not chosen:
            self.log.warning(
                "No submissions of '%s' for course '%s' to collect",
                self.coursedir.assignment_id,
                self.coursedir.course_id,
            )
            return
        self.log.info(
            "Processing %d submissions of '%s' for course '%s'",
            len(chosen),
            self.coursedir.assignment_id,
            self.coursedir.course_id,
        )
        for student, sub in sorted(chosen.items()):
            self._collect(student, sub)

    def _collect(self, student: str, sub: dict[str, Any]) -> None:
        assignment = self.coursedir.assignment_id
        dest = Path(
            self.coursedir.format_path(self.coursedir.submitted_directory, student, assignment)
        )
        stamp = nbgrader_timestamp(sub["submitted_at"])
        if dest.is_dir():
            existing = self.coursedir.get_existing_timestamp(str(dest))
            newer = existing is None or _timestamp(stamp) > existing.replace(tzinfo=None)
            if not (self.update and newer):
                if self.update:
                    self.log.info("No newer submission to collect: %s %s", student, assignment)
                else:
                    self.log.info(
                        "Submission already exists, use --update to update: %s %s",
                        student,
                        assignment,
                    )
                return
            self.log.info("Updating submission: %s %s", student, assignment)
        else:
            self.log.info("Collecting submission: %s %s", student, assignment)
        files = self.api("GET", f"submissions/{quote(sub['id'], safe='')}/files")["files"]
        tmp = dest.with_name(dest.name + ".collecting")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name, content in files.items():
            target = (tmp / name).resolve()
            if tmp.resolve() not in target.parents:
                self.fail(f"refusing an unsafe file name from the grader: {name!r}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(base64.b64decode(content))
        (tmp / "timestamp.txt").write_text(stamp)
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)


class HTTPReleaseFeedback(HTTPExchange, ExchangeReleaseFeedback):
    """`nbgrader release_feedback NAME`: send what nbgrader's generate_feedback wrote in
    feedback/<student>/<assignment>/ (HTML and timestamp.txt) to each student."""

    def copy_files(self) -> None:
        assignment = self.coursedir.assignment_id
        wanted = self.coursedir.student_id if self.coursedir.student_id else "*"
        excluded = set(filter(None, (self.coursedir.student_id_exclude or "").split(",")))
        pattern = self.coursedir.format_path(self.coursedir.feedback_directory, "*", assignment)
        root = Path(self.coursedir.format_path(self.coursedir.feedback_directory, ".", ""))
        folders = sorted(p for p in root.glob(f"*/{assignment}") if p.is_dir())
        released = 0
        for folder in folders:
            student = folder.parent.name
            if wanted not in ("*", student) or student in excluded:
                continue
            pages = {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.html"))}
            if not pages:
                continue
            try:
                timestamp = (folder / "timestamp.txt").read_text().strip()
            except OSError:
                timestamp = ""
            self.log.info(
                "Releasing feedback for student '%s' on assignment '%s/%s' (%s)",
                student,
                self.coursedir.course_id,
                assignment,
                timestamp,
            )
            self.api(
                "POST",
                f"courses/{self.course()}/assignments/{self.assignment()}/students/"
                f"{quote(student, safe='')}/feedback",
                {"timestamp": timestamp or "unknown", "notebooks": pages},
            )
            released += 1
        if not released:
            self.log.warning("No feedback to release in %s", pattern)


def configure(c: Any) -> Any:
    """Point nbgrader's exchange at the grader service (for nbgrader_config.py:
    `from nbcampus.grader.exchange import configure; configure(get_config())`)."""
    c.ExchangeFactory.fetch_assignment = f"{__name__}.HTTPFetchAssignment"
    c.ExchangeFactory.submit = f"{__name__}.HTTPSubmit"
    c.ExchangeFactory.list = f"{__name__}.HTTPList"
    c.ExchangeFactory.fetch_feedback = f"{__name__}.HTTPFetchFeedback"
    c.ExchangeFactory.release_assignment = f"{__name__}.HTTPReleaseAssignment"
    c.ExchangeFactory.collect = f"{__name__}.HTTPCollect"
    c.ExchangeFactory.release_feedback = f"{__name__}.HTTPReleaseFeedback"
    return c


__all__ = [
    "configure",
    "ExchangeError",
    "HTTPCollect",
    "HTTPFetchAssignment",
    "HTTPFetchFeedback",
    "HTTPList",
    "HTTPReleaseAssignment",
    "HTTPReleaseFeedback",
    "HTTPSubmit",
]
