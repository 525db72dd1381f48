"""Tamper checks around every autograder test cell (issue 19, item 2).

A test cell counts only when the grader can show it ran as written, to its end, in the
student's state. Student code runs in the same Python process as the tests, so the grader
takes a snapshot of everything that decides how a cell runs, before any student cell ran,
and around each graded test cell compares the kernel against it and puts back what differs:

- IPython's input transformers (`input_transformers_cleanup`, `input_transformers_post`, the
  transformer manager's lists, the manager and `compile` objects themselves) and
  `ast_transformers`;
- `run_cell`, `run_cell_async`, `run_ast_nodes`, `run_code`, `transform_cell`, ... on the
  shell (instance and classes), the kernel's `do_execute`/`execute_request` and its session's
  `send` (a patched `send` could rewrite replies);
- custom exception handlers (`set_custom_exc`), `showtraceback` and the traceback printers;
- event hooks (`pre_run_cell`, `post_run_cell`, ...) other than IPython's, ipykernel's and
  matplotlib's own (an ordinary `%matplotlib inline` or `%autoreload` registers those);
- `sys.settrace`, `sys.setprofile` (also caught while the test runs, by an audit hook, which
  Python never lets code remove) and `sys.excepthook`;
- every builtin that existed at kernel start.

The check runs through the kernel's `user_expressions` (evaluated directly, never through the
student's transformers or `run_cell`), is asked with a fresh secret per cell and must answer
with it; a check that does not answer is itself a finding. While the test cell runs, a
grader-owned AST transformer makes its last statement call a marker with that secret: a test
whose reply says "ok" but whose marker did not run did not run to its end.

A test cell with any finding scores zero (its outputs become one `TamperingDetected` error,
which nbgrader scores as a failed test) and the finding goes into the result's `tampering`
list, shown to the instructor in the grading view. Findings are fixed channel names, never
text the student's code chose.

This is a check inside the process the student's code controls: it covers the channels above
and what they were seen doing, not a student who first finds and rewrites the guard itself
(for that, the test would have to run in a process the student's code never touched).
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import hmac
import inspect
import secrets
import textwrap
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import nbformat
from IPython.core.inputtransformer2 import TransformerManager
from nbgrader.utils import is_grade, is_solution

TAMPER_ENAME = "TamperingDetected"
BLOCKED = "the grader's check was blocked (run_cell or the kernel patched)"
INCOMPLETE = "the test did not run to its end"
REWRITTEN = "the test did not run as written"

# Kernel side: prepares the guard and returns its claim, which puts it in builtins under a
# per-kernel random name with a per-kernel key; all of it runs before any student cell.
_KERNEL_CODE = r"""
def __nbcampus_guard_prepare():
    import ast, builtins, hashlib, os, sys
    import importlib.util

    # Bound now, before any student code: later replacements of these module attributes
    # (a lying sys.gettrace, a spying hashlib) never reach the guard. Its builtins are a copy
    # taken now too (the globals it is run in).
    gettrace, getprofile, settrace, setprofile = (
        sys.gettrace, sys.getprofile, sys.settrace, sys.setprofile)
    sha256, AST = hashlib.sha256, ast.AST
    ast_Call, ast_Name, ast_Load, ast_Constant, ast_Expr, ast_Module = (
        ast.Call, ast.Name, ast.Load, ast.Constant, ast.Expr, ast.Module)
    copy_location, fix_missing_locations = ast.copy_location, ast.fix_missing_locations
    # The guard's name in builtins and its key, given once by claim() below.
    secret = {}

    # HMAC-SHA256 of each report: a report rewritten on its way out (a display formatter, a
    # patched user_expressions, do_execute or session) no longer verifies.
    def sign(text):
        inner = secret["inner"].copy()
        inner.update(text.encode())
        outer = secret["outer"].copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    state = {"armed": False, "self": False, "audit": set(), "marked": None, "asked": set()}
    BLOCKED = {blocked!r}

    def _pkg_dir(mod):
        try:
            spec = importlib.util.find_spec(mod)
        except Exception:
            return None
        if spec is None or not spec.submodule_search_locations:
            return None
        return os.path.realpath(list(spec.submodule_search_locations)[0]) + os.sep

    trusted_dirs = [d for d in map(_pkg_dir, ("IPython", "ipykernel", "matplotlib_inline",
                                             "matplotlib", "traitlets")) if d]

    def trusted(cb):
        fn = getattr(cb, "__func__", cb)
        code = getattr(fn, "__code__", None)
        if code is None:
            return False
        path = os.path.realpath(code.co_filename)
        return any(path.startswith(d) for d in trusted_dirs) and os.path.isfile(path)

    methods = {
        # IPython puts shell.excepthook in sys.excepthook while a cell runs (and puts back the
        # previous one after it, undoing a cell's own `sys.excepthook = ...`).
        "sys.excepthook": ("excepthook",),
        "run_cell": ("run_cell", "run_cell_async", "_run_cell", "run_ast_nodes", "run_code",
                     "should_run_async", "transform_cell", "transform_ast", "user_expressions",
                     "_format_user_obj", "ev", "ex", "do_execute", "execute_request", "send",
                     "_publish_execute_input", "_publish_status", "dispatch_shell",
                     "process_one", "dispatch_queue", "deserialize", "feed_identities"),
        # The compiler object stays the same one, but a patched method of its class could
        # compile other code than the checked syntax tree (the asserts taken out).
        "compile": ("__call__", "ast_parse", "cache", "reset_compiler_flags"),
        "showtraceback": ("showtraceback", "_showtraceback", "showsyntaxerror",
                          "showindentationerror", "get_exception_only", "structured_traceback"),
    }
    owners = [o for o in (shell, kernel, getattr(kernel, "session", None), shell.compile)
              if o is not None]
    method_snap = []  # (channel, holder dict owner, name, original or None)
    for channel, names in methods.items():
        for obj in owners:
            for n in names:
                method_snap.append((channel, obj, n, obj.__dict__.get(n)))
                for cls in type(obj).__mro__:
                    method_snap.append((channel, cls, n, cls.__dict__.get(n)))
                    if n in cls.__dict__:
                        break  # classes after the one that defines it change nothing
    attr_snap = []  # (channel, obj, attr, original)
    for channel, obj, attr in (
        ("input transformers", shell, "input_transformer_manager"),
        ("input transformers", shell, "compile"),
        ("event hooks", shell, "events"),
        ("showtraceback", shell, "InteractiveTB"),
        ("showtraceback", shell, "SyntaxTB"),
        ("custom exception handlers", shell, "CustomTB"),
        ("custom exception handlers", shell, "custom_exceptions"),
    ):
        if hasattr(obj, attr):
            attr_snap.append((channel, obj, attr, getattr(obj, attr)))
    itm = shell.input_transformer_manager
    list_snap = []  # (channel, obj, attr, contents)
    for channel, obj, attr in (
        ("input transformers", shell, "input_transformers_cleanup"),
        ("input transformers", shell, "input_transformers_post"),
        ("input transformers", itm, "cleanup_transforms"),
        ("input transformers", itm, "line_transforms"),
        ("input transformers", itm, "token_transformers"),
        ("AST transformers", shell, "ast_transformers"),
    ):
        value = getattr(obj, attr, None)
        if isinstance(value, list):
            list_snap.append((channel, obj, attr, list(value)))
    events = shell.events.callbacks
    events_snap = {k: list(v) for k, v in events.items()}
    # The kernel's own table of request handlers (a replaced entry sees every request first).
    handler_snap = [(h, dict(h)) for h in (getattr(kernel, "shell_handlers", None),
                                           getattr(kernel, "control_handlers", None))
                    if isinstance(h, dict)]
    sys_snap = {}  # taken by snap(): run_code swaps sys.excepthook while a cell runs
    # The reports come back formatted by IPython's display formatter: its text/plain part as
    # it was at kernel start (a report that does not verify is a blocked check anyway).
    _plain = shell.display_formatter.formatters["text/plain"]
    fmt_snap = {"display": shell.display_formatter, "plain": _plain,
                "type_printers": dict(_plain.type_printers),
                "deferred_printers": dict(_plain.deferred_printers)}
    builtins_snap = {}

    def audit(event, args):
        if state["armed"] and not state["self"] and event in ("sys.settrace", "sys.setprofile"):
            state["audit"].add("sys.settrace")

    sys.addaudithook(audit)

    MISSING = object()

    def check():
        seen = set()
        state["self"] = True
        try:
            for channel, holder, n, orig in method_snap:
                d = holder.__dict__
                now = d.get(n)
                if now is not orig:
                    seen.add(channel)
                    try:
                        if orig is None:
                            delattr(holder, n)
                        else:
                            setattr(holder, n, orig)
                    except Exception:
                        pass
            for channel, obj, attr, orig in attr_snap:
                now = getattr(obj, attr, MISSING)
                if now is not orig and now != orig:
                    seen.add(channel)
                    try:
                        setattr(obj, attr, orig)
                    except Exception:
                        pass
            for channel, obj, attr, contents in list_snap:
                now = getattr(obj, attr, None)
                if not isinstance(now, list):
                    seen.add(channel)
                    try:
                        setattr(obj, attr, list(contents))
                    except Exception:
                        pass
                elif len(now) != len(contents) or any(a is not b for a, b in zip(now, contents)):
                    seen.add(channel)
                    now[:] = contents
            for table, orig in handler_snap:
                if len(table) != len(orig) or any(table.get(k) is not v for k, v in orig.items()):
                    seen.add("run_cell")
                    table.clear()
                    table.update(orig)
            cbs = shell.events.callbacks
            for event in set(cbs) | set(events_snap):
                orig = events_snap.get(event, [])
                now = cbs.get(event)
                if not isinstance(now, list):
                    seen.add("event hooks")
                    cbs[event] = list(orig)
                    continue
                extra = [cb for cb in now if not any(cb is o for o in orig)]
                bad = [cb for cb in extra if not trusted(cb)]
                if bad:
                    seen.add("event hooks")
                kept = [cb for cb in now if not any(cb is b for b in bad)]
                for o in orig:
                    if not any(o is cb for cb in kept):
                        kept.append(o)
                now[:] = kept
            trace, profile = gettrace(), getprofile()
            if trace is not sys_snap["trace"] or profile is not sys_snap["profile"]:
                seen.add("sys.settrace")
                settrace(sys_snap["trace"])
                setprofile(sys_snap["profile"])
            if sys.excepthook is not sys_snap["excepthook"]:
                seen.add("sys.excepthook")
                sys.excepthook = sys_snap["excepthook"]
            df = getattr(shell, "display_formatter", None)
            if df is not fmt_snap["display"]:
                seen.add("display formatters")
                shell.display_formatter = df = fmt_snap["display"]
            if df.formatters.get("text/plain") is not fmt_snap["plain"]:
                seen.add("display formatters")
                df.formatters["text/plain"] = fmt_snap["plain"]
            plain = fmt_snap["plain"]
            if not plain.enabled:
                seen.add("display formatters")
                plain.enabled = True
            deferred = (("builtins", "str"), ("builtins", "object"))
            for attr, keys in (("type_printers", (str, object)), ("deferred_printers", deferred)):
                table, orig = getattr(plain, attr), fmt_snap[attr]
                for k in keys:
                    if table.get(k, MISSING) is not orig.get(k, MISSING):
                        seen.add("display formatters")
                        if k in orig:
                            table[k] = orig[k]
                        else:
                            table.pop(k, None)
            current = builtins.__dict__
            for k, v in builtins_snap.items():
                if current.get(k, MISSING) is not v:
                    seen.add("builtins")
                    current[k] = v
        finally:
            state["self"] = False
        return seen

{fingerprint}

    class Marker(ast.NodeTransformer):
        nonce = ""

        def visit(self, node):
            if not isinstance(node, ast_Module):
                return node
            # What is about to run, as the grader will compute it from the cell it sent: a
            # request rewritten on its way in (session, shell handlers) runs other code.
            fp = fingerprint(node, AST, sha256)
            call = lambda *args: ast_Call(
                func=ast_Name(id=secret["name"] + "_mark", ctx=ast_Load()),
                args=[ast_Constant(self.nonce), ast_Constant(fp), *args], keywords=[])
            if node.body and isinstance(node.body[-1], ast_Expr):
                last = node.body[-1]
                last.value = copy_location(call(last.value), last.value)
            else:
                line = node.body[-1].end_lineno if node.body else 1
                stmt = ast_Expr(call())
                stmt.lineno = stmt.end_lineno = line
                stmt.col_offset = stmt.end_col_offset = 0
                node.body.append(stmt)
            return fix_missing_locations(node)

    marker = Marker()

    def mark(nonce, fp, *value):
        state["marked"] = (nonce, fp)
        return value[0] if value else None

    class Guard:
        def snap(self, nonce):
            builtins_snap.update(builtins.__dict__)
            sys_snap.update(
                trace=sys.gettrace(), profile=sys.getprofile(), excepthook=sys.excepthook
            )
            for k in ("_", "__", "___"):
                builtins_snap.pop(k, None)
            state["asked"].add(nonce)
            return self.report(nonce, [])

        def report(self, nonce, seen, marked=False, fp=""):
            text = "|".join([nonce, "1" if marked else "0", fp, "\t".join(sorted(seen))])
            return text + "|" + sign(text)

        def before(self, nonce):
            seen = check()
            state["before"] = (nonce, sorted(seen))
            state["audit"].clear()
            state["marked"] = None
            marker.nonce = nonce
            shell.ast_transformers.append(marker)
            state["armed"] = True
            return self.report(nonce, seen)

        def after(self, nonce):
            state["armed"] = False
            lst = shell.ast_transformers
            if isinstance(lst, list):
                lst[:] = [t for t in lst if t is not marker]
            seen = check() | state["audit"]
            state["audit"].clear()
            ran, before = state.pop("before", (None, []))
            if ran != nonce:  # the check before the test never ran
                seen.add(BLOCKED)
            got = state["marked"]
            marked = got is not None and got[0] == nonce
            fp = got[1] if marked else ""
            return self.report(nonce, seen | set(before), marked, fp)

    def claim(name, key):
        # Once: the guard takes its name and key and goes into builtins under that name.
        if secret:
            raise RuntimeError("the guard is set up once")
        key = key.encode().ljust(64, b"\0")
        secret.update(name=name, inner=sha256(bytes(b ^ 0x36 for b in key)),
                      outer=sha256(bytes(b ^ 0x5C for b in key)))
        builtins.__dict__[name] = Guard()
        builtins.__dict__[name + "_mark"] = mark

    return claim


def __nbcampus_guard_setup(name, key):
    __nbcampus_guard_prepare()(name, key)

"""


def fingerprint(node, node_type, sha256):  # no annotations: also run in the kernel
    """A digest of a module's syntax tree (node types, fields and values; no positions).

    The same function runs in the kernel (on what is about to run, its source sent along with
    the guard's) and in the grader (on the test cell it sent), each with its own `ast.AST` and
    `hashlib.sha256`."""
    out: list[str] = []
    todo = [node]
    while todo:
        n = todo.pop()
        if isinstance(n, node_type):
            out.append(type(n).__name__)
            todo.extend(reversed([getattr(n, f, None) for f in n._fields]))
        elif isinstance(n, list):
            out.append("[" + str(len(n)))
            todo.extend(reversed(n))
        else:
            out.append(repr(n))
    digest = sha256()
    digest.update("\x00".join(out).encode())
    return digest.hexdigest()


_FINGERPRINT_SOURCE = textwrap.indent(inspect.getsource(fingerprint), "    ")
# The guard's kernel code, the same for every kernel (its name and key are given to the
# claim), the file name it is compiled under and the function that prepares it: what a
# sandbox may run ahead, before the fork (KernelSpec.prepare).
GUARD_CODE = _KERNEL_CODE.replace("{blocked!r}", repr(BLOCKED)).replace(
    "{fingerprint}", _FINGERPRINT_SOURCE
)
GUARD_FILE = "<nbcampus-guard>"
GUARD_ENTRY = "__nbcampus_guard_prepare"
_TRANSFORMER = TransformerManager()


def expected_fingerprint(source: str) -> str | None:
    """What the kernel's fingerprint of a test cell run as written is (None: not Python the
    grader can parse; the test then fails on its own)."""
    try:
        tree = ast.parse(_TRANSFORMER.transform_cell(source))
    except (SyntaxError, ValueError, TypeError):
        return None
    return fingerprint(tree, ast.AST, hashlib.sha256)


class Guard:
    """The grader's side of the checks for one kernel: what to send and what came back."""

    def __init__(self) -> None:
        self.name = "_nbcampus_" + secrets.token_hex(8)
        self.key = secrets.token_hex(32)  # signs the kernel's reports (HMAC-SHA256)
        self.active = False
        self.findings: list[dict[str, Any]] = []

    def setup_request(self) -> tuple[str, str, str]:
        """The set-up as one user expression of an empty cell: it runs the guard's code
        (in a namespace of its own), sets it up under this guard's name and key, and then
        takes the snapshot.

        Sent as a cell, the guard's code went through IPython's input transformers and AST
        pipeline, which cost a fresh kernel more than 20 ms of CPU; compiled directly it
        costs a few (4 ms, and as much again to take the snapshots). A sandbox's socket
        kernel finds the guard prepared by its fork server from this same code, before the
        fork (KernelSpec.prepare): it only claims it, with this guard's name and key.
        Nothing of the student's has run in the kernel yet, so what it finds there is the
        fork server's, and a claim is taken out of `prepared` and works once."""
        nonce = secrets.token_hex(16)
        namespace = (
            "{'get_ipython': __import__('IPython').get_ipython, "
            "'__builtins__': dict(__import__('builtins').__dict__)}"
        )
        # What the fork server prepared from this very code before the fork (its claim), or
        # None: then the code is compiled and run here.
        prepared = (
            "getattr(__import__('sys').modules.get('pipekernel'), 'prepared', {})"
            ".pop((file, src, entry), None)"
        )
        name_key = f"({self.name!r}, {self.key!r})"
        code = (
            f"(lambda b, file, src, entry, ns: (lambda claim: claim{name_key} if claim else "
            f"(b.exec(b.compile(src, file, 'exec'), ns), ns['__nbcampus_guard_setup']{name_key}))"
            f"({prepared}))(__import__('builtins'), {GUARD_FILE!r}, {GUARD_CODE!r}, "
            f"{GUARD_ENTRY!r}, {namespace})"
        )
        return "", f"({code}, {self._expr('snap', nonce)})[1]", nonce

    def expr(self, step: str, nonce: str) -> str:
        return self._expr(step, nonce)

    def _expr(self, step: str, nonce: str) -> str:
        return f"__import__('builtins').{self.name}.{step}({nonce!r})"

    def parse(
        self, reply: dict[str, Any] | None, nonce: str, key: str = "r"
    ) -> dict[str, Any] | None:
        """The guard's answer in an execute_reply (user expression `key`), or None if it did
        not answer with the nonce, signed with this guard's key."""
        try:
            content = reply["content"] if reply else {}
            if content.get("status") != "ok":
                return None
            value = content["user_expressions"][key]
            if value.get("status") != "ok":
                return None
            text = ast.literal_eval(value["data"]["text/plain"])
            body, _, mac = text.rpartition("|")
            got_nonce, marked, fp, seen = body.split("|")
        except (KeyError, TypeError, ValueError, SyntaxError, AttributeError, MemoryError):
            return None
        good = hmac.new(self.key.encode(), body.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(mac, good) or got_nonce != nonce:
            return None
        return {
            "nonce": got_nonce,
            "marked": marked == "1",
            "fingerprint": fp,
            "seen": seen.split("\t") if seen else [],
        }


def tamper_output(seen: list[str]) -> nbformat.NotebookNode:
    text = "the grader saw this test's run tampered with: " + ", ".join(seen)
    return nbformat.v4.new_output(
        "error", ename=TAMPER_ENAME, evalue=text, traceback=[f"{TAMPER_ENAME}: {text}"]
    )


def _send(ex: Any, code: str, expr: str) -> str:
    """A silent execute_request (no history, no events, no outputs in the notebook)."""
    return ex.kc.execute(
        code, silent=True, store_history=False, user_expressions={"r": expr}, allow_stdin=False
    )


async def _request(ex: Any, code: str, expr: str) -> dict[str, Any] | None:
    return await ex.async_wait_for_reply(_send(ex, code, expr))


@contextlib.contextmanager
def _with_checks(ex: Any, exprs: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
    """While a cell runs: its execute request carries `exprs` as user expressions (a kernel
    evaluates them in order once the cell has run, before its reply, and none after a cell
    that failed), and its execute_reply is collected (nbclient hands it only to
    `on_cell_executed`)."""
    replies: list[dict[str, Any]] = []
    if not exprs:
        yield replies
        return
    kc, hook = ex.kc, ex.on_cell_executed
    execute = kc.execute
    own = kc.__dict__.get("execute")

    def restore() -> None:
        if own is None:
            kc.__dict__.pop("execute", None)
        else:
            kc.execute = own

    def execute_with_checks(code: str, **kwargs: Any) -> str:
        kwargs["user_expressions"] = {**(kwargs.get("user_expressions") or {}), **exprs}
        restore()  # this cell's request only
        return execute(code, **kwargs)

    def collect(**kwargs: Any) -> Any:
        replies.append(kwargs.get("execute_reply"))
        return hook(**kwargs) if hook is not None else None

    kc.execute = execute_with_checks
    ex.on_cell_executed = collect
    try:
        yield replies
    finally:
        restore()
        ex.on_cell_executed = hook


def guarded(cell: Any) -> bool:
    """Whether a cell is a test cell: run between the guard's checks."""
    return cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)


async def run_guarded(
    ex: Any,
    guard: Guard,
    cell: nbformat.NotebookNode,
    run: Callable[[], Awaitable[nbformat.NotebookNode]],
    next_cell: nbformat.NotebookNode | None = None,
) -> nbformat.NotebookNode:
    """Run one cell through `run`; a graded test cell between the guard's two checks.

    `next_cell` is the cell that will run after this one (None: none, or not known). When it
    is a test cell, the check before it rides on this cell's request, right after this cell
    ran: nothing else runs in the kernel in between, as with a request of its own.

    The guard is set up before the first cell of the kernel (no student code has run yet);
    a kernel that does not answer it (not IPython: the C kernel) runs unguarded."""
    if not getattr(guard, "tried", False):
        guard.tried = True  # type: ignore[attr-defined]
        code, expr, nonce = guard.setup_request()
        guard.active = guard.parse(await _request(ex, code, expr), nonce) is not None
    if not guard.active:
        return await run()
    # The check before this test, if the previous cell's request made it: (cell, nonce).
    armed, guard.armed = getattr(guard, "armed", None), None  # type: ignore[attr-defined]
    exprs: dict[str, str] = {}
    test = guarded(cell)
    nonce = ""
    if test:
        if armed is not None and armed[0] is cell:
            nonce = armed[1]
        else:
            nonce = secrets.token_hex(16)
            # Not waited for (the kernel answers requests in order; nbclient drops the
            # reply): the check after the test reports both, saving a round trip.
            _send(ex, "", guard.expr("before", nonce))
        exprs["r"] = guard.expr("after", nonce)
    upcoming = next_cell if next_cell is not None and guarded(next_cell) else None
    next_nonce = secrets.token_hex(16)
    if upcoming is not None:
        exprs["b"] = guard.expr("before", next_nonce)
    with _with_checks(ex, exprs) as replies:
        result = await run()
    reply = replies[0] if replies else None
    if upcoming is not None and guard.parse(reply, next_nonce, "b") is not None:
        guard.armed = (upcoming, next_nonce)  # type: ignore[attr-defined]
    if not test:
        return result
    after = guard.parse(reply, nonce)
    if after is None:  # the test failed (no user expressions then), or the check was blocked
        guard.armed = None  # type: ignore[attr-defined]  # this request ends what was armed
        after = guard.parse(await _request(ex, "", exprs["r"]), nonce)
    seen: set[str] = set()
    if after is None:
        seen.add(BLOCKED)
    else:
        seen.update(str(s) for s in after.get("seen", []))
    failed = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
    if after is not None and not after.get("marked") and not failed:
        seen.add(INCOMPLETE)
    if (
        after is not None
        and after.get("marked")
        and after.get("fingerprint")
        != (expected_fingerprint(cell.source) or after.get("fingerprint"))
    ):
        seen.add(REWRITTEN)
    if seen:
        cell.outputs = [tamper_output(sorted(seen))]
        guard.findings.append(
            {"cell": cell.metadata["nbgrader"].get("grade_id"), "seen": sorted(seen)}
        )
    return result
