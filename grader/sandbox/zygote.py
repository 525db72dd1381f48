"""The fork server that runs inside a grading sandbox (standard library only, plus preloads).

It is started once per sandbox slot, imports the kernel's modules (ipykernel, IPython, ...)
and then waits for requests on stdin, one JSON object per line:

  {"op": "spawn", "id": ..., "argv": [...], "env": {...}, "cwd": ..., "log": ...,
   "connection_file": ..., "limits": {...}}
  {"op": "signal", "id": ..., "pid": ..., "sig": ...}
  {"op": "renice", "id": ..., "pid": ..., "nice": ...}   a kernel's processes yield the CPU
  {"op": "reap", "id": ...}     kill every process of the sandbox user (between submissions)

and answers on stdout, also one JSON object per line: `{"id": ..., "pid": ...}` or
`{"id": ..., "ok": true}`, and `{"event": "exit", "pid": ..., "status": ...}` when a kernel ends.

A spawned kernel is a fork of this process: it drops to the sandbox's user, takes its rlimits
and runs the kernel module, so starting a kernel costs a fork instead of a Python start-up
and a second import of IPython. An IPython kernel whose request names a socket ("pipe")
connects to it while still root and runs as pipekernel.py's socket kernel, whose
application, kernel object and shell this process made once before the fork.
Every kernel is fresh: nothing of an earlier kernel's state survives in the fork server,
which never runs student code itself.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import runpy
import select
import signal
import socket
import sys

# The module an IPython kernel's command runs, whose shell this fork server can make once.
IPYTHON_LAUNCHER = "ipykernel_launcher"
# The kernel options the prepared shell was made with, and the kernel class that takes it.
_prepared: dict[str, object] = {}

RLIMITS = {
    "cpu": resource.RLIMIT_CPU,
    "as": resource.RLIMIT_AS,
    "nproc": resource.RLIMIT_NPROC,
    "fsize": resource.RLIMIT_FSIZE,
    "nofile": resource.RLIMIT_NOFILE,
    "core": resource.RLIMIT_CORE,
}


def reply(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def become_kernel(req: dict, uid: int) -> None:
    """In the forked child: confine, then run the kernel (never returns)."""
    try:
        os.setsid()
        # The connection file (its key above all) is the grader's: read it while still root
        # and hand it to the kernel as a memory file of its own.
        conn = req.get("connection_file")
        info = b""
        if conn:
            fd = os.open(conn, os.O_RDONLY | os.O_NOFOLLOW)
            st = os.fstat(fd)
            if st.st_uid != 0 or st.st_mode & 0o077:
                raise PermissionError(f"{conn} is not the grader's own")
            info = os.read(fd, 1 << 20)
            os.close(fd)
        # A socket kernel's line to the grader: connected while still root, since only root
        # may connect to the grader's socket file.
        wire = None
        if req.get("pipe"):
            wire = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            wire.connect(req["pipe"])
        for name, value in req.get("limits", {}).items():
            # Hard limit one above soft for CPU: SIGXCPU first, then SIGKILL.
            hard = value + 1 if name == "cpu" else value
            resource.setrlimit(RLIMITS[name], (value, hard))
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)  # drops every capability the fork server had
        # The kernel's log, made as the user in the kernel's folder (the user's own).
        log = os.open(req["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(null)
        os.close(log)
        os.chdir(req["cwd"])
        os.environ.clear()
        os.environ.update(req["env"])
        argv = req["argv"]
        if conn:
            mem = os.memfd_create("kernel-connection", 0)  # inherited by an exec'd kernel
            os.write(mem, info)
            argv = [a.replace(conn, f"/proc/self/fd/{mem}") for a in argv]
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        if len(argv) >= 3 and argv[1] == "-m" and os.path.basename(argv[0]).startswith("python"):
            sys.argv = [argv[2], *argv[3:]]
            sys.stdout = os.fdopen(1, "w", buffering=1)
            sys.stderr = os.fdopen(2, "w", buffering=1)
            sys.stdin = open(os.devnull)  # noqa: SIM115
            options = ipython_kernel_options(argv)
            if wire is not None:
                app = _prepared.get("pipe_app") if options == _prepared.get("options") else None
                if app is None:  # not prepared: made here, for this kernel alone
                    import pipekernel

                    app = pipekernel.prepare(argv[3:], None)
                app.start_kernel(wire)
            else:
                forget_prepared_kernel()
                runpy.run_module(argv[2], run_name="__main__", alter_sys=True)
            os._exit(0)
        os.execve(argv[0], argv, req["env"])  # noqa: S606 - a kernel command, no shell
    except SystemExit as exc:
        os._exit(exc.code if isinstance(exc.code, int) else 1)
    except BaseException as exc:  # noqa: BLE001 - the child must never return into the server
        try:
            os.write(2, f"kernel start failed: {exc!r}\n".encode())
        finally:
            os._exit(70)


def walk_modules_only_after_imports() -> None:
    """Make inspect.getmodule walk sys.modules again only once a module was imported since.

    Asked about a frame of a notebook cell (a file no module has), getmodule walked all of
    sys.modules (some 1,300 modules here) on every call, ten times a traceback: each walk
    touches every module object, and in a forked kernel touching copies the fork server's
    pages. Half of a failed test's traceback (13.5 ms of CPU in a fresh kernel) was that.
    The walk only fills the file-to-module caches with modules it has not seen; when
    nothing was imported since the last walk (same count, same newest name) it adds
    nothing and is skipped. The rest is inspect's own code, unchanged."""
    import inspect

    original = inspect.getmodule
    walked: list[tuple[int, str | None]] = []

    def imports() -> tuple[int, str | None]:
        modules = sys.modules
        return len(modules), next(reversed(modules.keys()), None)

    def getmodule(object, _filename=None):  # noqa: A002, ANN001, ANN202 - inspect's signature
        if inspect.ismodule(object) or hasattr(object, "__module__"):
            return original(object, _filename)
        if not walked or walked[0] != imports():
            result = original(object, _filename)
            walked[:] = [imports()]
            return result
        by_file = inspect.modulesbyfile
        if _filename is not None and _filename in by_file:
            return sys.modules.get(by_file[_filename])
        try:
            file = inspect.getabsfile(object, _filename)
        except (TypeError, FileNotFoundError):
            return None
        if file in by_file:
            return sys.modules.get(by_file[file])
        # inspect's own last steps: the main module, then builtins
        main = sys.modules["__main__"]
        if not hasattr(object, "__name__"):
            return None
        if getattr(main, object.__name__, None) is object:
            return main
        builtin = sys.modules["builtins"]
        if getattr(builtin, object.__name__, None) is object:
            return builtin
        return None

    inspect.getmodule = getmodule


def warm_tracebacks() -> None:
    """Show one failed assertion the way an IPython kernel shows a failed test cell.

    A kernel's first traceback cost it some 25 ms of CPU (module imports, the `inspect`
    module-by-file cache, compiled patterns), paid again by every kernel, since each is a
    fresh fork. Done here once, every fork inherits it. Only the grader's own code runs here.
    """
    try:
        import linecache

        from ipykernel.zmqshell import ZMQInteractiveShell
        from IPython.core import ultratb
    except ImportError:
        return
    traits = ZMQInteractiveShell.class_traits()
    formatter = ultratb.AutoFormattedTB(
        mode=traits["xmode"].default_value,
        theme_name=traits["colors"].default_value,
        tb_offset=0,
    )
    source = "def f(n):\n    return n\n\nassert f(10) == 55\n"
    name = "<nbcampus-warm-up>"
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    try:
        exec(compile(source, name, "exec"), {})  # noqa: S102 - fixed source, no input
    except AssertionError:
        formatter.structured_traceback(*sys.exc_info())
    except Exception as exc:  # noqa: BLE001 - a warm-up never stops the fork server
        sys.stderr.write(f"traceback warm-up failed: {exc!r}\n")
    finally:
        linecache.cache.pop(name, None)


def reuse_traceback_highlighting() -> None:
    """Make the traceback highlighter's pygments objects once, here, for every fork.

    For each traceback, IPython (through stack_data) made a new style class, a new 256-colour
    formatter that matched every colour of it again, and a new lexer class whose token rules
    pygments compiled again: some 4 ms of the 7 a failed test's traceback cost, in every
    kernel. The same objects are now made once per style and reused; a traceback's text is
    unchanged (the formatter keeps no state between two highlights)."""
    try:
        import pygments
        import stack_data
        import stack_data.core
        import stack_data.utils
        from pygments.formatters import terminal256
        from pygments.lexers import get_lexer_by_name
    except ImportError:
        return
    make_style = stack_data.core.style_with_executing_node
    styles: dict[tuple, type] = {}

    def style_with_executing_node(style: object, modifier: str) -> type:
        key = (style, modifier)
        if key not in styles:
            styles[key] = make_style(style, modifier)
        return styles[key]

    base_formatter = terminal256.Terminal256Formatter

    class Terminal256Formatter(base_formatter):  # type: ignore[misc, valid-type]
        _made: dict[type, Terminal256Formatter] = {}

        def __new__(cls, **options: object) -> Terminal256Formatter:
            if set(options) == {"style"} and options["style"] in cls._made:
                return cls._made[options["style"]]
            return super().__new__(cls)

        def __init__(self, **options: object) -> None:
            if getattr(self, "_made_once", False):
                return
            super().__init__(**options)
            self._made_once = True
            if set(options) == {"style"}:
                type(self)._made[options["style"]] = self

    lexers: dict[type, type] = {}

    def _pygmented_with_ranges(formatter: object, code: str, ranges: list) -> list[str]:
        # stack_data's own, with one lexer class per base lexer instead of one per call.
        base_lexer = type(get_lexer_by_name("python3"))
        if base_lexer not in lexers:

            class MyLexer(base_lexer):  # type: ignore[misc, valid-type]
                ranges: list = []

                def get_tokens(self, text: str):  # noqa: ANN202 - pygments' generator
                    length = 0
                    for ttype, value in super().get_tokens(text):
                        if any(start <= length < end for start, end in self.ranges):
                            ttype = ttype.ExecutingNode
                        length += len(value)
                        yield ttype, value

            lexers[base_lexer] = MyLexer
        lexer = lexers[base_lexer](stripnl=False)
        lexer.ranges = ranges
        try:
            highlighted = pygments.highlight(code, lexer, formatter)
        except Exception:  # noqa: BLE001 - as stack_data: plain code rather than a crash
            highlighted = code
        return highlighted.splitlines()

    stack_data.core.style_with_executing_node = style_with_executing_node
    stack_data.style_with_executing_node = style_with_executing_node
    terminal256.Terminal256Formatter = Terminal256Formatter
    stack_data.utils._pygmented_with_ranges = _pygmented_with_ranges
    stack_data.core._pygmented_with_ranges = _pygmented_with_ranges


def warm_kernel_start(argv: list[str]) -> None:
    """Parse a kernel's command line and transform one cell as an IPython kernel would.

    Every kernel compiled the same regular expressions again (argparse's patterns for the
    kernel's options, the tokenizer's, on its first cell): they go into the caches of this
    process, which every fork inherits. A throwaway application object, never the kernel's
    singleton, and no socket or thread is made."""
    try:
        from ipykernel.kernelapp import IPKernelApp
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return
    app = IPKernelApp()
    app.parse_command_line(argv)
    TransformerManager().transform_cell("def f(n):\n    return n\n\nassert f(1) == 1\n")


def ipython_kernel_options(argv: list[str]) -> tuple[str, ...] | None:
    """The options of an IPython kernel's command (`python -m ipykernel_launcher -f <file>
    --opt=value ...`) without its connection file, or None for any other command."""
    if len(argv) < 5 or argv[1:3] != ["-m", IPYTHON_LAUNCHER] or argv[3] != "-f":
        return None
    if not os.path.basename(argv[0]).startswith("python"):
        return None
    options = tuple(argv[5:])
    if not all(o.startswith("--") and "=" in o and not o.startswith("--f=") for o in options):
        return None  # only "--Class.trait=value" forms: nothing that could name another file
    return options


def prepare_ipython_shell(options: tuple[str, ...]) -> None:
    """Make, once, the IPython shell that every kernel with these options made for itself.

    Making the shell (its magics, history, formatters, namespaces, completer: some 15 ms of
    CPU) was half of an IPython kernel's start-up, paid again by each kernel of each
    submission. Made here, before the fork, every kernel inherits its own copy; this process
    never runs code in it, so every kernel still starts from a shell no cell has touched.
    The kernel's configuration is read as the kernel itself reads it (command line over the
    profile's config files); a configuration that names another kernel, shell or compiler
    class is not prepared, and its kernels start as before."""
    if _prepared.get("options") == options:
        return
    _prepared.clear()
    from copy import deepcopy

    from ipykernel.ipkernel import IPythonKernel
    from ipykernel.kernelapp import IPKernelApp
    from ipykernel.zmqshell import ZMQInteractiveShell

    app = IPKernelApp()  # a throwaway: the kernel's own application object is made after the fork
    app.parse_command_line(["-f", os.devnull, *options])
    command_line = deepcopy(app.config)
    app.init_profile_dir()
    app.init_config_files()
    app.load_config_file()
    app.update_config(command_line)
    kernel_config = app.config.get("IPythonKernel", {})
    if app.kernel_class is not IPythonKernel or {"shell_class", "compiler_class"} & set(
        kernel_config
    ):
        return
    ZMQInteractiveShell.clear_instance()
    # What IPythonKernel.__init__ passes, but the kernel itself, which exists only after the fork.
    ZMQInteractiveShell.instance(
        config=app.config,
        profile_dir=app.profile_dir,
        user_module=None,
        user_ns={},
        kernel=None,
        compiler_class=IPythonKernel.class_traits()["compiler_class"].default_value,
    )

    class KernelOfPreparedShell(IPythonKernel):
        """An IPython kernel that takes the shell made before the fork (`shell_class.instance()`
        returns it) and makes it its own."""

        def __init__(self, **kwargs: object) -> None:
            super().__init__(**kwargs)
            self.shell.kernel = self
            self.shell.starting_dir = os.getcwd()

    _prepared.update(options=options, kernel_class=KernelOfPreparedShell)


def prepare_pipe_kernel(options: tuple[str, ...]) -> None:
    """Make, once, the socket kernel's application and kernel object (pipekernel.py) around
    the prepared shell: its configuration, kernel object and extensions were a fresh
    kernel's start-up, the same for every kernel. Each fork then only connects, takes its
    output streams, folder and environment, and serves."""
    if "pipe_app" in _prepared or _prepared.get("options") != options:
        return
    import pipekernel

    argv = ["-f", os.devnull, *options]
    _prepared["pipe_app"] = pipekernel.prepare(argv, _prepared["kernel_class"])
    warm_tracebacks()  # its modules walked here, not in every kernel's first traceback


def prepare_code(entries: list[list[str]]) -> None:
    """Run, once, code the grader sends every IPython kernel to run first (the tamper
    guard's: it takes its snapshots of the pristine shell and returns the claim a kernel
    makes with its own name and key), in the namespace the grader's request would give it.
    A socket kernel takes the result from pipekernel.prepared instead of compiling and
    running it again (8 ms of CPU in a fresh kernel). Like the shell it looks at, this is
    the fork server's own state: no student code has run here."""
    app = _prepared.get("pipe_app")
    if app is None:
        return  # no prepared kernel: each kernel runs the code itself
    import builtins

    import pipekernel
    from IPython import get_ipython

    for file, source, entry in entries:
        key = (file, source, entry)
        if key in pipekernel.prepared:
            continue
        namespace = {"get_ipython": get_ipython, "__builtins__": dict(builtins.__dict__)}
        exec(compile(source, file, "exec"), namespace)  # noqa: S102 - the grader's own code
        pipekernel.prepared[key] = namespace[entry]()


def forget_prepared_kernel() -> None:
    """In a forked kernel of another kind (C): the prepared IPython application and kernel
    are singletons of ipykernel's classes, which that kernel's own application and kernel
    would otherwise meet (`IPKernelApp.instance()` is the prepared one)."""
    app = _prepared.get("pipe_app")
    if app is not None:
        type(app.kernel).clear_instance()
        type(app).clear_instance()


def reap_user(uid: int) -> None:
    """Kill every process of the sandbox user, from this process. With the user's id as its
    effective one and its capabilities so suspended, `kill(-1)` reaches the processes whose
    real or saved id is the user's, or root's: of those only a kernel forked but not yet
    become the user (the sandbox's init and this process are never signalled). The real and
    saved ids stay root's, so no process of the user may signal this one meanwhile. No fork
    of this large process (a reap runs between a submission's kernels)."""
    os.setresuid(0, uid, 0)
    try:
        for _ in range(3):
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                break
    finally:
        os.setresuid(0, 0, 0)


def main() -> None:
    uid = int(sys.argv[1])
    for module in sys.argv[2:]:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            sys.stderr.write(f"preload {module} failed: {exc}\n")
    # The socket kernel, beside this file; its folder is not left on the kernels' path.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    try:
        importlib.import_module("pipekernel")
    except ImportError as exc:
        sys.stderr.write(f"preload pipekernel failed: {exc}\n")
    finally:
        sys.path.remove(here)
    # What every kernel would compute again on its way to its first cell and traceback.
    warm_ups = (
        walk_modules_only_after_imports,
        reuse_traceback_highlighting,
        warm_tracebacks,
        lambda: warm_kernel_start(["-f", "/dev/null", "--HistoryManager.hist_file=:memory:"]),
    )
    for warm_up in warm_ups:
        try:
            warm_up()
        except Exception as exc:  # noqa: BLE001 - a warm-up never stops the fork server
            sys.stderr.write(f"kernel warm-up failed: {exc!r}\n")
    reply({"event": "ready"})
    children: set[int] = set()
    buf = b""
    stdin = sys.stdin.fileno()
    while True:
        ready, _, _ = select.select([stdin], [], [], 0.05)
        while True:  # reap finished kernels (and orphans: we are PID 1 of the sandbox)
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid in children:
                children.discard(pid)
                reply({"event": "exit", "pid": pid, "status": status})
        if not ready:
            continue
        chunk = os.read(stdin, 65536)
        if not chunk:
            return
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            req = json.loads(line)
            op = req.get("op")
            if op == "spawn":
                options = ipython_kernel_options(req.get("argv", []))
                if options is not None:
                    try:
                        prepare_ipython_shell(options)
                        if req.get("pipe"):
                            prepare_pipe_kernel(options)
                    except Exception as exc:  # noqa: BLE001 - the kernel then starts as before
                        _prepared.clear()
                        sys.stderr.write(f"preparing the IPython kernel failed: {exc!r}\n")
                    try:
                        prepare_code(req.get("prepare") or [])
                    except Exception as exc:  # noqa: BLE001 - each kernel then runs it itself
                        sys.stderr.write(f"preparing the kernels' first code failed: {exc!r}\n")
                pid = os.fork()
                if pid == 0:
                    become_kernel(req, uid)
                children.add(pid)
                reply({"id": req["id"], "pid": pid})
            elif op == "signal":
                try:
                    os.killpg(req["pid"], req["sig"])
                except ProcessLookupError:
                    pass
                reply({"id": req["id"], "ok": True})
            elif op == "renice":
                try:  # the kernel leads its own process group: its children follow too
                    os.setpriority(os.PRIO_PGRP, req["pid"], req["nice"])
                except ProcessLookupError:
                    pass
                reply({"id": req["id"], "ok": True})
            elif op == "reap":
                reap_user(uid)
                reply({"id": req["id"], "ok": True})


if __name__ == "__main__":
    main()
