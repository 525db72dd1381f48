"""Finding, and if needed building, the runner executable (runner/nbc_runner.c).

The runner links libtcc statically (Debian: libtcc-dev), so it is built on the machine
that runs it: at `python -m nbcampus.ckernel install` time into the package, or on
first use into the user's cache directory.  The file name carries a hash of the
source, so an updated kernel never runs a stale runner.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SOURCE = Path(__file__).with_name("runner") / "nbc_runner.c"
LIBS = ["-ltcc", "-ldl", "-lm", "-lpthread"]


class BuildError(RuntimeError):
    """The runner could not be compiled (missing compiler or libtcc)."""


def _digest() -> str:
    return hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]


def _candidates() -> list[Path]:
    name = f"nbc-runner-{_digest()}"
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return [
        SOURCE.parent / "bin" / name,
        Path(cache) / "nbcampus-ckernel" / name,
        Path(tempfile.gettempdir()) / f"nbcampus-ckernel-{os.getuid()}" / name,
    ]


def compiler() -> str | None:
    """The C compiler used for the runner: $CC, else gcc, cc or tcc."""
    for cc in (os.environ.get("CC"), "gcc", "cc", "tcc"):
        if cc and shutil.which(cc):
            return cc
    return None


def build(dest: Path) -> Path:
    """Compiles the runner to `dest` (atomically)."""
    cc = compiler()
    if cc is None:
        raise BuildError("no C compiler found (install gcc and libtcc-dev)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".nbc-runner-", dir=dest.parent)
    os.close(fd)
    cmd = [cc, "-O2", "-o", tmp, str(SOURCE), *LIBS]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        os.unlink(tmp)
        raise BuildError(
            "building the C runner failed (is libtcc-dev installed?):\n" + proc.stderr.strip()
        )
    os.chmod(tmp, 0o755)  # noqa: S103 -- an executable every kernel user runs
    os.replace(tmp, dest)
    for stale in dest.parent.glob("nbc-runner-*"):  # runners of older sources
        if stale != dest:
            stale.unlink(missing_ok=True)
    return dest


def runner_path() -> Path:
    """The runner executable, built on first use.

    $NBCAMPUS_CKERNEL_RUNNER overrides the lookup (an image may ship a prebuilt one).
    """
    override = os.environ.get("NBCAMPUS_CKERNEL_RUNNER")
    if override:
        return Path(override)
    candidates = _candidates()
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    errors = []
    for path in candidates:
        try:
            return build(path)
        except OSError as exc:  # e.g. a read-only install: try the next place
            errors.append(f"{path}: {exc}")
    raise BuildError("could not build the C runner:\n" + "\n".join(errors))
