"""Certificates, profiles, data exports and deletion requests in the campus domain layer
(SQLite and PostgreSQL)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_rules import make_class

from nbcampus.db import transaction
from nbcampus.hub.campus import certificates as cert
from nbcampus.hub.campus import profile as pr
from nbcampus.hub.campus import progress
from nbcampus.hub.campus.orm import Certificate, Course, Exercise, Lesson, Notification
from nbcampus.web import APIError


def exercises(factory) -> list[Exercise]:
    with factory() as s:
        course_id = s.scalar(sa.select(Course.id).where(Course.slug == "python-intro"))
        rows = s.scalars(
            sa.select(Exercise)
            .join(Lesson, Lesson.id == Exercise.lesson_id)
            .where(Lesson.course_id == course_id, Exercise.retired.is_(False))
            .order_by(Lesson.order_index, Exercise.order_index)
        )
        return list(rows)


def complete(factory, user: str, exercise: Exercise) -> None:
    with transaction(factory) as s:
        progress.complete_exercise(s, user, s.get(Exercise, exercise.id), score=1.0, max_score=1.0)


def test_completing_every_lesson_issues_one_certificate(campus_db) -> None:
    work = exercises(campus_db)
    for e in work[:-1]:
        complete(campus_db, "s01", e)
    with campus_db() as s:
        assert cert.for_user(s, "s01") == []  # one lesson still open: no certificate
    complete(campus_db, "s01", work[-1])
    complete(campus_db, "s01", work[-1])  # a repeat changes nothing
    with campus_db() as s:
        (issued,) = cert.for_user(s, "s01")
        assert len(issued.uid) == 32 and issued.revoked_at is None
        assert issued.holder_name == "s01" and issued.course_title == "Introduction to Python"
        kinds = s.scalars(sa.select(Notification.type).filter_by(user="s01"))
        assert "certificate_issued" in set(kinds)
        data = pr.profile(s, "s01")
    assert [c["course"] for c in data["courses_completed"]] == ["python-intro"]
    assert data["certificates"][0]["id"] == issued.uid and data["certificates"][0]["valid"]
    assert data["level"]["total_xp"] > 0 and data["xp_history"]
    slugs = {b["slug"] for b in data["badges_earned"]} | {b["slug"] for b in data["badges_to_earn"]}
    assert len(slugs) == len(data["badges_earned"]) + len(data["badges_to_earn"])


def test_revocation_needs_a_reason_and_the_right_person(campus_db) -> None:
    make_class(campus_db, ["s02"])  # ines teaches a class of python-intro; otto does not
    for e in exercises(campus_db):
        complete(campus_db, "s02", e)
    with transaction(campus_db) as s:
        row = cert.for_user(s, "s02")[0]
        assert cert.may_manage(s, "ines", "instructor", row.course_id)
        assert cert.may_manage(s, "sara", "staff", row.course_id)
        assert not cert.may_manage(s, "otto", "instructor", row.course_id)
        assert not cert.may_manage(s, "s02", "student", row.course_id)
        assert cert.may_see(s, "s02", "student", row) and not cert.may_see(s, "s03", "student", row)
        with pytest.raises(APIError) as err:
            cert.revoke(s, row, "ines", "   ")
        assert err.value.status_code == 400
        cert.revoke(s, row, "ines", "copied the final project")
    with transaction(campus_db) as s:
        row = cert.get(s, row.uid)
        assert row.revoked_by == "ines" and row.revoke_reason == "copied the final project"
        with pytest.raises(APIError) as err:
            cert.revoke(s, row, "sara", "again")
        assert err.value.status_code == 409
        # a revoked certificate is not issued again by further completions
        assert cert.issue_if_complete(s, "s02", row.course_id) is None
        assert s.scalar(sa.select(sa.func.count()).select_from(Certificate)) == 1


def test_export_and_deletion_request(campus_db) -> None:
    complete(campus_db, "s04", exercises(campus_db)[0])
    with transaction(campus_db) as s:
        created, first = pr.request_deletion(s, "s04", "leaving the school")
        again, second = pr.request_deletion(s, "s04", "")
        assert created and not again and first["id"] == second["id"]
        with pytest.raises(APIError):
            pr.request_deletion(s, "s05", "x" * (pr.MAX_REASON + 1))
    with campus_db() as s:
        data = pr.export(s, "s04")
        assert [r["user"] for r in pr.deletion_requests(s)] == ["s04"]
    assert "password_hash" not in str(data)
    assert data["exercise_progress"] and data["deletion_requests"][0]["status"] == "pending"
    assert all(r["user"] == "s04" for r in data["xp_transactions"])


def test_pdf_names_holder_course_id_and_url(tmp_path: Path, output_dir: Path) -> None:
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    uid = cert.new_uid()
    pdf = cert.render_pdf(
        "Zoë Ångström-Łukasiewicz",
        "Introduction to Python",
        datetime(2026, 12, 6, tzinfo=UTC),
        uid,
        f"https://campus.example.edu/hub/certificates/{uid}",
        "nbcampus",
    )
    assert pdf.startswith(b"%PDF")
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "Zoë Ångström-Łukasiewicz" in text and uid in text and "Introduction to Python" in text
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-singlefile", str(path), str(output_dir / "cert-unit")],
        check=True,
    )
    assert (output_dir / "cert-unit.png").stat().st_size > 10_000


def test_completions_from_before_certificates_get_theirs(campus_db) -> None:
    for e in exercises(campus_db):
        complete(campus_db, "s06", e)
    with transaction(campus_db) as s:  # as a campus from before certificates would have it
        s.execute(sa.delete(Notification).where(Notification.type == "certificate_issued"))
        s.execute(sa.delete(Certificate))
    with transaction(campus_db) as s:
        assert cert.issue_missing(s) == 1
    with transaction(campus_db) as s:
        assert cert.issue_missing(s) == 0  # once
        assert [c.user for c in s.scalars(sa.select(Certificate))] == ["s06"]
