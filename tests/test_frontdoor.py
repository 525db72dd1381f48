"""The front door through a real Hub: a visitor's landing page with the school's name, logo
and catalog; search and filters; a course page; the public JSON catalog beside it, which never
shows a draft; a signed-in person still lands in JupyterLab. SQLite and PostgreSQL; Chromium
for the visitor's journey (screenshots in test-output/)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from harness.hub import CampusHub

from nbcampus.db import make_engine, session_factory, transaction
from nbcampus.hub.campus.courses import import_course
from nbcampus.hub.campus.manifest import load_manifest
from nbcampus.hub.campus.orm import CampusClass, ClassStaff, Course, SchoolSetting

pytestmark = pytest.mark.slow
CATALOG = "services/campus/api/v1/catalog"
SCHOOL = "Orus School of Code"
SITE_CONFIG = f"""
c.CampusSite.school_name = {SCHOOL!r}
c.CampusSite.welcome_text = "Code every day with real teachers.\\n\\nYour first lesson is free."
c.CampusSite.primary_color = "#1f6feb"
"""
LOGO = """<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">
<rect width="120" height="40" rx="8" fill="#1f6feb"/>
<text x="60" y="27" font-family="sans-serif" font-size="20" fill="#fff"
 text-anchor="middle">ORUS</text>
</svg>"""
DRAFT = """
slug: secret-draft
title: Secret draft about pointers
description: Not ready; pointers everywhere.
category: Programming
level: advanced
language: de
published: false
sections:
  - slug: s
    title: S
    lessons:
      - slug: l1
        title: L1
        exercises: [{slug: m, title: M, type: material}]
"""


def campus_db_url(hub: CampusHub) -> str:
    return hub.db_url or f"sqlite:///{hub.data_dir / 'campus.sqlite'}"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def front_hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CampusHub]:
    """A campus with the school's name, colour and logo configured, the demo courses, a draft
    course and one class open for enrollment."""
    db = None
    if request.param == "postgresql":
        db = request.getfixturevalue("pg_cluster").create_database()
    data_dir = tmp_path_factory.mktemp("front") / "data dir"
    data_dir.mkdir(parents=True)
    (data_dir / "logo.svg").write_text(LOGO)
    hub = CampusHub(data_dir, db_url=db, extra_config=SITE_CONFIG).start()
    try:
        draft_dir = tmp_path_factory.mktemp("draft-course")
        (draft_dir / "course.yaml").write_text(textwrap.dedent(DRAFT))
        factory = session_factory(make_engine(campus_db_url(hub)))
        with transaction(factory) as session:
            import_course(session, load_manifest(draft_dir))
            # One class open for enrollment, taught by the demo instructor (written as the
            # office's class screen would; the class rules are tested elsewhere).
            course_id = session.scalar(sa.select(Course.id).where(Course.slug == "c-fundamentals"))
            klass = CampusClass(
                name="C evenings, spring",
                course_id=course_id,
                type="group",
                max_capacity=20,
                total_meetings=12,
                status="enrollment_open",
                start_date=date(2027, 3, 1),
            )
            session.add(klass)
            session.flush()
            teacher = hub.demo("instructor")["name"]
            session.add(ClassStaff(class_id=klass.id, user=teacher, role="instructor"))
        yield hub
    finally:
        hub.stop(timeout=90)  # a loaded machine may take a while


def test_public_catalog_api_lists_published_courses_only(front_hub: CampusHub) -> None:
    anonymous = requests.Session()
    body = anonymous.get(front_hub.url + CATALOG, timeout=10).json()
    slugs = [c["slug"] for c in body["courses"]]
    assert slugs == ["c-fundamentals", "python-intro"]  # by title; the draft is not there
    assert body["total"] == 2
    assert body["facets"] == {
        "categories": ["Programming"],
        "levels": ["beginner", "intermediate"],
        "languages": ["en"],
    }
    c_course = body["courses"][0]
    assert c_course["lessons"] == 3 and c_course["duration_minutes"] == 240
    assert c_course["open_classes"] == 1
    # free text over title and description, case-insensitive; filters combine with it
    found = anonymous.get(front_hub.url + CATALOG, params={"q": "POINTERS"}, timeout=10).json()
    assert [c["slug"] for c in found["courses"]] == ["c-fundamentals"]
    # every word must appear, in any order, in the title or the description
    words = {"q": "arrays  compiling"}
    both = anonymous.get(front_hub.url + CATALOG, params=words, timeout=10).json()
    assert [c["slug"] for c in both["courses"]] == ["c-fundamentals"]
    one = anonymous.get(front_hub.url + CATALOG, params={"q": "arrays python"}, timeout=10)
    assert one.json()["total"] == 0
    by_level = anonymous.get(front_hub.url + CATALOG, params={"level": "beginner"}, timeout=10)
    assert [c["slug"] for c in by_level.json()["courses"]] == ["python-intro"]
    none = anonymous.get(
        front_hub.url + CATALOG, params={"q": "pointers", "level": "beginner"}, timeout=10
    ).json()
    assert none["courses"] == [] and none["total"] == 0
    # LIKE's own wildcards are literal text
    assert (
        anonymous.get(front_hub.url + CATALOG, params={"q": "%"}, timeout=10).json()["total"] == 0
    )
    # the draft is as absent from the page API as an unknown course
    for slug in ("secret-draft", "no-such-course"):
        resp = anonymous.get(front_hub.url + f"{CATALOG}/{slug}", timeout=10)
        assert resp.status_code == 404 and resp.json()["code"] == "NOT_FOUND"
    # bad input: JSON 400 naming the field
    for params, field in (
        ({"level": "expert"}, "level"),
        ({"q": "x" * 101}, "q"),
        ({"limit": "²"}, "limit"),
        ({"category": "a\x00b"}, "category"),
    ):
        resp = anonymous.get(front_hub.url + CATALOG, params=params, timeout=10)
        assert resp.status_code == 400, params
        assert resp.json()["details"]["field"] == field
    # read-only: nothing but GET
    assert anonymous.post(front_hub.url + CATALOG, json={}, timeout=10).status_code in (403, 405)


def test_course_page_api_has_outline_instructors_and_open_classes(front_hub: CampusHub) -> None:
    page = requests.get(front_hub.url + f"{CATALOG}/c-fundamentals", timeout=10).json()
    assert page["title"] == "C Programming Fundamentals" and page["level"] == "intermediate"
    assert [s["title"] for s in page["sections"]] == ["Basics", "Memory"]
    first = page["sections"][0]["lessons"][0]
    assert first == {
        "position": 1,
        "title": "Variables and printf",
        "description": "",
        "duration_minutes": 60,
        "types": ["coding"],
    }
    instructor = front_hub.demo("instructor")["name"]
    assert [i["name"] for i in page["instructors"]] == [instructor]
    [klass] = page["open_classes"]
    assert klass["name"] == "C evenings, spring" and klass["seats_left"] == 20
    assert klass["start_date"] == "2027-03-01"
    # the demo class of python-intro is active: not open for enrollment
    intro = requests.get(front_hub.url + f"{CATALOG}/python-intro", timeout=10).json()
    assert intro["open_classes"] == []
    types = [les["types"] for s in intro["sections"] for les in s["lessons"]]
    assert types == [["material", "coding", "quiz"], ["coding", "assignment"], ["video", "coding"]]


def test_visitor_lands_on_the_school_page_and_a_signed_in_person_in_the_lab(
    front_hub: CampusHub,
) -> None:
    root = front_hub.url.split("/@/")[0] + "/@/space%20word/"
    visitor = requests.get(root, timeout=10)
    assert visitor.status_code == 200 and visitor.url.endswith("/hub/")
    html = visitor.text
    assert SCHOOL in html and "Your first lesson is free." in html and "#1f6feb" in html
    assert "C Programming Fundamentals" in html and "Secret draft" not in html
    assert 'id="nbcampus-signin"' in html
    logo = requests.get(front_hub.url + "hub/logo", timeout=10)
    assert logo.status_code == 200 and b"ORUS" in logo.content
    # an admin's rename on the school settings page shows at once, over the configured name
    factory = session_factory(make_engine(campus_db_url(front_hub)))
    with transaction(factory) as session:
        session.merge(SchoolSetting(key="name", value="Orus Academy"))
    renamed = requests.get(front_hub.url + "hub/", timeout=10).text
    assert 'id="school-name" class="mb-0">Orus Academy<' in renamed
    with transaction(factory) as session:
        session.execute(sa.delete(SchoolSetting).where(SchoolSetting.key == "name"))
    # search: the visitor's words stay in the box; bad input is named beside it
    found = requests.get(front_hub.url + "hub/catalog", params={"q": "pointers"}, timeout=10)
    assert "C Programming Fundamentals" in found.text and "Introduction to Python" not in found.text
    assert 'value="pointers"' in found.text
    bad = requests.get(front_hub.url + "hub/catalog", params={"level": "<b>x</b>"}, timeout=10)
    assert bad.status_code == 400 and 'id="catalog-error"' in bad.text and "<b>x" not in bad.text
    # course pages: published ones only
    page = requests.get(front_hub.url + "hub/catalog/c-fundamentals", timeout=10)
    assert page.status_code == 200 and "Pointers and arrays" in page.text
    assert "C evenings, spring" in page.text and "1 h 30 min" in page.text
    assert requests.get(front_hub.url + "hub/catalog/secret-draft", timeout=10).status_code == 404
    # a signed-in student goes straight on to their server, as in a stock Hub
    student = front_hub.demo("student")
    session = front_hub.login_session(student["name"], student["password"])
    resp = session.get(front_hub.url + "hub/", allow_redirects=False, timeout=10)
    assert resp.status_code == 302
    assert f"/user/{student['name']}/" in resp.headers["Location"] or resp.headers[
        "Location"
    ].endswith("hub/spawn")


@pytest.mark.browser
@pytest.mark.parametrize("front_hub", ["sqlite"], indirect=True)
def test_visitor_finds_a_course_in_the_browser(
    front_hub: CampusHub, browser, output_dir: Path
) -> None:
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
        page = context.new_page()
        try:
            page.goto(front_hub.url)
            page.wait_for_selector("#school-name")
            assert page.inner_text("#school-name") == SCHOOL
            page.screenshot(
                path=str(output_dir / f"frontdoor-landing-{scheme}.png"), full_page=True
            )
            if scheme == "dark":
                continue
            page.fill("#catalog-q", "pointers")
            page.locator("form[role=search] button[type=submit]").click()
            page.wait_for_selector("#catalog-count")
            assert page.locator("#catalog-results article").count() == 1
            assert page.input_value("#catalog-q") == "pointers"
            page.screenshot(path=str(output_dir / "frontdoor-search.png"), full_page=True)
            page.click("text=C Programming Fundamentals")
            page.wait_for_selector("#nbcampus-course")
            assert "Pointers and arrays" in page.inner_text("#nbcampus-course")
            page.screenshot(path=str(output_dir / "frontdoor-course.png"), full_page=True)
        finally:
            context.close()
