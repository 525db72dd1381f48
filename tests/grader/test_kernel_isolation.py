"""Issue 19: one notebook's kernel can reach no later kernel of the same submission.

All kernels of a submission run as the slot's one user and share its scratch folder. Two
notebooks, graded in order: the first one's cells attack the second one's kernel before the
grader's guard is set up in it (a planted IPython startup file; the connection file, key and
sockets of a kernel forked ahead), and the second one prints whether the attack reached it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from nbcampus.grader.autograde import Autograder, generate_assignment
from nbcampus.grader.sandbox.base import Limits
from nbcampus.grader.sandbox.local import BubblewrapRunner

from .notebooks import ANSWER, TESTS, source_notebook, student_version, write

REACHED = "print('REACHED' if globals().get('PLANTED') else 'clean')"

# A startup file in every IPython folder the first kernel can find: it would run in a later
# kernel before anything of the grader's.
PLANT_STARTUP = """
import glob, os
dirs = {os.environ.get('IPYTHONDIR', ''), '/tmp/.ipython', os.path.expanduser('~/.ipython')}
dirs |= set(glob.glob('/tmp/**/.ipython', recursive=True))
for d in filter(None, dirs):
    try:
        os.makedirs(d + '/profile_default/startup', exist_ok=True)
        with open(d + '/profile_default/startup/00-plant.py', 'w') as f:
            f.write('PLANTED = True\\n')
    except OSError as err:
        print('refused', d, err.__class__.__name__)
"""

# Every kernel's connection file this kernel can read: its key lets it run code there (its own
# kernel, busy with this cell, times out).
DRIVE_OTHER_KERNELS = """
import glob, json, os
from jupyter_client import BlockingKernelClient
reached = 0
for path in glob.glob('/tmp/**/*.json', recursive=True):
    try:
        with open(path) as f:
            info = json.load(f)
        if 'shell_port' not in info:
            continue
        kc = BlockingKernelClient()
        kc.load_connection_info(info)
        kc.start_channels()
        kc.execute_interactive('PLANTED = True', timeout=3)
        kc.stop_channels()
        reached += 1
    except Exception as err:
        print('refused', path, err.__class__.__name__)
print('reached', reached)
"""


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Iterator[tuple[Path, Path]]:
    root = tmp_path_factory.mktemp("isolation") / "course"
    for name in ("a_first", "b_second"):
        write(source_notebook(ANSWER, TESTS), root / "source" / "a1" / f"{name}.ipynb")
    generate_assignment(root, "c1", "a1")
    yield root, tmp_path_factory.mktemp("subs")


def grade(root: Path, subs: Path, runner: BubblewrapRunner, student: str, attack: str):
    sub = subs / student
    for name, extra in (("a_first", attack), ("b_second", REACHED)):
        nb = student_version(root / "release" / "a1" / f"{name}.ipynb", ANSWER)
        nb.cells.append(nbformat.v4.new_code_cell(extra))
        write(nb, sub / f"{name}.ipynb")
    result = Autograder(root, "c1", runner).grade("a1", student, sub, None, Limits())
    second = next(n for n in result.notebooks if n.name == "b_second")
    shown = "".join(o.get("text", "") for c in second.notebook.cells for o in c.get("outputs", []))
    return result, shown


def grade_alone(root: Path, subs: Path, student: str, attack: str):
    """`grade` on a runner of its own with nothing forked ahead: the second notebook's kernel
    starts after the first one's cells ran."""
    runner = BubblewrapRunner(slots=1, prestart_max=0)
    runner.start()
    try:
        return grade(root, subs, runner, student, attack)
    finally:
        runner.stop()


def said_in_first(result) -> str:
    """What the first notebook's cells printed."""
    first = next(n for n in result.notebooks if n.name == "a_first")
    return "".join(o.get("text", "") for c in first.notebook.cells for o in c.get("outputs", []))


def test_a_startup_file_planted_by_one_notebook_never_runs_in_the_next(course) -> None:
    root, subs = course
    result, shown = grade_alone(root, subs, "planter", PLANT_STARTUP)
    assert "clean" in shown and "REACHED" not in shown
    assert result.score == 6.0


def test_a_kernel_forked_ahead_cannot_be_driven_by_another(course) -> None:
    root, subs = course
    runner = BubblewrapRunner(slots=1)
    runner.start()
    try:
        grade(root, subs, runner, "warm", "1")  # the next submission's kernels are forked ahead
        result, shown = grade(root, subs, runner, "driver", DRIVE_OTHER_KERNELS)
    finally:
        runner.stop()
    said = said_in_first(result)
    assert "reached 0" in said, said
    assert "clean" in shown and "REACHED" not in shown


def test_every_kernel_takes_its_own_copy_of_the_shell_made_before_the_fork(course) -> None:
    """The fork server makes the IPython shell once and every kernel forks a copy of it: the
    kernels of a submission (and of the next) run on that prepared shell, wired to themselves,
    and what one notebook's cells do to their shell never reaches the next kernel."""
    root, subs = course
    runner = BubblewrapRunner(slots=1, prestart_max=0)
    runner.start()
    try:
        shell_state = (
            "ip = get_ipython()\n"
            "print('kernel', type(ip.kernel).__name__, ip.kernel.shell is ip)\n"
            "print('magic', 'planted_magic' in ip.magics_manager.magics['line'])"
        )
        plant = (
            "PLANTED = True\n"
            "get_ipython().register_magic_function(lambda line: line, 'line', 'planted_magic')\n"
            + shell_state
        )
        result, shown = grade(root, subs, runner, "shell-a", plant)
        first = next(n for n in result.notebooks if n.name == "a_first")
        said = "".join(
            o.get("text", "") for c in first.notebook.cells for o in c.get("outputs", [])
        )
        # The first kernel runs on the prepared shell, and its own change is visible to itself.
        assert "kernel KernelOfPreparedShell True" in said, said
        assert "magic True" in said, said
        sub = subs / "shell-a"
        nb = nbformat.read(sub / "b_second.ipynb", as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(shell_state))
        write(nb, sub / "b_second.ipynb")
        result = Autograder(root, "c1", runner).grade("a1", "shell-a", sub, None, Limits())
    finally:
        runner.stop()
    second = next(n for n in result.notebooks if n.name == "b_second")
    shown = "".join(o.get("text", "") for c in second.notebook.cells for o in c.get("outputs", []))
    assert "clean" in shown and "REACHED" not in shown
    assert "kernel KernelOfPreparedShell True" in shown, shown
    assert "magic False" in shown, shown
    assert result.score == 6.0


# What the kernel and the fork server above it (found by its command line) may do as root.
CAPABILITIES = """
import glob
def caps(status):
    return {k: v.strip() for k, v in (line.split(':', 1) for line in status.splitlines())
            if k in ('CapPrm', 'CapEff', 'CapAmb')}
print('kernel', caps(open('/proc/self/status').read()))
for cmdline in glob.glob('/proc/[0-9]*/cmdline'):
    if b'zygote.py' in open(cmdline, 'rb').read():
        print('fork server', caps(open(cmdline[:-len('cmdline')] + 'status').read()))
"""


def test_kernels_hold_no_capability_and_the_fork_server_only_its_four(course) -> None:
    root, subs = course
    result, _shown = grade_alone(root, subs, "caps", CAPABILITIES)
    said = said_in_first(result)
    none = "0000000000000000"
    assert f"kernel {{'CapPrm': '{none}', 'CapEff': '{none}', 'CapAmb': '{none}'}}" in said, said
    # CAP_KILL (5), CAP_SETGID (6), CAP_SETUID (7), CAP_SYS_NICE (23): nothing else
    four = f"{(1 << 5) | (1 << 6) | (1 << 7) | (1 << 23):016x}"
    assert f"fork server {{'CapPrm': '{four}', 'CapEff': '{four}', 'CapAmb': '{four}'}}" in said
