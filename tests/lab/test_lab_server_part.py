"""The Lab's server part on its own: a real Jupyter server with nbcampus.lab in front of a
small upstream server standing in for a campus service that streams (the campus's own
notification stream is tested through the Hub in test_lab_ui.py once it exists)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from labserver import LabServer
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop

from nbcampus.lab.services import ServiceConfigError, safe_path, target_for
from nbcampus.ports import free_port

pytestmark = pytest.mark.slow

UPSTREAM_TOKEN = "server-token-of-alice"


class Upstream:
    """An HTTP server in a thread that records what reached it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.seen: list[dict[str, Any]] = []
        self.loop: IOLoop | None = None
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(10)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        upstream = self

        class Echo(web.RequestHandler):
            def _record(self) -> None:
                upstream.seen.append(
                    {
                        "method": self.request.method,
                        "uri": self.request.uri,
                        "auth": self.request.headers.get("Authorization"),
                        "body": self.request.body.decode(),
                    }
                )

            def get(self, path: str) -> None:
                self._record()
                if path == "api/v1/broken":
                    self.set_status(500)
                    self.set_header("Content-Type", "text/html")
                    self.finish("<h1>crash</h1>")
                    return
                if path == "api/v1/denied":
                    self.set_status(403)
                    self.finish({"code": "FORBIDDEN", "message": "students may not unlock"})
                    return
                if path == "api/v1/report.csv":
                    self.set_header("Content-Type", "text/csv")
                    self.set_header("Content-Disposition", "attachment; filename=r.csv")
                    self.finish("a,b\n1,2\n")
                    return
                self.finish({"path": path, "query": self.request.query})

            def post(self, path: str) -> None:
                self._record()
                self.set_status(201)
                self.finish({"got": json.loads(self.request.body or b"{}")})

        class Stream(web.RequestHandler):
            async def get(self) -> None:
                upstream.seen.append(
                    {"uri": self.request.uri, "auth": self.request.headers.get("Authorization")}
                )
                self.set_header("Content-Type", "text/event-stream")
                self.write('event: notification\ndata: {"id": 1}\n\n')
                await self.flush()
                await asyncio.sleep(1.5)
                self.write('event: notification\ndata: {"id": 2}\n\n')
                self.finish()

        app = web.Application(
            [
                (r"/services/campus/api/v1/stream", Stream),
                (r"/services/campus/(.*)", Echo),
            ]
        )
        server = HTTPServer(app)
        server.listen(self.port, "127.0.0.1")
        self.loop = IOLoop.current()
        ready.set()
        self.loop.start()

    def stop(self) -> None:
        if self.loop:
            self.loop.add_callback(self.loop.stop)


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    up = Upstream()
    yield up
    up.stop()


@pytest.fixture(scope="module")
def lab(upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    root = tmp_path_factory.mktemp("lab")
    server = LabServer(
        root,
        {
            "JUPYTERHUB_API_TOKEN": UPSTREAM_TOKEN,
            "NBCAMPUS_CAMPUS_URL": f"http://127.0.0.1:{upstream.port}/services/campus/",
            # nothing listens there: the grader is "down"
            "NBCAMPUS_GRADER_URL": f"http://127.0.0.1:{free_port()}/services/grader/",
        },
    )
    yield server
    server.stop()


def get(lab: LabServer, path: str, **kw: Any) -> requests.Response:
    return requests.get(lab.url + path, headers=lab.headers, timeout=30, **kw)


def test_forwards_with_the_servers_hub_token(lab: LabServer, upstream: Upstream) -> None:
    resp = get(lab, "nbcampus/campus/api/v1/me/courses?active=1&_xsrf=lab-secret")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"path": "api/v1/me/courses", "query": "active=1"}
    assert upstream.seen[-1]["auth"] == f"token {UPSTREAM_TOKEN}"
    assert upstream.seen[-1]["uri"] == "/services/campus/api/v1/me/courses?active=1"


def test_forwards_json_bodies_and_statuses(lab: LabServer, upstream: Upstream) -> None:
    resp = requests.post(
        lab.url + "nbcampus/campus/api/v1/classes/3/unlock-lesson",
        headers=lab.headers,
        json={"lesson": "02-loops"},
        timeout=30,
    )
    assert resp.status_code == 201
    assert resp.json() == {"got": {"lesson": "02-loops"}}
    assert upstream.seen[-1]["method"] == "POST"


def test_service_errors_pass_through_as_json(lab: LabServer) -> None:
    resp = get(lab, "nbcampus/campus/api/v1/denied")
    assert resp.status_code == 403
    assert resp.json() == {"code": "FORBIDDEN", "message": "students may not unlock"}


def test_a_crash_page_becomes_a_json_error(lab: LabServer) -> None:
    resp = get(lab, "nbcampus/campus/api/v1/broken")
    assert resp.status_code == 502
    assert resp.json()["code"] == "SERVICE_ERROR"
    assert "campus service answered 500" in resp.json()["message"]


def test_downloads_keep_their_type(lab: LabServer) -> None:
    resp = get(lab, "nbcampus/campus/api/v1/report.csv")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert resp.headers["Content-Disposition"] == "attachment; filename=r.csv"
    assert resp.text == "a,b\n1,2\n"


def test_a_service_that_is_down_is_named(lab: LabServer) -> None:
    resp = get(lab, "nbcampus/grader/api/v1/submissions")
    assert resp.status_code == 502
    body = resp.json()
    assert body["code"] == "SERVICE_UNREACHABLE"
    assert "grader service is not reachable" in body["message"]


@pytest.mark.parametrize(
    "path",
    [
        "nbcampus/campus/hub/api/users",  # not a service API path
        "nbcampus/campus/api/v1/%2e%2e/%2e%2e/%2e%2e/hub/api/users",  # encoded ..
        "nbcampus/campus/api/v1/a%2fb",  # an encoded slash
        "nbcampus/elsewhere/api/v1/me",  # no such service
    ],
)
def test_only_service_api_paths_are_forwarded(
    lab: LabServer, upstream: Upstream, path: str
) -> None:
    before = len(upstream.seen)
    resp = get(lab, path)
    assert resp.status_code == 404, resp.text
    assert resp.json()["code"] == "NOT_FOUND"
    assert len(upstream.seen) == before


def test_needs_the_lab_login(lab: LabServer, upstream: Upstream) -> None:
    before = len(upstream.seen)
    resp = requests.get(lab.url + "nbcampus/campus/api/v1/me", timeout=30)
    assert resp.status_code == 403
    resp = requests.post(lab.url + "nbcampus/campus/api/v1/me", json={}, timeout=30)
    assert resp.status_code == 403
    assert len(upstream.seen) == before


def open_stream(lab: LabServer) -> requests.Response:
    """The campus's notification stream through the server part, as the Lab's EventSource."""
    return requests.get(
        lab.url + "nbcampus/campus/api/v1/stream",
        headers={**lab.headers, "Accept": "text/event-stream"},
        stream=True,
        timeout=30,
    )


def test_event_streams_pass_through_as_they_come(lab: LabServer) -> None:
    started = time.monotonic()
    with open_stream(lab) as resp:
        assert resp.status_code == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        lines = resp.iter_lines(decode_unicode=True)
        first = next(line for line in lines if line.startswith("data:"))
        first_at = time.monotonic() - started
        second = next(line for line in lines if line.startswith("data:"))
    assert json.loads(first[5:]) == {"id": 1}
    assert json.loads(second[5:]) == {"id": 2}
    # The first event reached us while the upstream was still holding the stream open.
    assert first_at < 1.2, first_at


def test_a_closed_stream_ends_quietly(lab: LabServer) -> None:
    """A tab closing the notification stream: the server stops reading the upstream at its
    next event and logs no traceback for it."""
    logged = lab.log.stat().st_size
    with open_stream(lab) as resp:
        lines = resp.iter_lines(decode_unicode=True)
        assert json.loads(next(x for x in lines if x.startswith("data:"))[5:]) == {"id": 1}
    time.sleep(2.5)  # the upstream's second event arrives for a browser that is gone
    with lab.log.open(errors="replace") as log:
        log.seek(logged)
        after = log.read()
    assert "Traceback" not in after and "Uncaught exception" not in after, after


def test_service_targets_from_the_environment(tmp_path: Path) -> None:
    env = {"NBCAMPUS_CAMPUS_URL": "http://h:1/services/campus", "JUPYTERHUB_API_TOKEN": "t"}
    target = target_for("campus", env)
    assert target.url("api/v1/me", "a=1") == "http://h:1/services/campus/api/v1/me?a=1"
    with pytest.raises(ServiceConfigError, match="NBCAMPUS_GRADER_URL"):
        target_for("grader", env)
    with pytest.raises(ServiceConfigError, match="JUPYTERHUB_API_TOKEN"):
        target_for("campus", {"NBCAMPUS_CAMPUS_URL": "http://h/"})
    assert safe_path("api/v1/courses/c%20x/lessons") == "api/v1/courses/c%20x/lessons"
    assert safe_path("api/v1/../x") is None
    assert safe_path("api/v2/x") is None
