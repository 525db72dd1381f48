"""The grader's IPython kernels talk over one socket (pipekernel.py) instead of ZeroMQ: a
notebook's outputs are those of IPython's own kernel, cell by cell.

The same notebook runs through nbclient twice: on the stock kernel (`python -m
ipykernel_launcher`, ZeroMQ, started by jupyter_client) and on a sandbox kernel of the local
runner. Streams (Python's and the file descriptors'), results, rich displays, errors and
their tracebacks, input refused, top-level await and a running event loop, SystemExit,
the execution counts and user expressions must agree; what a child process writes to the
descriptor is shown in its cell (IPython's kernel forwards it too late for nbclient).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest
from nbclient import NotebookClient

from nbcampus.grader.autograde import kernel_spec
from nbcampus.grader.sandbox.base import Limits
from nbcampus.grader.sandbox.local import BubblewrapRunner

CELLS = [
    "print('to stdout')\nimport sys\nprint('to stderr', file=sys.stderr)",
    "6 * 7",
    "from IPython.display import HTML, display\ndisplay(HTML('<b>bold</b>'))",
    "def fib(n):\n    return n\n\nassert fib(10) == 55",
    "input('name? ')",
    "import os\nos.system('echo from the descriptor')",
    "!echo from a shell escape",
    "import asyncio\nawait asyncio.sleep(0)\nprint('awaited')",
    "asyncio.run(asyncio.sleep(0))",
    "1 / 0",
    "raise SystemExit(3)",
    "print('after the exit', fib(2))",
    "for i in range(3):\n    print(i, end=' ')",
    "import helper_beside_the_notebook\nhelper_beside_the_notebook.ANSWER",
]
# A module shipped beside the notebook (its folder is on the import path, as in stock).
HELPER = ("helper_beside_the_notebook.py", "ANSWER = 42\n")

FD_CELL = 5  # what a child process writes to the descriptor

# The compiler names a cell's file after the kernel's process and temporary folder.
KERNEL_FILE = re.compile(r"\S*ipykernel_\d+/")
# Where Python's and the packages' files are: IPython writes a path under $HOME as ~/…, and
# the sandbox has a home of its own (its /tmp, where a CI checkout's virtualenv may be too).
INSTALL_FOLDER = re.compile(r"[~/]\S*?/(site-packages|python3\.\d+)/")


def _paths_alike(text: str) -> str:
    return INSTALL_FOLDER.sub(r"\1/", KERNEL_FILE.sub("ipykernel/", text))


def _outputs(nb: nbformat.NotebookNode) -> list[list[tuple]]:
    """Per cell: its outputs, consecutive stream text of one name joined (how a kernel
    splits a stream into messages is timing), folders and process ids made alike."""
    cells = []
    for cell in nb.cells:
        outs: list[tuple] = []
        for out in cell.outputs:
            kind = out["output_type"]
            if kind == "stream":
                text = _paths_alike(out["text"])
                if outs and outs[-1][:2] == ("stream", out["name"]):
                    outs[-1] = ("stream", out["name"], outs[-1][2] + text)
                else:
                    outs.append(("stream", out["name"], text))
            elif kind == "error":
                tb = [_paths_alike(line) for line in out["traceback"]]
                outs.append(("error", out["ename"], out["evalue"], tuple(tb)))
            else:
                outs.append((kind, tuple(sorted(out["data"].items()))))
        cells.append([cell.execution_count, *outs])
    return cells


def _notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return nb


@pytest.fixture(scope="module")
def runner() -> Iterator[BubblewrapRunner]:
    r = BubblewrapRunner(slots=1, prestart_max=0)
    r.start()
    yield r
    r.stop()


def test_a_notebook_shows_the_same_outputs_as_on_ipythons_own_kernel(runner, tmp_path) -> None:
    (tmp_path / HELPER[0]).write_text(HELPER[1])
    stock = _notebook()
    NotebookClient(stock, kernel_name="python3", timeout=60, allow_errors=True).execute(
        cwd=str(tmp_path)
    )

    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / HELPER[0]).write_text(HELPER[1])
    ours = _notebook()
    with runner.run(sub, None, Limits()) as session:
        spec = kernel_spec("python3")
        kernel = session.start_kernel(spec)
        assert kernel.wire is not None  # the socket kernel, not ZeroMQ
        NotebookClient(ours, km=kernel, timeout=60, allow_errors=True).execute()

    got, want = _outputs(ours), _outputs(stock)
    for index, (g, w) in enumerate(zip(got, want, strict=True)):
        if index == FD_CELL:
            # IPython's kernel reads the descriptor in a thread of its own, and what it reads
            # arrives after the cell's reply (nbclient has moved on by then): here it lands
            # in the cell that wrote it.
            assert g == [w[0], ("stream", "stdout", "from the descriptor\n"), *w[1:]], g
            continue
        assert g == w, f"cell {index}: {CELLS[index]!r}"
    # The cells this is about did what they do on IPython's kernel.
    assert want[3][1][1] == "AssertionError"
    assert want[4][1][1] == "StdinNotImplementedError"
    assert want[FD_CELL][1] == ("execute_result", (("text/plain", "0"),))
    assert want[8][1][1] == "RuntimeError"  # asyncio.run inside the kernel's running loop
    assert ("stream", "stdout", "after the exit 2\n") in want[11]
    assert want[13][1] == ("execute_result", (("text/plain", "42"),))


def test_requests_behind_a_failed_one_are_aborted_and_the_next_one_runs(runner, tmp_path) -> None:
    """As on IPython's kernel (stop_on_error): a request already waiting behind one that
    failed is answered "aborted"; one sent after the failure's reply runs."""
    sub = tmp_path / "sub"
    sub.mkdir()
    with runner.run(sub, None, Limits()) as session:
        kernel = session.start_kernel(kernel_spec("python3"))
        kc = kernel.client()

        async def run() -> tuple[str, str, str]:
            kc.start_channels()
            await kc.wait_for_ready(timeout=60)
            failing, waiting = kc.execute("1 / 0"), kc.execute("print('waited')")
            status: dict[str, str] = {}
            while len(status) < 2:
                msg = await kc.shell_channel.get_msg(timeout=60)
                status[msg["parent_header"]["msg_id"]] = msg["content"]["status"]
            after = kc.execute("print('after')")
            msg = await kc.shell_channel.get_msg(timeout=60)
            assert msg["parent_header"]["msg_id"] == after
            return status[failing], status[waiting], msg["content"]["status"]

        try:
            # In a thread of its own: an event loop this process's tests left running in the
            # main thread (the suite's Hub fixtures) would refuse asyncio.run here.
            with ThreadPoolExecutor(1) as pool:
                got = pool.submit(asyncio.run, run()).result(timeout=120)
            assert got == ("error", "aborted", "ok")
        finally:
            kc.stop_channels()


# User expressions as the tamper checks use them (a str, signed) and what else a request may
# ask: the socket kernel formats a plain str itself, everything else through IPython.
EXPRESSIONS = {
    "plain": "'a|b|' + 'c' * 3",
    "quotes": '"it\'s \\"quoted\\"\\n\\ttabbed é ✓"',
    "long": "'x' * 300 + '|' + 'y' * 300",
    "number": "6 * 7",
    "subclass": "type('Rich', (str,), {'_repr_html_': lambda self: '<b>rich</b>'})('r')",
    "failing": "1 / 0",
}
SET_UP = "import sys"


def _user_expressions_stock() -> dict:
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        reply = kc.execute(SET_UP, user_expressions=EXPRESSIONS, reply=True, timeout=60)
        return reply["content"]["user_expressions"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_user_expressions_answer_as_on_ipythons_own_kernel(runner, tmp_path) -> None:
    with ThreadPoolExecutor(1) as pool:  # its own event loops, away from the suite's
        want = pool.submit(_user_expressions_stock).result(timeout=120)
    sub = tmp_path / "sub"
    sub.mkdir()
    with runner.run(sub, None, Limits()) as session:
        kernel = session.start_kernel(kernel_spec("python3"))
        kc = kernel.client()

        async def run() -> dict:
            kc.start_channels()
            await kc.wait_for_ready(timeout=60)
            msg_id = kc.execute(SET_UP, user_expressions=EXPRESSIONS)
            while True:
                msg = await kc.shell_channel.get_msg(timeout=60)
                if msg["parent_header"]["msg_id"] == msg_id:
                    return msg["content"]["user_expressions"]

        try:
            with ThreadPoolExecutor(1) as pool:
                got = pool.submit(asyncio.run, run()).result(timeout=120)
        finally:
            kc.stop_channels()
    for key in ("plain", "quotes", "long", "number"):
        assert got[key] == want[key], key
    assert got["subclass"]["data"] == want["subclass"]["data"]
    assert want["subclass"]["data"]["text/html"] == "<b>rich</b>"  # not taken for a plain str
    assert got["failing"]["ename"] == want["failing"]["ename"] == "ZeroDivisionError"
    assert want["long"]["data"] == {"text/plain": repr("x" * 300 + "|" + "y" * 300)}
