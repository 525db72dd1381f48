"""An LMS course as a school runs it (issue 20): students added late still get in, the grade
policy is one for the campus and the LMS, a linked lesson opens on its notebook, and the LMS
may frame the tool.

The platform stands in for Moodle/Canvas (their network cannot exist here); the Hub, the
campus and grader services, the student's server, the databases and every key are real.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
import requests
from lti_env import LtiHub
from lti_flows import EXERCISE, INSTRUCTOR, LEARNER, run_async, token_headers, whoami
from lti_platform import LTI, TestPlatform
from test_lti_services import CAMPUS, GRADER, REPO, class_of, open_lesson

from nbcampus.hub.campus.grade_policy import grade_policy
from nbcampus.hub.lti.passback import LtiPassbackHook

COURSE, LESSON, NOTEBOOK = EXERCISE["course"], EXERCISE["lesson"], EXERCISE["exercise"]
LINKED = {LTI + "custom": {"nbcampus_" + k: v for k, v in EXERCISE.items()}}


def launch13(lti: LtiHub, sub: str, context_id: str, roles: list[str] = LEARNER) -> str:
    """A linked-exercise launch of `sub` in LMS course `context_id`; returns the user name."""
    session = requests.Session()
    resp = lti.platform.launch(session, lti.url, sub, roles, context_id=context_id, **LINKED)
    assert resp.status_code == 302, resp.text
    return whoami(lti, session)


def enrolled_in(lti: LtiHub, class_id: int) -> dict[str, str]:
    staff = lti.hub.client(lti.hub.demo("staff")["name"])
    listed = staff.get(CAMPUS + f"classes/{class_id}/enrollments").json()
    listed = listed["enrollments"] if isinstance(listed, dict) else listed
    return {e["student"]: e["status"] for e in listed}


def test_students_added_after_the_first_meeting_get_in(lti: LtiHub) -> None:
    """Item 6: the LMS roster is the authority for a class made for an LMS course, also
    once the class is active (by a late first launch, and by roster sync)."""
    teacher = launch13(lti, "teacher-late", "course-late", INSTRUCTOR)
    early = launch13(lti, "early-late", "course-late")
    klass = class_of(lti, teacher)
    open_lesson(lti, teacher, klass["id"], [early])
    staff = lti.hub.client(lti.hub.demo("staff")["name"])
    assert staff.get(CAMPUS + f"classes/{klass['id']}").json()["status"] == "active"

    # a student whose first click comes after meeting 1
    late = launch13(lti, "late-launch", "course-late")
    # a student added in the LMS after meeting 1, brought in by a roster sync
    lti.platform.members["course-late"] = [
        {"user_id": "teacher-late", "roles": INSTRUCTOR, "status": "Active", "name": "T L"},
        {"user_id": "early-late", "roles": LEARNER, "status": "Active", "name": "Early"},
        {"user_id": "late-launch", "roles": LEARNER, "status": "Active", "name": "Late"},
        {"user_id": "late-roster", "roles": LEARNER, "status": "Active", "name": "Roster Late"},
    ]
    contexts = requests.get(
        lti.url + "hub/lti/contexts", headers=lti.staff_token_headers(), timeout=10
    ).json()
    pk = next(c["id"] for c in contexts["contexts"] if c["context_id"] == "course-late")
    resp = requests.post(
        lti.url + f"hub/lti/contexts/{pk}/roster", headers=token_headers(lti, teacher), timeout=60
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["enrolled"] == 1 and resp.json()["class_id"] == klass["id"]
    members = requests.get(
        lti.url + f"hub/lti/contexts/{pk}/roster", headers=lti.staff_token_headers(), timeout=10
    ).json()["members"]
    (roster_late,) = [m["user"] for m in members if m["user"] not in (teacher, early, late)]

    assert enrolled_in(lti, klass["id"]) == {
        early: "active",
        late: "active",
        roster_late: "active",
    }
    # both open the unlocked lesson: the grader (which checks the unlock for the student)
    # hands them its released notebook
    for student in (late, roster_late):
        api = lti.hub.client(student)
        files = api.get(GRADER + f"courses/{COURSE}/assignments/{LESSON}/files")
        assert files.status_code == 200, (student, files.text)
        assert NOTEBOOK + ".ipynb" in files.json()["files"]

    # staff's manual enrollment keeps the group-class rule
    resp = staff.post(
        CAMPUS + f"classes/{klass['id']}/enrollments",
        json={"student": lti.hub.demo("student")["name"]},
    )
    assert resp.status_code in (400, 409), resp.text


def start_server(lti: LtiHub, name: str) -> None:
    admin = lti.hub.admin_client()
    assert admin.post(f"hub/api/users/{name}/server").status_code in (201, 202)
    deadline = time.monotonic() + 90
    while not admin.get(f"hub/api/users/{name}").json()["servers"].get("", {}).get("ready"):
        assert time.monotonic() < deadline, "the student's server did not start"
        time.sleep(0.5)


def test_a_first_launch_of_a_linked_lesson_lands_on_its_notebook(lti: LtiHub) -> None:
    """Item 2: the launch fetches the released notebook into the student's home (as the
    Campus panel's Open does) and lands on it; never overwrites the student's own work."""
    teacher = launch13(lti, "teacher-open", "course-open", INSTRUCTOR)
    klass = class_of(lti, teacher)
    first = launch13(lti, "first-open", "course-open")
    open_lesson(lti, teacher, klass["id"], [first])

    session = requests.Session()
    resp = lti.platform.launch(
        session, lti.url, "stu-open", LEARNER, context_id="course-open", **LINKED
    )
    assert resp.status_code == 302, resp.text
    assert resp.headers["Location"].endswith(
        f"/hub/user-redirect/nbcampus/open/{COURSE}/{LESSON}/{NOTEBOOK}"
    )
    name = whoami(lti, session)
    path = f"{COURSE}/{LESSON}/{NOTEBOOK}.ipynb"
    contents = f"user/{name}/api/contents/{path}"
    # the student's server's contents API (straight, not through the harness's API client:
    # jupyter_server answers a missing file with a plain-text 404)
    student = requests.Session()
    student.headers.update(token_headers(lti, name))
    contents = lti.url + contents
    start_server(lti, name)
    assert student.get(contents).status_code == 404  # nothing in the fresh home yet
    origin = lti.url.rsplit("/@/", 1)[0]
    lab = session.get(origin + resp.headers["Location"], timeout=60)
    assert lab.status_code == 200, (lab.url, lab.text[:300])
    assert lab.url.endswith(f"/user/{name}/lab/tree/{path}"), lab.url
    assert "JupyterLab" in lab.text
    model = student.get(contents)
    assert model.status_code == 200, model.text
    assert model.json()["type"] == "notebook"

    # the student's own work is kept on the next launch
    nb = model.json()["content"]
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "my notes"})
    saved = student.put(contents, json={"type": "notebook", "content": nb})
    assert saved.status_code == 200, saved.text
    again = requests.Session()
    resp = lti.platform.launch(
        again, lti.url, "stu-open", LEARNER, context_id="course-open", **LINKED
    )
    lab = again.get(origin + resp.headers["Location"], timeout=60)
    assert lab.url.endswith(f"/user/{name}/lab/tree/{path}"), lab.url
    cells = student.get(contents).json()["content"]["cells"]
    assert cells[-1]["source"] == "my notes"

    # a lesson not unlocked for the class opens the Lab on the Campus panel, naming it
    locked = {LTI + "custom": {"nbcampus_course": COURSE, "nbcampus_lesson": "02-control-flow"}}
    resp = lti.platform.launch(
        again, lti.url, "stu-open", LEARNER, context_id="course-open", **locked
    )
    assert resp.status_code == 302, resp.text
    lab = again.get(origin + resp.headers["Location"], timeout=60)
    assert lab.status_code == 200
    assert lab.url.endswith(f"/user/{name}/lab?nbcampus-lesson={COURSE}%2F02-control-flow")


def frame_ancestors(resp: requests.Response) -> list[str]:
    csp = resp.headers["Content-Security-Policy"]
    (directive,) = [d.strip() for d in csp.split(";") if d.strip().startswith("frame-ancestors")]
    return directive.split()[1:]


def test_registered_platforms_may_frame_the_hub_and_no_one_else(lti: LtiHub) -> None:
    """Item 3: frame-ancestors of the Hub's pages (launch, deep linking and what they lead
    to) names the registered platform's origin and no other; a login initiation inside a
    frame first checks that the browser keeps a cookie there, with a new-window fallback."""
    platform_origin = lti.platform.url  # its issuer and authentication URLs' origin
    # the deep-linking launch and the picker it leads to
    session = requests.Session()
    resp = lti.platform.launch(
        session,
        lti.url,
        "teacher-frame",
        INSTRUCTOR,
        message_type="LtiDeepLinkingRequest",
        context_id="course-frame",
    )
    assert resp.status_code == 302, resp.text
    picker = session.get(lti.url + "hub/lti/deep-link", timeout=10)
    assert picker.status_code == 200
    pages = [resp, picker, session.get(lti.url + "hub/home", timeout=10)]
    pages.append(requests.get(lti.url + "hub/login", timeout=10))
    for page in pages:
        allowed = frame_ancestors(page)
        assert allowed == ["'self'", platform_origin], (page.url, allowed)
        assert "https://evil.example.org" not in page.headers["Content-Security-Policy"]
        assert "'none'" not in allowed

    # a login initiation inside a frame answers the cookie check page
    form = {
        "iss": lti.platform.issuer,
        "login_hint": "teacher-frame",
        "target_link_uri": lti.url + "hub/home",
        "client_id": lti.platform.client_id,
        "lti_deployment_id": lti.platform.deployment_id,
    }
    framed = requests.post(
        lti.url + "hub/lti13/login",
        data=form,
        headers={"Sec-Fetch-Dest": "iframe"},
        allow_redirects=False,
        timeout=10,
    )
    assert framed.status_code == 200, framed.text
    assert "Open nbcampus in a new window" in framed.text
    assert "name='nbcampus_cookie_check' value='1'" in framed.text
    assert frame_ancestors(framed) == ["'self'", platform_origin]
    # once checked (or outside a frame) it goes on to the platform
    framed = requests.post(
        lti.url + "hub/lti13/login",
        data={**form, "nbcampus_cookie_check": "1"},
        headers={"Sec-Fetch-Dest": "iframe"},
        allow_redirects=False,
        timeout=10,
    )
    assert framed.status_code == 302 and framed.headers["Location"].startswith(
        lti.platform.auth_url
    )


def test_partitioned_cookies_for_frames_over_https() -> None:
    from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine

    from nbcampus.hub.lti.framing import FrameOrigins, partitioned, transform_for

    cookie = 'nbcampus-lti-state="2|abc"; HttpOnly; Path=/hub/; SameSite=Lax'
    assert partitioned(cookie) == (
        'nbcampus-lti-state="2|abc"; HttpOnly; Path=/hub/; SameSite=None; Secure; Partitioned'
    )
    origins = FrameOrigins(lambda: [], ["https://moodle.example.edu/course/view.php?id=2"])
    transform = transform_for(origins, https=True)
    for dest, expected in (("iframe", True), ("document", False)):
        request = HTTPServerRequest(
            start_line=RequestStartLine("GET", "/hub/", "HTTP/1.1"),
            headers=HTTPHeaders({"Host": "campus.example.edu", "Sec-Fetch-Dest": dest}),
        )
        headers = HTTPHeaders({"Content-Security-Policy": "frame-ancestors 'none'; report-uri /r"})
        headers.add("Set-Cookie", cookie)
        _, out, _ = transform(request).transform_first_chunk(200, headers, b"", True)
        assert out["Content-Security-Policy"] == (
            "frame-ancestors 'self' https://moodle.example.edu; report-uri /r"
        )
        assert out.get_list("Set-Cookie")[0].endswith("Partitioned") is expected
    # without any registered or configured platform nobody may frame the Hub
    nobody = transform_for(FrameOrigins(lambda: []), https=True)
    headers = HTTPHeaders({"Content-Security-Policy": "frame-ancestors 'none'"})
    _, out, _ = nobody(request).transform_first_chunk(200, headers, b"", True)
    assert out["Content-Security-Policy"] == "frame-ancestors 'none'"


@pytest.mark.browser
def test_deep_linking_inside_the_lms_frame_in_chromium(lti: LtiHub, browser, output_dir) -> None:
    """Item 3, in Chromium: the LMS's course page (the platform's origin, another port than
    the campus) frames the tool; the deep-linking launch, the cookie check, the picker and
    the answer back to the LMS all happen inside the iframe. The same page on an origin that
    is no registered platform cannot frame the tool."""
    platform = lti.platform
    platform.browser_launch = {
        "tool_url": lti.url,
        "sub": "teacher-chromium",
        "roles": INSTRUCTOR,
        "message_type": "LtiDeepLinkingRequest",
        "context_id": "course-chromium",
    }
    returned = len(platform.deep_link_returns)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto(platform.url + "/lms/course")
        frame = page.frame_locator("#tool")
        frame.locator("#targets").wait_for(timeout=60_000)
        frame.locator("input[value='python-intro/01-values/values']").check()
        page.screenshot(path=str(output_dir / "lti-deep-link-in-frame.png"))
        frame.locator("button[type=submit]").click()
        frame.locator("#added").wait_for(timeout=30_000)
        (tool_frame,) = [f for f in page.frames if f != page.main_frame]
        assert tool_frame.url == platform.url + "/deep-link-return"
    finally:
        page.close()
    (token,) = platform.deep_link_returns[returned:]
    claims = jwt.decode(token, options={"verify_signature": False})
    (item,) = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert item["custom"]["nbcampus_exercise"] == "values"

    # another origin (an unregistered LMS) framing the same launch: the browser refuses
    other = TestPlatform(client_id=platform.client_id).start()
    try:
        other.browser_launch = dict(platform.browser_launch)
        other.issuer = platform.issuer
        page = browser.new_page()
        blocked: list[str] = []
        page.on("console", lambda msg: blocked.append(msg.text))
        try:
            page.goto(other.url + "/lms/course")
            page.wait_for_timeout(3000)
            tool = page.frame_locator("#tool")
            assert tool.locator("#targets").count() == 0
            assert tool.locator("#blocked").count() == 0
            assert any("frame-ancestors" in text for text in blocked), blocked
        finally:
            page.close()
    finally:
        other.stop()


def test_the_passback_follows_the_course_grade_policy(lti: LtiHub, tmp_path: Path) -> None:
    """Item 8: the LMS gets the score the campus counts: the best by default (a worse
    resubmission sends nothing; a regrade that lowers the best sends the next best), the
    latest when the course's `grade_policy` is `latest`."""
    name = launch13(lti, "stu-policy", "course-policy")
    hook = LtiPassbackHook(lti.settings())
    start = datetime.now(UTC)

    def graded(sub: str, score: float, minutes: int) -> None:
        result = {
            "submission_id": sub,
            "user": name,
            "course": COURSE,
            "lesson": LESSON,
            "exercise": NOTEBOOK,
            "score": score,
            "max_score": 4.0,
            "graded_at": (start + timedelta(minutes=minutes)).isoformat(),
        }
        run_async(hook.on_result(result))

    def lms() -> list[float]:
        return [s["scoreGiven"] for s in lti.platform.scores if s["userId"] == "stu-policy"]

    assert grade_policy(COURSE) == "best"  # the demo course says nothing: best
    graded("pol-1", 4.0, 1)
    assert lms() == [4.0]
    graded("pol-2", 2.0, 2)  # a worse resubmission: the LMS keeps the best
    assert lms() == [4.0]
    outbox = [(i["score"], i["status"]) for i in hook.sender.outbox.items() if i["user"] == name]
    assert sorted(outbox) == [(2.0, "superseded"), (4.0, "sent")]  # kept, not sent
    graded("pol-1", 1.0, 3)  # a teacher lowers the best: the next best counts now
    assert lms() == [4.0, 2.0]
    graded("pol-1", 1.0, 3)  # the same grading again changes nothing
    assert lms() == [4.0, 2.0]

    # a course that chose `latest`
    courses = tmp_path / "courses"
    (courses / COURSE).mkdir(parents=True)
    yaml = (REPO / "courses" / COURSE / "course.yaml").read_text()
    (courses / COURSE / "course.yaml").write_text(yaml + "\ngrade_policy: latest\n")
    assert grade_policy(COURSE, courses) == "latest"
    hook.sender.outbox.policy = lambda course: grade_policy(course, courses)
    graded("pol-3", 4.0, 4)
    graded("pol-4", 3.0, 5)
    assert lms() == [4.0, 2.0, 4.0, 3.0]


def test_password_login_works_with_lti_on(lti: LtiHub) -> None:
    """Item 1 (fixed in 8178fb7): with NBCAMPUS_LTI=1 the demo admin, staff and a student
    sign in with their passwords on the Hub's login page; a wrong password is refused."""
    for role in ("admin", "staff", "student"):
        account = lti.hub.demo(role)
        session = lti.hub.login_session(account["name"], account["password"])
        assert whoami(lti, session) == account["name"]
    account = lti.hub.demo("admin")
    page = requests.get(lti.url + "hub/login", timeout=10)
    resp = requests.post(
        lti.url + "hub/login",
        data={"username": account["name"], "password": "not the password"},
        cookies=page.cookies,
        allow_redirects=False,
        timeout=30,
    )
    assert resp.status_code != 302 and resp.status_code < 500, resp.status_code


@pytest.mark.browser
def test_a_launch_of_a_locked_lesson_shows_the_campus_panel(
    lti: LtiHub, browser, output_dir
) -> None:
    """Item 2, in Chromium: a lesson with no notebook to open yet (not unlocked for the
    class) lands on JupyterLab with the Campus panel shown, the course in it, and a note that
    names the lesson by its title and says when it opens."""
    launch13(lti, "teacher-panel", "course-panel", INSTRUCTOR)  # the LMS course's class
    session = requests.Session()
    locked = {LTI + "custom": {"nbcampus_course": COURSE, "nbcampus_lesson": "03-functions-lists"}}
    resp = lti.platform.launch(
        session, lti.url, "stu-panel", LEARNER, context_id="course-panel", **locked
    )
    assert resp.status_code == 302, resp.text
    name = whoami(lti, session)
    start_server(lti, name)
    origin = lti.url.rsplit("/@/", 1)[0]
    lab = session.get(origin + resp.headers["Location"], timeout=60)
    assert lab.url.endswith(f"/user/{name}/lab?nbcampus-lesson={COURSE}%2F03-functions-lists")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        context.add_cookies(
            [
                {"name": c.name, "value": c.value, "domain": "127.0.0.1", "path": c.path or "/"}
                for c in session.cookies
            ]
        )
        page = context.new_page()
        page.goto(lab.url)
        panel = page.locator("#nbcampus-panel")
        panel.wait_for(state="visible", timeout=90_000)
        note = "“Functions and lists” (Introduction to Python) is not open yet: it unlocks after"
        page.get_by_text(note).first.wait_for(timeout=30_000)
        panel.get_by_text("Functions and lists").first.wait_for(timeout=30_000)
        # the note slides in from the right: photograph it once it is all on the page
        page.wait_for_function(
            "() => [...document.querySelectorAll('.Toastify__toast')].some("
            "t => t.getBoundingClientRect().right <= window.innerWidth)",
            timeout=10_000,
        )
        page.screenshot(path=str(output_dir / "lti-locked-lesson-campus-panel.png"))
    finally:
        context.close()


@pytest.mark.browser
def test_a_first_launch_shows_the_lessons_notebook_in_chromium(
    lti: LtiHub, browser, output_dir
) -> None:
    """Item 2's 'done when', in Chromium: a student's very first launch of a linked lesson
    (added to the LMS course after meeting 1, nothing in her home, no server running) goes
    through the Hub's spawn page and shows that lesson's notebook, not "Could not find
    path"."""
    teacher = launch13(lti, "teacher-first", "course-first", INSTRUCTOR)
    klass = class_of(lti, teacher)
    classmate = launch13(lti, "mate-first", "course-first")
    open_lesson(lti, teacher, klass["id"], [classmate])

    session = requests.Session()
    resp = lti.platform.launch(
        session, lti.url, "stu-first", LEARNER, context_id="course-first", **LINKED
    )
    assert resp.status_code == 302, resp.text
    name = whoami(lti, session)
    path = f"{COURSE}/{LESSON}/{NOTEBOOK}.ipynb"
    origin = lti.url.rsplit("/@/", 1)[0]
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        context.add_cookies(
            [
                {"name": c.name, "value": c.value, "domain": "127.0.0.1", "path": c.path or "/"}
                for c in session.cookies
            ]
        )
        page = context.new_page()
        started = time.monotonic()
        page.goto(origin + resp.headers["Location"])
        page.wait_for_url(f"**/user/{name}/lab/tree/{path}", timeout=120_000)
        tab = page.locator(f'.lm-TabBar-tab.jp-mod-current[title*="{NOTEBOOK}.ipynb"]')
        tab.wait_for(timeout=90_000)
        page.locator(".jp-NotebookPanel:visible .jp-Cell:visible").first.wait_for(timeout=60_000)
        print(f"first launch to the notebook in Chromium: {time.monotonic() - started:.1f} s")
        assert page.get_by_text("Could not find path").count() == 0
        page.screenshot(path=str(output_dir / "lti-first-launch-notebook.png"))
    finally:
        context.close()
