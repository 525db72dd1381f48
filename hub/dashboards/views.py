"""The three dashboards as ipywidgets: instructor (per class), staff, admin. Each reads the
services as the viewer (client.Viewer); a refusal shows its message in place of the data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import ipywidgets as w

from . import figures as fig
from .charts import LINK, WARN, bars, card, esc, lines, message, scatter, table, tiles
from .client import Refused, Viewer, parallel, q

DAYS = 14
GRID = w.Layout(grid_template_columns="repeat(auto-fit, minmax(420px, 1fr))", width="100%")


def _header(title: str, viewer: Viewer, extra: str = "") -> w.HTML:
    return w.HTML(
        f"<h2 style='margin:4px 0'>{esc(title)}</h2>"
        f"<div style='color:#666'>Signed in as {esc(viewer.name)} ({esc(viewer.role)}). "
        f"Figures as of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. {esc(extra)} "
        f"<a href='{esc(viewer.link('hub/home'))}' style='{LINK}'>Back to the Hub</a></div>"
    )


def _refused(err: Exception) -> w.HTML:
    if isinstance(err, Refused):
        return message(f"Not shown: {err.message} ({err.status}).", error=True)
    return message(f"Not shown: {err}", error=True)


# --- instructor, per class ----------------------------------------------------------------------
def instructor(viewer: Viewer | Refused, class_id: str | None = None) -> w.Widget:
    """A class's grades, tests, submissions, attendance and credits, and who is at risk."""
    if isinstance(viewer, Refused):
        return _refused(viewer)
    try:
        classes = viewer.campus("classes", teaching="1")["classes"]
    except Refused as err:
        return w.VBox([_header("Class dashboard", viewer), _refused(err)])
    if not classes:
        return w.VBox([_header("Class dashboard", viewer), message("You teach no class yet.")])
    ids = [str(c["id"]) for c in classes]
    chosen = class_id if class_id in ids else ids[0]
    picker = w.Dropdown(
        options=[(f"{c['name']} ({c['course']}, {c['status']})", str(c["id"])) for c in classes],
        value=chosen,
        description="Class",
        layout=w.Layout(width="480px"),
    )
    body = w.VBox([_class_view(viewer, next(c for c in classes if str(c["id"]) == chosen))])

    def switch(change: dict[str, Any]) -> None:
        body.children = [message("Loading…")]
        body.children = [
            _class_view(viewer, next(c for c in classes if str(c["id"]) == change["new"]))
        ]

    picker.observe(switch, names="value")
    return w.VBox([_header("Class dashboard", viewer), picker, body])


def _class_view(viewer: Viewer, klass: dict[str, Any]) -> w.Widget:
    course = klass["course"]
    got = parallel(
        {
            "enrollments": lambda: viewer.campus(f"classes/{klass['id']}/enrollments")[
                "enrollments"
            ],
            "stats": lambda: viewer.grader(f"courses/{q(course)}/stats")["submissions"],
        }
    )
    if isinstance(got["enrollments"], Exception):
        return _refused(got["enrollments"])
    enrollments = got["enrollments"]
    students = {e["student"] for e in enrollments if e.get("status") != "withdrawn"}
    subs_error = got["stats"] if isinstance(got["stats"], Exception) else None
    # The grader answers per course: keep this class's students only.
    subs = [] if subs_error else [s for s in got["stats"] if s["student"] in students]

    cards: list[w.Widget] = []
    # Grade distribution and pass rates, one assignment at a time.
    dist, rates = fig.grade_distribution(subs), fig.pass_rates(subs)
    if subs_error:
        cards.append(card("Grades", _refused(subs_error)))
    elif not dist:
        cards.append(card("Grades", message("No graded submission in this class yet.")))
    else:
        names = sorted(set(dist) | set(rates))
        pick = w.Dropdown(options=names, value=names[0], description="Assignment")
        labels = [f"{10 * i}–{10 * (i + 1)}%" for i in range(fig.BINS)]
        grade_box, test_box = w.VBox(), w.VBox()

        def show(assignment: str) -> None:
            grade_box.children = [
                bars(
                    labels,
                    dist.get(assignment, [0] * fig.BINS),
                    x_label="score",
                    y_label="students",
                )
            ]
            tests = rates.get(assignment, {})
            test_box.children = [
                bars(
                    list(tests),
                    [round(100 * v) for v in tests.values()],
                    y_label="% passed",
                    y_max=100.0,
                    color="#2ca02c",
                )
                if tests
                else message("No autograded test in this assignment.")
            ]

        show(names[0])
        pick.observe(lambda ch: show(ch["new"]), names="value")
        cards.append(
            card(
                "Grade distribution",
                w.VBox([pick, grade_box]),
                "best graded submission per student",
            )
        )
        cards.append(
            card("Pass rate per test", test_box, "share of students passing each autograded test")
        )
    # Submissions over time.
    if not subs_error:
        days = fig.per_day([s["submitted_at"] for s in subs], DAYS)
        cards.append(
            card(
                "Submissions over time",
                bars(
                    [d[5:] for d, _ in days],
                    [n for _, n in days],
                    y_label="submissions",
                    color="#1f77b4",
                )
                if subs
                else message(f"No submission in the last {DAYS} days."),
                f"last {DAYS} days",
            )
        )
    # Attendance and credits per student, and who is at risk.
    min_att = w.IntSlider(
        75, min=0, max=100, description="Attendance <", style={"description_width": "initial"}
    )
    min_cred = w.IntSlider(
        2, min=0, max=20, description="Credits ≤", style={"description_width": "initial"}
    )
    idle = w.IntSlider(
        7, min=1, max=60, description="Idle days >", style={"description_width": "initial"}
    )
    people_box, risk_box = w.VBox(), w.VBox()

    def refresh(*_: Any) -> None:
        rows = fig.student_rows(
            enrollments,
            subs,
            min_attendance=min_att.value / 100,
            min_credits=min_cred.value,
            idle_days=idle.value,
        )
        with_rate = [r for r in rows if r.attendance_rate is not None]
        people_box.children = [
            scatter(
                [round(100 * r.attendance_rate, 1) for r in with_rate],
                [r.credits_remaining for r in with_rate],
                [r.student for r in with_rate],
                x_label="attendance %",
                y_label="credits left",
                colors=[WARN if r.risks else "#1f77b4" for r in with_rate],
            )
            if with_rate
            else message("No meeting recorded yet: attendance starts with the first meeting."),
            table(
                ["student", "attendance", "credits used", "credits left", "submissions"],
                [
                    (
                        r.student,
                        "—" if r.attendance_rate is None else f"{r.attendance_rate:.0%}",
                        r.credits_used,
                        r.credits_remaining,
                        r.submissions,
                    )
                    for r in rows
                ],
            ),
        ]
        at_risk = [r for r in rows if r.risks]
        risk_box.children = [
            table(
                ["student", "why", "their work"],
                [(r.student, "; ".join(r.risks), _work_link(viewer, course, r)) for r in at_risk],
                raw=2,
            )
            if at_risk
            else message("Nobody is at risk with these limits.")
        ]

    for slider in (min_att, min_cred, idle):
        slider.observe(refresh, names="value")
    refresh()
    cards.append(card("Attendance and credits per student", people_box, "red: at risk"))
    cards.append(
        card(
            "Students at risk",
            w.VBox(
                [w.HBox([min_att, min_cred, idle], layout=w.Layout(flex_flow="row wrap")), risk_box]
            ),
        )
    )
    summary = tiles(
        [
            ("students", len(students)),
            ("meetings held", f"{klass['meetings_completed']} / {klass['total_meetings']}"),
            ("lessons unlocked", klass["lessons_unlocked"]),
            ("submissions", len(subs)),
        ]
    )
    return w.VBox([summary, w.GridBox(cards, layout=GRID)])


def _work_link(viewer: Viewer, course: str, row: fig.StudentRow) -> str:
    """The student's latest graded work in the grader's grading view (or the course's)."""
    if row.last_assignment:
        path = (
            f"services/grader/courses/{q(course)}/grading/{q(row.last_assignment)}/{q(row.student)}"
        )
        label = f"{row.last_assignment} ({(row.last_submission or '')[:10]})"
    else:
        path, label = f"services/grader/courses/{q(course)}/grading/", "course grading"
    return f"<a href='{esc(viewer.link(path))}' target='_blank' style='{LINK}'>{esc(label)}</a>"


# --- staff ---------------------------------------------------------------------------------
def staff(viewer: Viewer | Refused) -> w.Widget:
    """Classes filling up, credits running out, unpaid enrollments, attendance rates."""
    if isinstance(viewer, Refused):
        return _refused(viewer)
    head = _header("Office dashboard", viewer)
    try:
        classes = viewer.campus("classes")["classes"]
    except Refused as err:
        return w.VBox([head, _refused(err)])
    running = [c for c in classes if c["status"] in ("enrollment_open", "active")]
    got = parallel(
        {
            str(c["id"]): (
                lambda cid=c["id"]: viewer.campus(f"classes/{cid}/enrollments")["enrollments"]
            )
            for c in running
        }
    )
    refused = [v for v in got.values() if isinstance(v, Exception)]
    if refused:
        return w.VBox([head, _refused(refused[0])])
    by_class = {int(k): v for k, v in got.items()}
    name = {c["id"]: c["name"] for c in classes}
    cards: list[w.Widget] = []

    filling = fig.fill_rates(classes)[:15]
    cards.append(
        card(
            "Classes filling up",
            w.VBox(
                [
                    bars(
                        [c["name"] for c, _ in filling],
                        [round(100 * r) for _, r in filling],
                        y_label="% full",
                        horizontal=True,
                        y_max=100.0,
                    )
                    if filling
                    else message("No class takes students now."),
                    table(
                        ["class", "status", "seats taken", "seats left"],
                        [
                            (
                                c["name"],
                                c["status"],
                                f"{c['current_capacity']} / {c['max_capacity']}",
                                c["max_capacity"] - c["current_capacity"],
                            )
                            for c, _ in filling
                        ],
                    ),
                ]
            ),
            "draft, open and active classes, fullest first",
        )
    )
    low = sorted(
        (
            (e, cid)
            for cid, rows in by_class.items()
            for e in rows
            if e.get("status") == "active" and e["credits_remaining"] <= 2
        ),
        key=lambda pair: (pair[0]["credits_remaining"], pair[0]["student"]),
    )
    per_class_low: dict[str, int] = {}
    for _e, cid in low:
        per_class_low[name[cid]] = per_class_low.get(name[cid], 0) + 1
    cards.append(
        card(
            "Credits running out",
            w.VBox(
                [
                    bars(
                        list(per_class_low),
                        list(per_class_low.values()),
                        y_label="students",
                        horizontal=True,
                        color=WARN,
                    )
                    if low
                    else message("Every student has more than 2 credits left."),
                    table(
                        ["student", "class", "credits left"],
                        [(e["student"], name[cid], e["credits_remaining"]) for e, cid in low[:200]],
                    ),
                ]
            ),
            "students of open and active classes with 2 credits or fewer",
        )
    )
    all_rows = [e for rows in by_class.values() for e in rows if e.get("status") != "withdrawn"]
    if all_rows and "payment_status" not in all_rows[0]:
        cards.append(
            card("Unpaid enrollments", message("Payments are not recorded on this campus yet."))
        )
    else:
        unpaid = [
            (e, cid)
            for cid, rows in by_class.items()
            for e in rows
            if e.get("status") != "withdrawn" and e.get("payment_status") == "pending"
        ]
        per_class: dict[str, int] = {}
        for _e, cid in unpaid:
            per_class[name[cid]] = per_class.get(name[cid], 0) + 1
        cards.append(
            card(
                "Unpaid enrollments",
                w.VBox(
                    [
                        bars(
                            list(per_class),
                            list(per_class.values()),
                            y_label="enrollments",
                            horizontal=True,
                            color="#9467bd",
                        )
                        if unpaid
                        else message("No enrollment waits for a payment."),
                        table(
                            ["student", "class", "enrolled"],
                            [
                                (e["student"], name[cid], (e.get("enrolled_at") or "")[:10])
                                for e, cid in unpaid[:200]
                            ],
                        ),
                    ]
                ),
                "no verified payment yet",
            )
        )
    rated = [(name[cid], fig.class_attendance_rate(rows)) for cid, rows in sorted(by_class.items())]
    rated = [(n, r) for n, r in rated if r is not None]
    cards.append(
        card(
            "Attendance rates",
            bars(
                [n for n, _ in rated],
                [round(100 * r) for _, r in rated],
                y_label="% attended",
                horizontal=True,
                y_max=100.0,
                color="#1f77b4",
            )
            if rated
            else message("No meeting recorded yet."),
            "mean over each class's students",
        )
    )
    cards.append(_prewarm_card(viewer))
    summary = tiles(
        [
            ("classes running", len(running)),
            ("students enrolled", len(all_rows)),
            ("credits running out", len(low)),
        ]
    )
    return w.VBox([head, summary, w.GridBox(cards, layout=GRID)])


def _prewarm_card(viewer: Viewer) -> w.Widget:
    """What the schedule's pre-warm started for the last meetings, how much of it students
    used, and the memory it took (the campus's GET prewarms)."""
    title = "Pre-warmed servers"
    try:
        data = viewer.campus("prewarms", limit="1000")
    except Refused as err:
        return card(title, _refused(err))
    rows = fig.prewarm_meetings(data["meetings"])
    if not data["enabled"] and not rows:
        return card(title, message("Pre-warming is off (NBCAMPUS_PREWARM_MEMORY is not set)."))
    if not rows:
        return card(title, message("No meeting has been pre-warmed yet."))
    return card(
        title,
        w.VBox(
            [
                bars(
                    [r[0] for r in rows],
                    [r[3] for r in rows],
                    y_label="servers used",
                    horizontal=True,
                ),  # fmt: skip
                table(["meeting", "starts (UTC)", "started", "used", "MB"], rows),
            ]
        ),
        ("the last meeting" if len(rows) == 1 else f"the last {len(rows)} meetings")
        + ": servers started before it, used by a student or not, memory reserved; "
        + (
            f"budget {data['budget_bytes'] // 2**20:,} MB"
            if data["enabled"]
            else "pre-warming is off now"
        ),
    )


# --- admin ---------------------------------------------------------------------------------
def admin(viewer: Viewer | Refused) -> w.Widget:
    """Active users, servers running, submissions and the grading queue, failed LMS sends."""
    if isinstance(viewer, Refused):
        return _refused(viewer)
    head = _header("School dashboard", viewer)
    got = parallel(
        {
            "users": lambda: viewer.hub("users", limit=10000),
            "queue": lambda: viewer.grader("stats", days=str(DAYS)),
            "outbox": lambda: viewer.hub_page("lti/outbox", status="failed")["items"],
        }
    )
    if isinstance(got["queue"], Refused) and got["queue"].status in (401, 403):
        return w.VBox([head, _refused(got["queue"])])
    cards: list[w.Widget] = []
    figures: list[tuple[str, Any]] = []
    users = got["users"]
    if isinstance(users, Exception):
        cards.append(card("Active users per day", _refused(users)))
    else:
        users = users["items"] if isinstance(users, dict) else users
        days = fig.per_day([u.get("last_activity") for u in users], DAYS)
        running = [
            u
            for u in users
            if any((s or {}).get("ready") for s in (u.get("servers") or {}).values())
        ]
        figures += [("accounts", len(users)), ("servers running", len(running))]
        queue = got["queue"] if not isinstance(got["queue"], Exception) else {"days": []}
        active = {d["day"]: d.get("students", 0) for d in queue["days"]}
        cards.append(
            card(
                "Active users per day",
                lines(
                    [d[5:] for d, _ in days],
                    {
                        "last seen that day": [n for _, n in days],
                        "submitted work": [active.get(d, 0) for d, _ in days],
                    },
                    y_label="people",
                ),
                "the Hub keeps each account's last activity; the grader who submitted",
            )
        )
        cards.append(
            card(
                "Servers running",
                table(
                    ["user", "started", "last activity"],
                    [
                        (
                            u["name"],
                            (s.get("started") or "")[:16],
                            (s.get("last_activity") or "")[:16],
                        )
                        for u in running
                        for s in (u.get("servers") or {}).values()
                        if s and s.get("ready")
                    ],
                )
                if running
                else message("No student server is running."),
            )
        )
    queue = got["queue"]
    if isinstance(queue, Exception):
        cards.append(card("Submissions and grading latency", _refused(queue)))
    else:
        days = [d["day"][5:] for d in queue["days"]]
        figures.append(("waiting to be graded", queue["waiting"]))
        cards.append(
            card(
                "Submissions per day",
                bars(
                    days,
                    [d["submissions"] for d in queue["days"]],
                    y_label="submissions",
                    color="#1f77b4",
                )
                if days
                else message(f"No submission in the last {DAYS} days."),
            )
        )
        cards.append(
            card(
                "Grading queue latency",
                lines(
                    days,
                    {  # the median drawn last: on top where both are the same
                        "worst": [d["latency_max_s"] for d in queue["days"]],
                        "median": [d["latency_median_s"] for d in queue["days"]],
                    },
                    y_label="seconds",
                )
                if days
                else message("Nothing graded lately."),
                "from submission to grade, per day",
            )
        )
    outbox = got["outbox"]
    if isinstance(outbox, Refused) and outbox.status == 404:
        cards.append(
            card(
                "Failed LMS grade sends",
                message("LTI is off on this campus: no grade goes to an LMS."),
            )
        )
    elif isinstance(outbox, Exception):
        cards.append(card("Failed LMS grade sends", _refused(outbox)))
    else:
        figures.append(("failed LMS sends", len(outbox)))
        cards.append(
            card(
                "Failed LMS grade sends",
                table(
                    ["student", "what", "attempts", "last error"],
                    [
                        (
                            i.get("user") or i.get("student"),
                            i.get("kind"),
                            i.get("attempts"),
                            i.get("last_error") or i.get("error"),
                        )
                        for i in outbox[:200]
                    ],
                )
                if outbox
                else message("None: every grade reached its LMS."),
            )
        )
    return w.VBox([head, tiles(figures), w.GridBox(cards, layout=GRID)])
