"""The C kernel through jupyter_client: state, errors, streams, input, limits, editor help."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil
import pytest

from nbcampus.ckernel.toolchain import strip_ansi

from .conftest import CKernel


def test_functions_and_globals_persist_across_cells(ckernel: CKernel) -> None:
    first = ckernel.run(
        "#include <stdio.h>\nint visits = 0;\nint twice(int x) { return 2 * x; }\nvisits++;"
    )
    assert first.status == "ok", first.traceback
    second = ckernel.run('visits += twice(3);\nprintf("visits=%d\\n", visits);')
    assert second.status == "ok", second.traceback
    assert second.stdout == "visits=7\n"
    third = ckernel.run('printf("%d\\n", visits);')
    assert third.stdout == "7\n"


def test_redefinition_reaches_callers_compiled_earlier(ckernel: CKernel) -> None:
    ckernel.run("int base(int x) { return x + 1; }")
    ckernel.run("int wrapper(int x) { return base(x) * 10; }")
    assert ckernel.run('printf("%d\\n", wrapper(1));').stdout == "20\n"
    fixed = ckernel.run("int base(int x) { return x + 2; }")
    assert fixed.status == "ok", fixed.traceback
    # wrapper was compiled before the fix and still sees the new base().
    assert ckernel.run('printf("%d\\n", wrapper(1));').stdout == "30\n"


def test_rerunning_a_global_definition_resets_the_same_variable(ckernel: CKernel) -> None:
    ckernel.run("int tally = 0;")
    ckernel.run("void count_up(int n) { tally += n; }")
    ckernel.run("count_up(5);")
    assert ckernel.run('printf("%d\\n", tally);').stdout == "5\n"
    ckernel.run("int tally = 0;")  # the student re-runs the definition to reset it
    ckernel.run("count_up(2);")
    assert ckernel.run('printf("%d\\n", tally);').stdout == "2\n"


def test_types_macros_and_enums_carry_over_and_can_change(ckernel: CKernel) -> None:
    made = ckernel.run(
        "#define SCALE 3\n"
        "typedef struct pt { int x, y; } pt;\n"
        "enum colour { RED, GREEN, BLUE };\n"
        "pt make_pt(int x, int y) { pt p = {x * SCALE, y}; return p; }"
    )
    assert made.status == "ok", made.traceback
    used = ckernel.run('pt p = make_pt(2, 5);\nprintf("%d %d %d\\n", p.x, p.y, BLUE);')
    assert used.stdout == "6 5 2\n", used.traceback
    changed = ckernel.run("struct pt { int x, y, z; };")
    assert changed.status == "ok", changed.traceback
    after = ckernel.run('pt q = {1, 2, 3};\nprintf("%d %zu\\n", q.z, sizeof(pt));')
    assert after.status == "ok", after.traceback
    assert after.stdout == f"3 {3 * 4}\n"


def test_global_with_a_computed_initializer(ckernel: CKernel) -> None:
    ckernel.run("int cube(int x) { return x * x * x; }")
    cell = ckernel.run('int volume = cube(3) + 1;\nprintf("%d\\n", volume);')
    assert cell.status == "ok", cell.traceback
    assert cell.stdout == "28\n"


def test_a_cell_may_be_a_whole_program(ckernel: CKernel) -> None:
    program = ckernel.run(
        "//%args alpha beta\n#include <stdio.h>\n"
        "int main(int argc, char **argv) {\n"
        '  printf("%d %s %s\\n", argc, argv[1], argv[2]);\n  return 0;\n}'
    )
    assert program.status == "ok", program.traceback
    assert program.stdout == "3 alpha beta\n"
    failing = ckernel.run("int main(void) { return 3; }")
    assert failing.status == "error"
    assert failing.ename == "NonZeroExit"
    assert "status 3" in failing.evalue


def test_compile_error_names_the_cells_own_line(ckernel: CKernel) -> None:
    cell = ckernel.run("int ok_one = 1;\n\nint broken(void) {\n  return missing_name;\n}")
    assert cell.status == "error"
    assert cell.reply["ename"] == cell.ename == "CompileError"
    assert cell.evalue.startswith("line 4:"), cell.evalue
    assert "missing_name" in cell.evalue
    assert "return missing_name;" in cell.traceback  # gcc quotes the cell's own line
    # Nothing of a cell that did not compile is defined.
    assert ckernel.run("int check = broken();").ename == "LinkError"


def test_warnings_are_shown(ckernel: CKernel) -> None:
    cell = ckernel.run("int shaky(int x) { if (x) return 1; }")
    assert cell.status == "ok"
    assert "warning" in cell.stderr and "shaky" in cell.stderr
    assert cell.stderr.startswith("line 1")


def test_failed_assert_is_an_error_and_keeps_the_state(ckernel: CKernel) -> None:
    ckernel.run("#include <assert.h>\nint kept = 41;\nint inc(int x) { return x + 1; }")
    cell = ckernel.run('printf("before\\n");\nassert(inc(kept) == 41);\nprintf("after\\n");')
    assert cell.status == "error"
    assert cell.ename == "AssertionError"
    assert "inc(kept) == 41" in cell.evalue
    assert "line 2" in cell.traceback
    assert cell.stdout == "before\n"
    assert ckernel.run('printf("%d\\n", inc(kept));').stdout == "42\n"


def test_segfault_restarts_the_runner_and_reloads_definitions(ckernel: CKernel) -> None:
    ckernel.run("int survivor(void) { return 99; }\nint value_kept = 5;")
    ckernel.run("value_kept = 6;")
    cell = ckernel.run(
        'int poke(int *p) { return *p; }\nprintf("partial");\nprintf(" line\\n");\npoke(0);'
    )
    assert cell.status == "error"
    assert cell.ename == "SegmentationFault"
    assert "poke()" in cell.evalue and "NULL" in cell.evalue
    assert "restarted" in cell.traceback
    assert cell.stdout == "partial line\n"  # printed before the crash, not lost
    after = ckernel.run('printf("%d %d\\n", survivor(), value_kept);')
    assert after.status == "ok", after.traceback
    assert after.stdout == "99 5\n"  # functions back; globals at their initial values


@pytest.mark.parametrize(
    ("code", "ename", "fragment"),
    [
        ("#include <stdlib.h>\nabort();", "Abort", "abort"),
        ("#include <stdlib.h>\nexit(2);", "NonZeroExit", "status 2"),
        ("int zero = 0;\nint quotient = 7 / zero;", "ZeroDivisionError", "division by zero"),
        ("int down(int n) { return down(n + 1) + 1; }\ndown(0);", "StackOverflow", "down()"),
        ("int nothing(void) { }\nnothing();", "MissingReturnError", "nothing()"),
    ],
)
def test_runtime_failures_have_clear_names(
    ckernel: CKernel, code: str, ename: str, fragment: str
) -> None:
    cell = ckernel.run(code)
    assert cell.status == "error"
    assert cell.ename == ename, cell.traceback
    assert fragment in cell.evalue


def test_exit_zero_ends_the_cell_quietly(ckernel: CKernel) -> None:
    cell = ckernel.run('#include <stdlib.h>\nprintf("one\\n");\nexit(0);\nprintf("two\\n");')
    assert cell.status == "ok"
    assert cell.stdout == "one\n"


def test_time_limit_stops_an_endless_loop(ckernel: CKernel) -> None:
    ckernel.run("int loops_kept(void) { return 7; }")
    cell = ckernel.run('printf("start\\n");\nwhile (1) { }')
    assert cell.status == "error"
    assert cell.ename == "TimeoutError"
    assert "2 s" in cell.evalue
    assert cell.stdout == "start\n"
    assert 1.9 < cell.seconds < 10
    assert ckernel.run('printf("%d\\n", loops_kept());').stdout == "7\n"


def test_a_cell_can_set_its_own_time_limit(ckernel: CKernel) -> None:
    cell = ckernel.run("//%timeout 0.5\nwhile (1) { }")
    assert cell.ename == "TimeoutError"
    assert cell.seconds < 1.9


def test_interrupt_from_the_lab(ckernel: CKernel) -> None:
    msg_id = ckernel.kc.execute("//%timeout 60\nwhile (1) { }")
    time.sleep(0.5)
    started = time.monotonic()
    ckernel.km.interrupt_kernel()
    while True:
        reply = ckernel.kc.get_shell_msg(timeout=10)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    assert time.monotonic() - started < 5
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert ckernel.run('printf("alive\\n");').stdout == "alive\n"


def test_scanf_reads_through_input_requests(ckernel: CKernel) -> None:
    cell = ckernel.run(
        "int a, b;\n"
        'printf("two numbers: ");\n'
        'scanf("%d", &a);\nscanf("%d", &b);\n'
        'printf("sum %d\\n", a + b);',
        inputs=["20", "22"],
    )
    assert cell.status == "ok", cell.traceback
    assert cell.stdout == "two numbers: sum 42\n"


def test_reading_without_a_frontend_that_gives_input_sees_end_of_file(ckernel: CKernel) -> None:
    cell = ckernel.run('int got = scanf("%d", &got);\nprintf("%d\\n", got);')
    assert cell.status == "ok"
    assert cell.stdout == "-1\n"


def test_cflags_magic(ckernel: CKernel) -> None:
    cell = ckernel.run(
        '//%cflags -lm -DFACTOR=3\n#include <math.h>\nprintf("%.3f %d\\n", sqrt(2.0), FACTOR);'
    )
    assert cell.status == "ok", cell.traceback
    assert cell.stdout == "1.414 3\n"


def test_stdout_and_stderr_keep_their_order(ckernel: CKernel) -> None:
    cell = ckernel.run(
        'printf("out 1\\n");\nfprintf(stderr, "err 1\\n");\n'
        'printf("out 2\\n");\nfprintf(stderr, "err 2\\n");'
    )
    assert [name for name, _ in cell.streams] == ["stdout", "stderr", "stdout", "stderr"]
    assert "".join(text for _, text in cell.streams) == "out 1\nerr 1\nout 2\nerr 2\n"


def test_output_flood_is_truncated_with_a_note(ckernel: CKernel) -> None:
    cell = ckernel.run('for (int i = 0; i < 200000; i++) printf("line %d\\n", i);')
    assert cell.status == "ok"
    assert len(cell.stdout) <= 20000
    assert cell.stdout.startswith("line 0\nline 1\n")
    assert "output truncated" in cell.stderr
    assert cell.seconds < 10


def test_gnu_c_that_tcc_lacks_is_compiled_by_gcc(ckernel: CKernel) -> None:
    cell = ckernel.run(
        '__int128 big(void) { return (__int128)1 << 100; }\nprintf("%d\\n", (int)(big() >> 98));'
    )
    assert cell.status == "ok", cell.traceback
    assert cell.stdout == "4\n"


def test_compiler_gcc_magic_shows_gccs_warnings(ckernel: CKernel) -> None:
    cell = ckernel.run('//%compiler gcc\nprintf("%d\\n", 2.5);')
    assert cell.status == "ok", cell.traceback
    assert "format" in cell.stderr


def test_completion_offers_names_from_earlier_cells(ckernel: CKernel) -> None:
    ckernel.run("int completion_target(int x) { return x; }\ndouble completion_total = 0;")
    reply = ckernel.request("complete", "int r = completion_t", len("int r = completion_t"))
    assert reply["status"] == "ok"
    assert {"completion_target", "completion_total"} <= set(reply["matches"])
    assert reply["cursor_start"] == len("int r = ")
    header = ckernel.request("complete", "#include <std", len("#include <std"))
    assert "stdio.h" in header["matches"]


def test_inspect_shows_a_declaration(ckernel: CKernel) -> None:
    ckernel.run("long inspect_me(int a, int b) { return a + b; }")
    reply = ckernel.request("inspect", "inspect_me(1, 2)", 3)
    assert reply["found"] is True
    assert "long inspect_me ( int a , int b )" in reply["data"]["text/plain"]


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("int f(void) {", "incomplete"),
        ("int x = (1 +", "incomplete"),
        ("/* still open", "incomplete"),
        ("int x = 1;", "complete"),
        ("int f(void) { return 1; }", "complete"),
        ("}", "invalid"),
    ],
)
def test_is_complete(ckernel: CKernel, code: str, status: str) -> None:
    assert ckernel.request("is_complete", code)["status"] == status


def test_restart_forgets_everything(fresh_ckernel: CKernel) -> None:
    fresh_ckernel.run("int forgotten = 3;")
    fresh_ckernel.km.restart_kernel(now=True)
    fresh_ckernel.kc.wait_for_ready(timeout=60)
    cell = fresh_ckernel.run('printf("%d\\n", forgotten);')
    assert cell.status == "error"
    assert cell.ename == "CompileError"


def test_the_runner_dies_with_the_kernel(fresh_ckernel: CKernel) -> None:
    msg_id = fresh_ckernel.kc.execute("//%timeout 60\nwhile (1) { }")
    assert msg_id
    time.sleep(0.5)
    kernel = psutil.Process(fresh_ckernel.km.provisioner.process.pid)
    runners = [p for p in kernel.children() if p.name().startswith("nbc-runner")]
    assert len(runners) == 1
    os.kill(kernel.pid, signal.SIGKILL)
    gone, alive = psutil.wait_procs(runners, timeout=5)
    assert not alive


def test_memory_is_limited_for_the_cells_only(ckernel: CKernel) -> None:
    # The runner has an address-space limit (2 GiB by default), so a huge allocation
    # fails inside the program instead of exhausting the student's server.
    cell = ckernel.run(
        "#include <stdlib.h>\n"
        "char *huge = malloc(3UL << 30);\n"
        'printf("%s\\n", huge == NULL ? "refused" : "granted");'
    )
    assert cell.status == "ok", cell.traceback
    assert cell.stdout == "refused\n"


def test_gcc_warnings_option(jupyter_data: Path, tmp_path: Path) -> None:
    kernel = CKernel(jupyter_data, tmp_path, env={"NBCAMPUS_CKERNEL_GCC_WARNINGS": "1"})
    try:
        cell = kernel.run('#include <stdio.h>\nint unused_here = 0;\nprintf("%d\\n", 2.5);')
        assert cell.status == "ok", cell.traceback
        assert "line 3:" in strip_ansi(cell.stderr) and "format" in cell.stderr
    finally:
        kernel.close()


def test_gcc_errors_stop_c_that_tcc_would_run(jupyter_data: Path, tmp_path: Path) -> None:
    # tcc accepts both; gcc rejects them, so the cell must not run, and gcc's error names
    # the cell's own line.
    kernel = CKernel(jupyter_data, tmp_path)
    try:
        cell = kernel.run('int square(int x) { return x * x }\nprintf("ran %d\\n", square(3));')
        assert cell.status == "error" and cell.ename == "CompileError", cell
        assert "ran" not in cell.stdout
        assert cell.evalue.startswith("line 1:") and "expected" in cell.evalue, cell.evalue
        assert "line 1:" in cell.traceback and "error" in cell.traceback
        assert "<generated>" not in cell.traceback and "__nbc" not in cell.traceback
        cell = kernel.run('double half(void) { return "0.5"; }\nprintf("%f\\n", half());')
        assert cell.status == "error" and cell.ename == "CompileError", cell
        assert cell.evalue.startswith("line 1:") and "double" in cell.evalue, cell.evalue
        # the rejected definitions never entered the program: fixed, they work
        cell = kernel.run('int square(int x) { return x * x; }\nprintf("%d\\n", square(3));')
        assert cell.status == "ok" and cell.stdout == "9\n", cell.traceback
        # an error in a later cell still names that cell's line
        cell = kernel.run('int y = 1;\nint z = y +;\nprintf("%d\\n", z);')
        assert cell.status == "error" and cell.evalue.startswith("line 2:"), cell.evalue
    finally:
        kernel.close()


def test_gcc_warnings_at_wall_by_default(jupyter_data: Path, tmp_path: Path) -> None:
    kernel = CKernel(jupyter_data, tmp_path)
    try:
        kernel.run("#include <stdio.h>")
        cell = kernel.run('long n = 3;\nint unused_one;\nprintf("%d\\n", n);\nprintf("ok\\n");')
        assert cell.status == "ok", cell.traceback  # a warning does not stop the cell
        assert cell.stdout.endswith("ok\n")
        err = strip_ansi(cell.stderr)
        assert "line 3:" in err and "warning" in err and "format" in err, err
        assert "-Wformat" in err and "unit" not in err and "__nbc" not in err
        # a warning inside a function names the function and the cell's line
        cell = kernel.run("int twice(int v) {\n  int unused_here = v;\n  return 2 * v;\n}")
        assert cell.status == "ok", cell.traceback
        err = strip_ansi(cell.stderr)
        assert "In function ‘twice’" in err and "line 2:" in err, err
        assert "-Wunused-variable" in err, err
    finally:
        kernel.close()


def test_gcc_check_can_be_turned_off(jupyter_data: Path, tmp_path: Path) -> None:
    kernel = CKernel(jupyter_data, tmp_path, env={"NBCAMPUS_CKERNEL_GCC_WARNINGS": "0"})
    try:
        cell = kernel.run('#include <stdio.h>\nint n = 3;\nprintf("%s\\n", n ? "x" : "y");')
        assert cell.status == "ok" and cell.stderr == "", cell.traceback
    finally:
        kernel.close()


def test_a_header_next_to_the_notebook_can_be_included(jupyter_data: Path, tmp_path: Path) -> None:
    (tmp_path / "shapes.h").write_text("#define SIDES 4\nint perimeter(int side);\n")
    kernel = CKernel(jupyter_data, tmp_path)
    try:
        cell = kernel.run(
            '#include "shapes.h"\nint perimeter(int side) { return SIDES * side; }\n'
            'printf("%d\\n", perimeter(3));'
        )
        assert cell.status == "ok", cell.traceback
        assert cell.stdout == "12\n"
    finally:
        kernel.close()


def test_interrupt_while_waiting_for_input(ckernel: CKernel) -> None:
    msg_id = ckernel.kc.execute('int never;\nscanf("%d", &never);', allow_stdin=True)
    request = ckernel.kc.get_stdin_msg(timeout=10)
    assert request["msg_type"] == "input_request"
    ckernel.km.interrupt_kernel()
    while True:
        reply = ckernel.kc.get_shell_msg(timeout=10)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert ckernel.run('printf("ready\\n");').stdout == "ready\n"


def test_output_arrives_while_the_cell_is_still_running(ckernel: CKernel) -> None:
    msg_id = ckernel.kc.execute(
        "#include <stdio.h>\n#include <unistd.h>\n"
        'printf("first\\n");\nfflush(stdout);\nsleep(1);\nprintf("second\\n");'
    )
    started = time.monotonic()
    while True:
        msg = ckernel.kc.get_iopub_msg(timeout=10)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
            break
    assert msg["content"]["text"] == "first\n"
    assert time.monotonic() - started < 0.8  # not held back until the cell ends
    ckernel.kc.get_shell_msg(timeout=10)


def test_a_prototype_lets_a_function_be_defined_in_a_later_cell(ckernel: CKernel) -> None:
    first = ckernel.run(
        "int is_odd(int n);\nint is_even(int n) { return n == 0 ? 1 : is_odd(n - 1); }"
    )
    assert first.status == "ok", first.traceback
    early = ckernel.run("int early = is_even(3);")
    assert early.ename == "UndefinedFunctionError"
    assert "is_odd()" in early.evalue
    ckernel.run("int is_odd(int n) { return n == 0 ? 0 : is_even(n - 1); }")
    cell = ckernel.run('printf("%d %d\\n", is_even(10), is_even(7));')
    assert cell.status == "ok", cell.traceback
    assert cell.stdout == "1 0\n"
