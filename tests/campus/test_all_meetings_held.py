"""Once every meeting of a class is held, no further meeting is taken (SQLite and
PostgreSQL): the refusal has its own code and says what to do, and no credit goes below zero."""

from __future__ import annotations

import pytest
from test_rules import TODAY, enrollment, expect, make_class, take

from nbcampus.db import transaction
from nbcampus.hub.campus import attendance as att
from nbcampus.hub.campus import classes
from nbcampus.web import APIError


def test_a_meeting_after_the_last_is_refused_and_credits_stay_at_zero(campus_db) -> None:
    class_id = make_class(campus_db, ["s00", "s01"], total_meetings=2)
    take(campus_db, class_id, 1, {"s00": "present", "s01": "late"})
    with pytest.raises(APIError) as info:  # meeting 3 of 2, while meeting 2 is still to come
        take(campus_db, class_id, 3, {"s00": "present", "s01": "present"})
    assert info.value.code in ("NO_SUCH_MEETING", "MEETING_ORDER")
    take(campus_db, class_id, 2, {"s00": "present", "s01": "absent"})
    before = {s: enrollment(campus_db, class_id, s).credits_remaining for s in ("s00", "s01")}
    assert before == {"s00": 0, "s01": 1}
    with transaction(campus_db) as s:
        err = expect(
            "ALL_MEETINGS_HELD",
            att.take_attendance,
            s, class_id, 3, TODAY, [att.Mark("s00", "present"), att.Mark("s01", "present")], "ines",
        )  # fmt: skip
    assert err.status_code == 409 and "all 2 meetings" in err.message and "edit" in err.message
    after = {s: enrollment(campus_db, class_id, s).credits_remaining for s in ("s00", "s01")}
    assert after == before
    with campus_db() as s:
        klass = classes.get_class(s, class_id)
        assert (klass.meetings_completed, klass.total_meetings) == (2, 2)
