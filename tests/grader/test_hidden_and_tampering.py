"""Issue 19, items 1 and 2: hidden tests never reach the student, tampering is caught.

One assignment of its own: an answer cell, a visible test, a test with a hidden part holding
SECRET, and a visible test after it. Each leak channel is a student notebook whose own cells
try to get the hidden test's source out (IPython's history, the history manager, event hooks,
linecache from inside the student's function, error messages), plain, base64 and reversed;
the hidden source must appear in none of what the student receives (feedback HTML, the result
JSON, the student's copy of the outputs) while the instructor's graded copy shows the attack
was real. Each tampering channel is a wrong answer plus the tampering: no marks, and the
result's `tampering` names the channel. An ordinary notebook using IPython is never flagged.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from pathlib import Path

import nbformat
import pytest

from nbcampus.grader.autograde import Autograder, generate_assignment
from nbcampus.grader.feedback import render_feedback, store_graded
from nbcampus.grader.sandbox.base import Limits

from .notebooks import source_notebook, student_version, write

SECRET = "HIDDEN-ZQ7-PLUM"
HIDDEN_LINE = f"assert add(-1, 1) == 0, {SECRET!r}"
TESTS = [
    ("t_visible", "assert add(1, 2) == 3", 1.0),
    (
        "t_hidden",
        f"assert add(2, 2) == 4\n### BEGIN HIDDEN TESTS\n{HIDDEN_LINE}\n### END HIDDEN TESTS",
        2.0,
    ),
    ("t_after", "assert add(5, 5) == 10", 1.0),
]
RIGHT = "def add(a, b):\n    return a + b"
WRONG = "def add(a, b):\n    return a - b"


@pytest.fixture(scope="module")
def course(tmp_path_factory, runner) -> tuple[Path, Autograder, Path]:
    root = tmp_path_factory.mktemp("hidden") / "course"
    write(source_notebook(RIGHT, TESTS), root / "source" / "a1" / "add.ipynb")
    generate_assignment(root, "c1", "a1")
    return root, Autograder(root, "c1", runner), tmp_path_factory.mktemp("subs")


def grade(course, student: str, answer: str, before: list[str] = (), after: list[str] = ()):
    """Grade a notebook: the answer, `before` cells, the released tests, `after` cells."""
    root, grader, subs = course
    nb = student_version(root / "release" / "a1" / "add.ipynb", answer)
    cells = [nbformat.v4.new_code_cell(src) for src in before]
    nb.cells[1:1] = cells
    nb.cells.extend(nbformat.v4.new_code_cell(src) for src in after)
    sub = write(nb, subs / student / "add.ipynb").parent
    result = grader.grade("a1", student, sub, None, Limits())
    store_graded(root, "a1", student, f"uid-{student}", result.notebooks)
    html = render_feedback(root, "c1", "a1", student, "add")
    return result, html


def _decodings(text: str) -> list[str]:
    out = [text, text[::-1]]
    for blob in re.findall(r"[A-Za-z0-9+/]{16,}={0,2}", text):
        for start in range(4):
            part = blob[start:]
            part = part[: len(part) - len(part) % 4] if not part.endswith("=") else part
            try:
                raw = base64.b64decode(part).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                continue
            out += [raw, raw[::-1]]
    return out


def leaks(text: str) -> bool:
    """Does the text hold the hidden test, plain, reversed or base64-encoded (either way)?"""
    return any(SECRET in t or "add(-1, 1)" in t for t in _decodings(text))


def student_receives(result, html: str) -> list[str]:
    nb = result.notebooks[0]
    shown = nb.feedback if nb.feedback is not None else nb.notebook
    return [html, json.dumps(result.public()), json.dumps(shown)]


def assert_no_leak(result, html: str) -> None:
    for text in student_receives(result, html):
        assert not leaks(text)
    # The instructor's graded copy: the attack did get the hidden source out there.
    assert leaks(json.dumps(result.notebooks[0].notebook))


def test_scores_and_pass_fail_stay(course) -> None:
    result, html = grade(course, "plain", RIGHT)
    assert result.score == 4.0 and not result.public()["tampering"]
    result, html = grade(course, "partial", "def add(a, b):\n    return a + b if a >= 0 else 7")
    assert result.score == 2.0  # t_hidden fails only in its hidden part
    tests = {t["name"]: t for t in result.public()["notebooks"][0]["tests"]}
    assert tests["t_hidden"]["passed"] is False and tests["t_hidden"]["error"] == "HiddenTestFailed"
    assert "a hidden test failed" in html and not leaks(html)


def test_history_in_and_ih(course) -> None:
    spy = [
        "import base64\nprint(base64.b64encode(repr(In).encode()).decode())",
        "print(repr(_ih)[::-1])",
        "print(In[-3])",
        "print('my own ' + 'output')",
    ]
    result, html = grade(course, "spy_in", RIGHT, after=spy)
    assert_no_leak(result, html)
    assert "my own output" in html  # the student's own outputs are shown


def test_history_manager(course) -> None:
    spy = [
        "import base64\nhm = get_ipython().history_manager\n"
        "print(base64.b64encode(repr(hm.input_hist_raw).encode()).decode())\n"
        "print(base64.b64encode(repr(list(hm.get_range(raw=True))).encode()).decode())\n"
        "print(repr(hm.input_hist_parsed)[::-1])"
    ]
    result, html = grade(course, "spy_hm", RIGHT, after=spy)
    assert_no_leak(result, html)


def test_pre_and_post_run_cell_hooks(course) -> None:
    hooks = (
        "import base64\nseen = []\n"
        "def pre(info):\n    seen.append(info.raw_cell)\n"
        "    print(base64.b64encode(info.raw_cell.encode()).decode())\n"
        "def post(result):\n    print(result.info.raw_cell[::-1])\n"
        "get_ipython().events.register('pre_run_cell', pre)\n"
        "get_ipython().events.register('post_run_cell', post)"
    )
    result, html = grade(
        course,
        "spy_hooks",
        RIGHT,
        before=[hooks],
        after=["print(base64.b64encode(repr(seen).encode()).decode())"],
    )
    assert_no_leak(result, html)


def test_linecache_from_the_students_function_and_error_messages(course) -> None:
    answer = (
        "import base64, linecache, sys\ngot = []\n"
        "def add(a, b):\n"
        "    f = sys._getframe(1)\n"
        "    got.append(''.join(linecache.getlines(f.f_code.co_filename)))\n"
        "    if a == 5:\n"
        "        raise ValueError(base64.b64encode(repr(got).encode()).decode())\n"
        "    return a + b"
    )
    after = ["raise RuntimeError(repr(got)[::-1])", "print(base64.b64encode(str(got).encode()))"]
    result, html = grade(course, "spy_frames", answer, after=after)
    assert_no_leak(result, html)
    tests = {t["name"]: t for t in result.public()["notebooks"][0]["tests"]}
    assert tests["t_after"]["error"] == "ValueError"  # the visible run's message, shown
    assert tests["t_after"]["message"]


def tampered(course, student: str, cell: str, answer: str = WRONG):
    result, _ = grade(course, student, answer, before=[cell])
    tests = {t["name"]: t for t in result.public()["notebooks"][0]["tests"]}
    seen = {s for f in result.public()["tampering"] for s in f["seen"]}
    return result, tests, seen


@pytest.mark.parametrize(
    ("channel", "cell"),
    [
        (
            "input transformers",
            "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])",
        ),
        (
            "AST transformers",
            "import ast\nclass Empty(ast.NodeTransformer):\n"
            "    def visit(self, node):\n        return ast.Module(body=[], type_ignores=[])\n"
            "get_ipython().ast_transformers.append(Empty())",
        ),
        (
            "run_cell",
            "ip = get_ipython()\nreal = ip.run_cell_async\n"
            "async def fake(raw_cell, *a, **k):\n    return await real('pass', *a, **k)\n"
            "def fake_sync(raw_cell, *a, **k):\n    return type(ip).run_cell(ip, 'pass', *a, **k)\n"
            "ip.run_cell_async = fake\nip.run_cell = fake_sync",
        ),
        (
            "custom exception handlers",
            "get_ipython().set_custom_exc((AssertionError,), lambda *a, **k: None)",
        ),
        ("showtraceback", "get_ipython().showtraceback = lambda *a, **k: None"),
        (
            "event hooks",
            "def ok(result):\n    result.error_in_exec = None\n"
            "get_ipython().events.register('post_run_cell', ok)",
        ),
        (
            "sys.excepthook",
            "import sys\nsys.excepthook = lambda *a: None\n"
            "get_ipython().excepthook = lambda *a: None",
        ),
        ("builtins", "import builtins\nbuiltins.sum = lambda *a: 0"),
        ("sys.settrace", "import sys\nsys.settrace(lambda *a: None)"),
    ],
)
def test_tampering_is_caught(course, channel: str, cell: str) -> None:
    student = "t_" + re.sub(r"\W", "_", channel)
    result, tests, seen = tampered(course, student, cell)
    assert channel in seen
    assert tests["t_visible"]["passed"] is False and tests["t_visible"]["score"] == 0
    assert tests["t_visible"]["error"] == "TamperingDetected"
    assert result.score == 0.0


def test_settrace_while_the_test_runs(course) -> None:
    answer = "import sys\ndef add(a, b):\n    sys.settrace(None)\n    return a + b"
    result, tests, seen = tampered(course, "t_trace_inside", "x = 1", answer=answer)
    assert "sys.settrace" in seen and tests["t_visible"]["score"] == 0


def test_a_right_answer_caught_tampering_scores_zero_on_the_test(course) -> None:
    cell = "get_ipython().input_transformers_cleanup.append(lambda lines: lines)"
    result, tests, seen = tampered(course, "t_right", cell, answer=RIGHT)
    assert seen == {"input transformers"}
    assert tests["t_visible"]["score"] == 0 and tests["t_hidden"]["score"] == 2.0
    # ... the transformer was taken out before the first test: the later tests ran as written.
    assert [f["cell"] for f in result.public()["tampering"]] == ["t_visible"]


def test_ordinary_ipython_is_never_flagged(course) -> None:
    cells = [
        "%timeit -n 1 -r 1 add(1, 2)",
        "%time add(1, 2)",
        "from IPython.display import display, HTML, Markdown\n"
        "display(HTML('<b>bold</b>'))\ndisplay(Markdown('*x*'))\nadd(3, 4)",
        "%%capture captured\nprint('quiet')",
        "%load_ext autoreload\n%autoreload 2",
        "%who",
        "import sys, builtins\nprint(In[-1], _ih[-2], len(Out))\n1 + 1",
        "try:\n    assert False\nexcept AssertionError:\n    pass",
    ]
    after = ["raise ValueError('a student cell may fail')", "print(add(1, 1))"]
    result, html = grade(course, "ordinary", RIGHT, before=cells, after=after)
    assert result.public()["tampering"] == []
    assert result.score == 4.0
    assert "<b>bold</b>" in html


def test_the_grading_view_flags_tampering(course) -> None:
    """The instructor's submission page and assignment table show what the grader saw."""
    from types import SimpleNamespace

    from tornado.template import Loader

    import nbcampus.grader as grader_pkg

    result, tests, seen = tampered(
        course, "t_view", "get_ipython().showtraceback = lambda *a, **k: None"
    )
    sub = SimpleNamespace(
        result=json.loads(json.dumps(result.public())),
        submitted_at=__import__("datetime").datetime(2026, 1, 1),
        late_penalty=0.0,
    )
    loader = Loader(str(Path(grader_pkg.__file__).parent / "templates"))
    common = {
        "link": lambda *parts: "/".join(parts),
        "static_url": lambda path: path,
        "user": "teacher",
        "course": "c1",
        "assignment": "a1",
    }
    page = loader.load("grading/submission.html").generate(
        **common,
        student="t_view",
        uid="uid-t_view",
        submission=sub,
        notebooks=[],
        prev_student=None,
        next_student=None,
        total=0.0,
        max_total=4.0,
        api="/api",
        xsrf="x",
        # No rubric, comment, line note or extension (grader/handlers/rubric.py page_aids).
        aids={
            "rubrics": {},
            "marked": {},
            "bank": [],
            "notes": {},
            "extension": None,
            "due_at": None,
            "assignment_due": None,
        },
    )
    text = page.decode()
    assert "tampering" in text and "showtraceback" in text and "t_visible" in text
    row = {
        "student": "t_view",
        "submitted_at": sub.submitted_at,
        "status": "graded",
        "count": 1,
        "tampering": True,
    }
    table = loader.load("grading/assignment.html").generate(**common, students=[row], grades={})
    assert '<span class="flag">tampering</span>' in table.decode()


def test_a_run_silent_after_the_hidden_tests_needs_no_second_run(course, monkeypatch) -> None:
    """Outputs all made before the first hidden test reached the kernel are shown as they are."""
    import nbcampus.grader.hidden as hidden

    runs = []
    real = hidden.run_visible
    monkeypatch.setattr(hidden, "run_visible", lambda *a, **k: runs.append(1) or real(*a, **k))
    result, html = grade(course, "quiet", RIGHT, before=["print('early ' + 'bird')"])
    assert runs == [] and result.score == 4.0
    assert "early bird" in html and "hidden tests: their code is not shown" in html
    assert not leaks(html) and not leaks(json.dumps(result.notebooks[0].feedback))
    # One output after the hidden test: the second run gives what the student sees.
    result, html = grade(course, "late", RIGHT, after=["print('late ' + 'bird')"])
    assert runs == [1] and "late bird" in html and not leaks(html)


# Every test cell's request is rewritten on its way in, before IPython sees it: what runs is
# `pass`, which no snapshot of IPython's own state shows.
REWRITE_REQUESTS = (
    "import inspect\n"
    "kernel = get_ipython().kernel\n"
    "real = kernel.shell_handlers['execute_request']\n"
    "async def rewrite(stream, ident, msg):\n"
    "    if 'assert add' in msg['content'].get('code', ''):\n"
    "        msg['content']['code'] = 'pass'\n"
    "    result = real(stream, ident, msg)\n"
    "    return await result if inspect.isawaitable(result) else result\n"
    "kernel.shell_handlers['execute_request'] = rewrite"
)
# The same, one step earlier: the kernel reads each request from its socket (pipekernel.py's
# Wire), and a patched reader hands it `pass` for every test.
REWRITE_UNPACKED = (
    "wire = get_ipython().kernel.session.wire\n"
    "real_recv = wire.recv\n"
    "async def recv():\n"
    "    msg = await real_recv()\n"
    "    if msg and 'assert add' in str(msg['content'].get('code', '')):\n"
    "        msg['content']['code'] = 'pass'\n"
    "    return msg\n"
    "wire.recv = recv"
)
# A text/plain formatter for str rewrites every report the guard sends back (the nonce is in
# the string it formats) to "nothing seen, ran to its end", in either report format.
REWRITE_REPORTS = (
    "import re\n"
    "def honest_looking(s, p, cycle):\n"
    "    s = re.sub(r'\"seen\": \\[[^\\]]*\\]', '\"seen\": []', s)\n"
    "    s = s.replace('\"marked\": false', '\"marked\": true')\n"
    "    parts = s.split('|')\n"
    "    if len(parts) == 5:\n"
    "        parts[1], parts[3] = '1', ''\n"
    "    p.text(repr('|'.join(parts)))\n"
    "get_ipython().display_formatter.formatters['text/plain'].for_type(str, honest_looking)"
)


def test_a_request_rewritten_on_its_way_in_is_caught(course) -> None:
    result, tests, seen = tampered(course, "t_rewrite", REWRITE_UNPACKED)
    assert "the test did not run as written" in seen
    assert tests["t_visible"]["score"] == 0 and tests["t_visible"]["error"] == "TamperingDetected"
    assert result.score == 0.0


def test_a_display_formatter_cannot_rewrite_the_reports(course) -> None:
    cell = REWRITE_UNPACKED + "\n" + REWRITE_REPORTS
    result, tests, seen = tampered(course, "t_formatter", cell)
    assert tests["t_visible"]["score"] == 0 and tests["t_visible"]["error"] == "TamperingDetected"
    assert result.score == 0.0
    assert seen  # what was seen reached the grader (a rewritten report does not verify)


def test_a_display_formatter_alone_is_put_back_and_named(course) -> None:
    result, tests, seen = tampered(course, "t_formatter_only", REWRITE_REPORTS, RIGHT)
    assert seen == {"display formatters"}
    assert tests["t_hidden"]["score"] == 2.0  # put back before the first test: the rest count


@pytest.mark.parametrize(
    ("student", "channel", "cell"),
    [
        # The compiler's class compiles the syntax tree without its asserts.
        (
            "t_compiler",
            "compile",
            "import ast\nfrom IPython.core.compilerop import CachingCompiler\n"
            "real = CachingCompiler.__call__\n"
            "def call(self, source, *args, **kwargs):\n"
            "    if isinstance(source, ast.Module):\n"
            "        source.body = [n for n in source.body if not isinstance(n, ast.Assert)]\n"
            "    return real(self, source, *args, **kwargs)\n"
            "CachingCompiler.__call__ = call",
        ),
        # A trace function, and a sys.gettrace that says there is none.
        (
            "t_lying_gettrace",
            "sys.settrace",
            "import sys\nsys.settrace(lambda *a: None)\nsys.gettrace = lambda: None",
        ),
        # The kernel's table of request handlers: the test's request is rewritten in it.
        ("t_handlers", "run_cell", REWRITE_REQUESTS),
    ],
)
def test_more_tampering_channels_are_caught(course, student: str, channel: str, cell: str) -> None:
    result, tests, seen = tampered(course, student, cell)
    assert channel in seen
    assert tests["t_visible"]["score"] == 0 and tests["t_visible"]["error"] == "TamperingDetected"
    assert result.score == 0.0


# The student's function, called by the hidden test, keeps what the kernel holds (IPython's
# history, with the hidden test in it) where a later kernel of the same sandbox could find it:
# a file in the scratch folder, and a process that outlives its kernel and writes it again.
KEEP = (
    "import subprocess, sys\n"
    "def add(a, b):\n"
    "    held = repr(get_ipython().user_ns['In'])\n"
    "    with open('/tmp/kept.txt', 'w') as f:\n"
    "        f.write(held)\n"
    "    again = 'import sys, time\\nfor _ in range(200):\\n'\n"
    '    again += \'    open("/tmp/again.txt", "w").write(sys.argv[1]); time.sleep(0.05)\'\n'
    "    subprocess.Popen([sys.executable, '-c', again, held], start_new_session=True)\n"
    "    return a + b"
)
# Before the answer: what a kernel finds there (in the graded run nothing yet).
FIND = (
    "import os, time\n"
    "time.sleep(0.3)\n"
    "for path in ('/tmp/kept.txt', '/tmp/again.txt'):\n"
    "    if os.path.exists(path):\n"
    "        print(path, open(path).read()[::-1])"
)
# After the tests: the graded run shows the kept copies exist (and forces the second run).
LEFT = (
    "import os, time\n"
    "time.sleep(0.5)\n"
    "print(sorted(p for p in ('/tmp/kept.txt', '/tmp/again.txt') if os.path.exists(p)))"
)


def test_what_the_graded_run_leaves_behind_never_reaches_the_student(course) -> None:
    result, html = grade(course, "keeper", KEEP, before=[FIND], after=[LEFT])
    graded = json.dumps(result.notebooks[0].notebook)
    assert "['/tmp/again.txt', '/tmp/kept.txt']" in graded  # the attack did keep its copies
    for text in student_receives(result, html):
        assert not leaks(text)
    assert result.notebooks[0].feedback["cells"][1]["outputs"] == []  # found nothing
    assert result.score == 4.0


# System V shared memory and message queues and POSIX message queues outlive every process
# and file of the sandbox: their calls are refused (seccomp.py).
IPC = (
    "import ctypes, ctypes.util, os\n"
    "libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)\n"
    "rt = ctypes.CDLL('librt.so.1', use_errno=True)\n"
    "for name, call in (\n"
    "    ('shmget', lambda: libc.shmget(0x5151, 4096, 0o1600)),\n"
    "    ('semget', lambda: libc.semget(0x5152, 1, 0o1600)),\n"
    "    ('msgget', lambda: libc.msgget(0x5153, 0o1600)),\n"
    "    ('mq_open', lambda: rt.mq_open(b'/kept', os.O_CREAT | os.O_RDWR, 0o600, None)),\n"
    "):\n"
    "    ctypes.set_errno(0)\n"
    "    print(name, call(), os.strerror(ctypes.get_errno()))"
)


def test_ipc_that_outlives_processes_is_refused(course) -> None:
    result, _html = grade(course, "ipc", RIGHT, before=[IPC])
    out = "".join(o.get("text", "") for o in result.notebooks[0].notebook["cells"][1]["outputs"])
    for name in ("shmget", "semget", "msgget", "mq_open"):
        assert f"{name} -1 Operation not permitted" in out, out
    assert result.score == 4.0
