"""The seed's class, credit, attendance and unlock rules, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from nbcampus.db import transaction
from nbcampus.hub.campus import attendance as att
from nbcampus.hub.campus import classes
from nbcampus.hub.campus.orm import (
    AttendanceEdit,
    AuditEntry,
    CampusClass,
    CreditAdjustment,
    Enrollment,
)
from nbcampus.hub.campus.progress import access, my_courses
from nbcampus.web import APIError

TODAY = date(2026, 11, 23)


def make_class(factory: sessionmaker[Session], students: list[str], **kw) -> int:
    opts = {"type": "group", "total_meetings": 3, "max_capacity": 10, "status": "enrollment_open"}
    opts.update(kw)
    with transaction(factory) as s:
        klass = classes.create_class(
            s, name="Py A", course_slug="python-intro", instructor="ines", created_by="sara", **opts
        )
        class_id = klass.id
    for name in students:
        with transaction(factory) as s:
            classes.enroll(s, class_id, name, "sara")
    return class_id


def enrollment(factory: sessionmaker[Session], class_id: int, student: str) -> Enrollment:
    with factory() as s:
        return s.scalars(sa.select(Enrollment).filter_by(class_id=class_id, student=student)).one()


def take(factory, class_id: int, meeting: int, marks: dict[str, str]) -> None:
    with transaction(factory) as s:
        att.take_attendance(
            s, class_id, meeting, TODAY, [att.Mark(k, v) for k, v in marks.items()], "ines"
        )


def expect(code: str, fn, *args, **kwargs) -> APIError:
    with pytest.raises(APIError) as info:
        fn(*args, **kwargs)
    assert info.value.code == code, info.value.message
    return info.value


def test_enrollment_gives_credits_and_obeys_capacity_and_status(campus_db) -> None:
    class_id = make_class(campus_db, ["s00", "s01"], max_capacity=2, total_meetings=5)
    e = enrollment(campus_db, class_id, "s00")
    assert (e.meeting_credits, e.credits_used, e.credits_remaining) == (5, 0, 5)
    with transaction(campus_db) as s:
        expect("CONFLICT", classes.enroll, s, class_id, "s02", "sara")  # full
        expect("CONFLICT", classes.enroll, s, class_id, "s00", "sara")  # already enrolled
        expect("CONFLICT", classes.enroll, s, class_id, "ines", "sara")  # teaches this class
        expect("VALIDATION_ERROR", classes.enroll, s, class_id, "sara", "sara")  # school staff
        expect("NOT_FOUND", classes.enroll, s, 999_999, "s02", "sara")
    with transaction(campus_db) as s:
        classes.update_class(s, class_id, {"max_capacity": 3, "status": "active"})
    with transaction(campus_db) as s:  # room again, but a group class that started takes no one
        expect("CONFLICT", classes.enroll, s, class_id, "s02", "sara")
    with transaction(campus_db) as s:
        expect("CONFLICT", classes.update_class, s, class_id, {"total_meetings": 9})
        expect("CONFLICT", classes.update_class, s, class_id, {"status": "draft"})


def test_private_class_has_exactly_one_student_and_may_grow(campus_db) -> None:
    group = make_class(campus_db, ["s00"])
    with transaction(campus_db) as s:
        expect(
            "VALIDATION_ERROR",
            classes.create_class,
            s,
            name="P",
            course_slug="python-intro",
            type="private",
            total_meetings=2,
            max_capacity=3,
            instructor="ines",
            created_by="sara",
        )
    private = make_class(
        campus_db, ["s00"], type="private", max_capacity=None, status="active", continued_from=group
    )
    with transaction(campus_db) as s:
        expect("CONFLICT", classes.enroll, s, private, "s01", "sara")
        classes.update_class(s, private, {"total_meetings": 5})  # private classes add meetings
    assert enrollment(campus_db, private, "s00").meeting_credits == 5


def test_present_and_late_use_one_credit_absent_none_and_edit_refunds(campus_db) -> None:
    class_id = make_class(campus_db, ["s00", "s01", "s02"])
    take(campus_db, class_id, 1, {"s00": "present", "s01": "late", "s02": "absent"})
    used = {n: enrollment(campus_db, class_id, n).credits_used for n in ("s00", "s01", "s02")}
    assert used == {"s00": 1, "s01": 1, "s02": 0}
    assert enrollment(campus_db, class_id, "s02").attendance_rate == 0.0
    # the same meeting again never counts twice
    expect(
        "ALREADY_TAKEN",
        take,
        campus_db,
        class_id,
        1,
        {"s00": "present", "s01": "late", "s02": "present"},
    )
    assert enrollment(campus_db, class_id, "s00").credits_used == 1
    # skipping a meeting, marking a stranger, or leaving someone out is refused
    expect(
        "MEETING_ORDER",
        take,
        campus_db,
        class_id,
        3,
        {"s00": "present", "s01": "present", "s02": "present"},
    )
    expect(
        "VALIDATION_ERROR",
        take,
        campus_db,
        class_id,
        2,
        {"s00": "present", "s01": "present", "s09": "present", "s02": "absent"},
    )
    expect("VALIDATION_ERROR", take, campus_db, class_id, 2, {"s00": "present"})
    with transaction(campus_db) as s:
        changes = att.edit_attendance(
            s, class_id, 1, [att.Mark("s00", "absent"), att.Mark("s02", "late")], "sara", "fix"
        )
    assert {c["student"]: c["credit_change"] for c in changes} == {"s00": 1, "s02": -1}
    s00, s02 = enrollment(campus_db, class_id, "s00"), enrollment(campus_db, class_id, "s02")
    assert (s00.credits_used, s00.credits_remaining, s00.attendance_rate) == (0, 3, 0.0)
    assert (s02.credits_used, s02.attendance_rate) == (1, 100.0)
    with campus_db() as s:
        edits = s.scalars(sa.select(AttendanceEdit).order_by(AttendanceEdit.id)).all()
        assert [(e.old_status, e.new_status, e.edited_by) for e in edits] == [
            ("present", "absent", "sara"),
            ("absent", "late", "sara"),
        ]
        assert len(att.attendance_edits(s, class_id)) == 2


def test_no_credits_left_blocks_present_until_adjusted(campus_db) -> None:
    class_id = make_class(campus_db, ["s00"], total_meetings=2)
    e_id = enrollment(campus_db, class_id, "s00").id
    with transaction(campus_db) as s:
        rec = att.adjust_credits(s, e_id, -2, "makeup_class", "", "sara")
    assert (rec.credits_before, rec.credits_after, rec.adjusted_by) == (2, 0, "sara")
    expect("NO_CREDITS", take, campus_db, class_id, 1, {"s00": "present"})
    take(campus_db, class_id, 1, {"s00": "absent"})  # absent needs no credit
    with transaction(campus_db) as s:
        expect("NO_CREDITS", att.adjust_credits, s, e_id, -1, "error_correction", "", "sara")
        expect("VALIDATION_ERROR", att.adjust_credits, s, e_id, 1, "other", " ", "sara")
        expect("VALIDATION_ERROR", att.adjust_credits, s, e_id, 1, "gift", "", "sara")
        att.adjust_credits(s, e_id, 1, "other", "goodwill after outage", "sara")
    with campus_db() as s:
        history = att.credit_history(s, e_id)
    assert [(h["reason"], h["credits_before"], h["credits_after"]) for h in history] == [
        ("makeup_class", 2, 0),
        ("other", 0, 1),
    ]
    assert history[1]["reason_detail"] == "goodwill after outage"


def test_unlocked_lessons_never_exceed_meetings_completed(campus_db) -> None:
    class_id = make_class(campus_db, ["s00"])
    with transaction(campus_db) as s:
        classes.update_class(s, class_id, {"status": "active"})
    with transaction(campus_db) as s:
        expect("UNLOCK_LIMIT", classes.unlock_lesson, s, class_id, None, "ines")
    with campus_db() as s:
        assert not access(s, "python-intro", "01-values", "s00").unlocked
    take(campus_db, class_id, 1, {"s00": "present"})
    with transaction(campus_db) as s:
        _, lesson = classes.unlock_lesson(s, class_id, None, "ines")
    assert lesson.slug == "01-values"
    with transaction(campus_db) as s:
        expect("UNLOCK_LIMIT", classes.unlock_lesson, s, class_id, "02-control-flow", "ines")
        expect("NOT_FOUND", classes.unlock_lesson, s, class_id, "99-nope", "ines")
    with campus_db() as s:
        got = access(s, "python-intro", "01-values", "s00")
        assert got.unlocked and got.class_id == class_id
        assert not access(s, "python-intro", "02-control-flow", "s00").unlocked
        assert not access(s, "python-intro", "01-values", "s05").unlocked  # not in the class
        assert access(s, "python-intro", "02-control-flow", "ines").unlocked  # teachers see all
        (course,) = my_courses(s, "s00")
        assert [x["locked"] for x in course["lessons"]] == [False, True, True]
        klass = s.get(CampusClass, class_id)
        assert (klass.meetings_completed, klass.lessons_unlocked) == (1, 1)
    # the database refuses the broken state even if code tried it
    with pytest.raises(sa.exc.IntegrityError), transaction(campus_db) as s:
        s.execute(
            sa.update(CampusClass).where(CampusClass.id == class_id).values(lessons_unlocked=2)
        )


def test_a_meeting_in_the_future_cannot_open_lessons(campus_db) -> None:
    """The audit's bypass: a meeting dated 2099, then an unlock. A meeting is recorded only
    once held (today at the latest in the school's time zone), and so is an edit of its date."""
    from datetime import timedelta

    from nbcampus.hub.campus import engagement

    class_id = make_class(campus_db, ["s00"])
    today = engagement.CONFIG.today()
    for day in (date(2099, 1, 1), today + timedelta(days=1)):
        with transaction(campus_db) as s:
            mark = [att.Mark("s00", "present")]
            err = expect("FUTURE_MEETING", att.take_attendance, s, class_id, 1, day, mark, "ines")
            assert "in the future" in err.message and err.details["field"] == "meeting_date"
    with transaction(campus_db) as s:
        expect("UNLOCK_LIMIT", classes.unlock_lesson, s, class_id, None, "ines")
    take(campus_db, class_id, 1, {"s00": "present"})  # held on TODAY, in the past
    with transaction(campus_db) as s:
        expect(
            "FUTURE_MEETING",
            att.edit_attendance, s, class_id, 1, [], "ines", "", meeting_date=date(2099, 1, 1),
        )  # fmt: skip
    with transaction(campus_db) as s:
        changes = att.edit_attendance(s, class_id, 1, [], "ines", "typo", meeting_date=today)
    assert changes == [{"meeting_date": {"from": TODAY, "to": today}}]
    with campus_db() as s:
        # The date change is one row of the class audit; no student's mark changed.
        assert s.scalars(sa.select(AttendanceEdit)).all() == []
        (row,) = s.scalars(sa.select(AuditEntry).filter_by(class_id=class_id)).all()
        assert row.action == "attendance.meeting_date" and row.actor == "ines"
        assert json.loads(row.before) == {"meeting": 1, "meeting_date": TODAY.isoformat()}
        assert json.loads(row.after) == {
            "meeting": 1,
            "meeting_date": today.isoformat(),
            "notes": "typo",
        }


def test_concurrent_takes_of_one_meeting_count_once(campus_db) -> None:
    students = [f"s{i:02d}" for i in range(10)]
    class_id = make_class(campus_db, students)
    marks = dict.fromkeys(students, "present")
    outcomes: list[str] = []
    barrier = threading.Barrier(100)

    def worker() -> None:
        barrier.wait()
        try:
            take(campus_db, class_id, 1, marks)
            outcomes.append("ok")
        except APIError as err:
            outcomes.append(err.code)

    threads = [threading.Thread(target=worker) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1 and outcomes.count("ALREADY_TAKEN") == 99, outcomes
    with campus_db() as s:
        used = s.scalars(sa.select(Enrollment.credits_used).filter_by(class_id=class_id)).all()
        assert used == [1] * 10
        assert s.get(CampusClass, class_id).meetings_completed == 1
        assert s.scalar(sa.select(sa.func.count()).select_from(CreditAdjustment)) == 0


def test_attendance_report_csv_and_pdf(campus_db) -> None:
    class_id = make_class(campus_db, ["s00", "s01"])
    take(campus_db, class_id, 1, {"s00": "present", "s01": "absent"})
    with campus_db() as s:
        header, rows = att.report_table(s, s.get(CampusClass, class_id))
    text = att.report_csv(header, rows)
    assert text.splitlines()[0] == "student,M1,credits_used,credits_remaining,rate"
    assert "s00,present,1,2,100.00" in text and "s01,absent,0,3,0.00" in text
    assert att.report_csv(["x"], [["=cmd()"]]).splitlines()[1] == "'=cmd()"
    pdf = att.report_pdf("Py A — attendance", header, rows)
    assert pdf.startswith(b"%PDF-") and len(pdf) > 500
