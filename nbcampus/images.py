"""`nbcampus images build`: the container images, built without a registry.

1. The base image: a `debootstrap --variant=minbase` rootfs of Debian bookworm from the mirror
   apt already uses, imported with `podman import` (or `docker import`). It is rebuilt only
   when its recipe (suite, mirror, packages) changes: the recipe's hash is a label.
2. The student image (images/student/Containerfile) on top, with the engine's layer cache:
   its dependency layer depends only on pyproject.toml's dependency list, so a code change
   rebuilds the last layer alone.

The grader runs submissions in the student image (grader_image defaults to it).

3. The Hub image of the kubernetes profile (images/hub/Containerfile). Its base is Zero to
   JupyterHub's Hub image from a registry; here it is built on the student image (whose Python
   already has nbcampus's dependencies) so that the recipe is checked where no registry is.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .engine import Engine, EngineError, find_engine

REPO = Path(__file__).resolve().parent.parent
BASE_TAG = "localhost/nbcampus-base:bookworm"
STUDENT_TAG = "localhost/nbcampus-student:latest"
HUB_TAG = "localhost/nbcampus-hub:latest"
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")

# What the staged build context leaves out (the same list as the repository's .dockerignore).
CONTEXT_IGNORE = (
    ".git",
    ".venv",
    ".tools",
    "node_modules",
    "__pycache__",
    "*.egg-info",
    "nbcampus-data",
    "test-output",
    ".pytest_cache",
    ".ruff_cache",
    "build",
    "dist",
    "tests",
    "bench",
    "docs",
    "shared",
    "courses",
)
CONTEXT_TOP = (
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "MANIFEST.in",
    "README.md",
    "nbcampus",
    "hub",
    "grader",
    "extensions",
    "images",
)


class ImageBuildError(RuntimeError):
    """A build step failed; the message names the step and the tail of its output."""


@dataclass
class StepResult:
    image: str
    seconds: float
    cached: bool
    size_mb: float


def apt_mirror(sources: list[Path] | None = None) -> str:
    """The Debian mirror apt already uses here (one-line or deb822 sources), else the default."""
    if sources is None:
        sources = [Path("/etc/apt/sources.list")]
        sources += sorted(Path("/etc/apt/sources.list.d").glob("*"))
    for path in sources:
        try:
            text = path.read_text()
        except OSError:
            continue
        for uri in re.findall(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+" + SUITE + r"\s", text, re.M):
            if "security" not in uri:
                return uri.rstrip("/")
        for stanza in re.split(r"\n\s*\n", text):
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M | re.I)
            uris = re.search(r"^URIs:\s*(.+)$", stanza, re.M | re.I)
            if suites and uris and SUITE in suites.group(1).split():
                uri = uris.group(1).split()[0]
                if "security" not in uri:
                    return uri.rstrip("/")
    return DEFAULT_MIRROR


def _image_labels(engine: Engine, tag: str) -> dict[str, str] | None:
    res = engine.run("image", "inspect", tag, capture_output=True, text=True)
    if res.returncode != 0:
        return None
    info = json.loads(res.stdout)[0]
    config = info.get("Config") or {}
    return config.get("Labels") or info.get("Labels") or {}


def image_size_mb(engine: Engine, tag: str) -> float:
    res = engine.run("image", "inspect", "--format", "{{.Size}}", tag, capture_output=True)
    return int(res.stdout.strip() or 0) / 1e6 if res.returncode == 0 else 0.0


def _run_step(engine: Engine, what: str, *args: str, stdin=None) -> None:  # type: ignore[no-untyped-def]
    res = engine.run(*args, stdin=stdin, capture_output=True, text=True)
    if res.returncode != 0:
        tail = (res.stdout + res.stderr).strip()[-1500:]
        raise ImageBuildError(f"{what} failed:\n{tail}")


def build_base(engine: Engine, cache_dir: Path, rebuild: bool = False) -> StepResult:
    mirror = apt_mirror()
    recipe = f"{SUITE} minbase {mirror}"
    key = hashlib.sha256(recipe.encode()).hexdigest()[:16]
    started = time.monotonic()
    labels = _image_labels(engine, BASE_TAG)
    if not rebuild and labels and labels.get("org.nbcampus.recipe") == key:
        return StepResult(
            BASE_TAG, time.monotonic() - started, True, image_size_mb(engine, BASE_TAG)
        )
    if not shutil.which("debootstrap"):
        raise ImageBuildError("debootstrap is not installed (run scripts/install-system-deps.sh)")
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix="rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        res = subprocess.run(
            ["debootstrap", "--variant=minbase", SUITE, str(rootfs), mirror],
            capture_output=True,
            text=True,
        )
        if res.returncode != 0:
            raise ImageBuildError(f"debootstrap failed:\n{(res.stdout + res.stderr)[-1500:]}")
        # The image's apt uses the same mirror, with updates (security comes from the base's
        # own sources on the next rebuild of the recipe).
        (rootfs / "etc/apt/sources.list").write_text(
            f"deb {mirror} {SUITE} main\ndeb {mirror} {SUITE}-updates main\n"
        )
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (rootfs / junk).glob("*"):
                if item.is_file():
                    item.unlink()
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        _run_step(
            engine,
            "importing the base rootfs",
            "import",
            "--change",
            f"LABEL org.nbcampus.recipe={key}",
            "--change",
            'CMD ["/bin/bash"]',
            "-",
            BASE_TAG,
            stdin=tar.stdout,
        )
        tar.wait()
    return StepResult(BASE_TAG, time.monotonic() - started, False, image_size_mb(engine, BASE_TAG))


def stage_context(repo: Path, dest: Path) -> None:
    """Copy the sources the Containerfile needs (and the host's CA bundle) into dest."""
    ignore = shutil.ignore_patterns(*CONTEXT_IGNORE)
    for name in CONTEXT_TOP:
        src = repo / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore, dirs_exist_ok=True)
        elif src.exists():
            shutil.copy2(src, dest / name)
    ca = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE") or str(HOST_CA_BUNDLE)
    if Path(ca).is_file():
        shutil.copyfile(ca, dest / "images/student/ca/host-bundle.crt")


def _pip_build_args() -> list[str]:
    """The host's PyPI index settings, when they point at a network index the build can use."""
    args = []
    for var in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST"):
        value = os.environ.get(var, "")
        urls = [u for u in value.split() if not u.startswith("file:")]
        if urls:
            args += ["--build-arg", f"{var}={' '.join(urls)}"]
    return args


def build_student(engine: Engine, cache_dir: Path, base: str = BASE_TAG) -> StepResult:
    return _build_from_context(engine, cache_dir, "student", STUDENT_TAG, f"BASE_IMAGE={base}")


def build_hub(engine: Engine, cache_dir: Path, base: str = STUDENT_TAG) -> StepResult:
    return _build_from_context(engine, cache_dir, "hub", HUB_TAG, f"HUB_IMAGE={base}")


def _build_from_context(
    engine: Engine, cache_dir: Path, name: str, tag: str, base_arg: str
) -> StepResult:
    """Build images/<name>/Containerfile from a staged copy of the sources, as `tag`."""
    started = time.monotonic()
    before = _image_labels(engine, tag) is not None and _image_id(engine, tag)
    cache_dir.mkdir(parents=True, exist_ok=True)
    # A fixed context path: the engine's cache keys on content, and a stable path keeps
    # its own bookkeeping (and the build log) easy to read.
    ctx = cache_dir / f"context-{name}"
    shutil.rmtree(ctx, ignore_errors=True)
    ctx.mkdir()
    stage_context(REPO, ctx)
    args = ["build", "--layers", "--pull=never"] if engine.kind == "podman" else ["build"]
    _run_step(
        engine,
        f"building the {name} image",
        *args,
        "-f",
        str(ctx / f"images/{name}/Containerfile"),
        "--build-arg",
        base_arg,
        *_pip_build_args(),
        "-t",
        tag,
        str(ctx),
    )
    after = _image_id(engine, tag)
    if before != after:
        # The image this build replaced is now untagged and unused: drop it (and any other
        # dangling image), or every code change would leave an old image behind.
        engine.run("image", "prune", "-f", capture_output=True)
    return StepResult(tag, time.monotonic() - started, before == after, image_size_mb(engine, tag))


def _image_id(engine: Engine, tag: str) -> str:
    res = engine.run("image", "inspect", "--format", "{{.Id}}", tag, capture_output=True, text=True)
    return res.stdout.strip()


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("NBCAMPUS_IMAGE_CACHE") or Path(base) / "nbcampus" / "images")


def build_all(rebuild_base: bool = False, log=print, hub: bool = True) -> list[StepResult]:  # type: ignore[no-untyped-def]
    """The base and student images, and (hub=True) the Hub image of the kubernetes profile."""
    engine = find_engine()
    results = []
    base = build_base(engine, cache_dir(), rebuild=rebuild_base)
    log(_describe(base))
    results.append(base)
    student = build_student(engine, cache_dir())
    log(_describe(student))
    results.append(student)
    if hub:
        hub_image = build_hub(engine, cache_dir())
        log(_describe(hub_image))
        results.append(hub_image)
    return results


def _describe(step: StepResult) -> str:
    how = "unchanged" if step.cached else "built"
    return f"{step.image}: {how} in {step.seconds:.1f} s ({step.size_mb:.0f} MB)"


def cmd_images_build(args: argparse.Namespace) -> int:
    try:
        build_all(rebuild_base=args.rebuild_base, hub=not args.no_hub)
    except (EngineError, ImageBuildError) as err:
        print(f"nbcampus images: {err}", file=sys.stderr)
        return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    images = sub.add_parser("images", help="build the container images (docker profile)")
    images_sub = images.add_subparsers(dest="images_command", metavar="ACTION", required=True)
    build = images_sub.add_parser(
        "build",
        help="build the base, student and Hub images (cached: a second build is fast)",
        description="Build the Debian bookworm base image from debootstrap (no registry "
        "needed), the student image on top of it, and the kubernetes profile's Hub image "
        "(here on the student image), with the engine's layer cache.",
    )
    build.add_argument(
        "--no-hub", action="store_true", help="skip the Hub image (only kubernetes needs it)"
    )
    build.add_argument(
        "--rebuild-base", action="store_true", help="debootstrap the base again even if cached"
    )
    build.set_defaults(func=cmd_images_build)
