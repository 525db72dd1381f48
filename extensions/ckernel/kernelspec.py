"""Registering the kernel with Jupyter (its kernelspec)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager

from . import KERNEL_NAME, build

LOGO = Path(__file__).with_name("resources") / "logo-svg.svg"


def kernel_json(python: str = sys.executable) -> dict[str, object]:
    return {
        "argv": [python, "-m", "nbcampus.ckernel", "-f", "{connection_file}"],
        "display_name": "C",
        "language": "c",
        # SIGINT reaches the kernel, which stops the runner; see kernel.py.
        "interrupt_mode": "signal",
        "metadata": {"debugger": False},
    }


def install(user: bool = False, prefix: str | None = None, name: str = KERNEL_NAME) -> str:
    """Writes the kernelspec and builds the runner; returns the spec's directory."""
    build.runner_path()  # compile now, not on the first cell of the first student
    with tempfile.TemporaryDirectory() as tmp:
        # The folder's mode is copied: students' servers run as their own users and read it.
        os.chmod(tmp, 0o755)  # noqa: S103
        (Path(tmp) / "kernel.json").write_text(json.dumps(kernel_json(), indent=2) + "\n")
        shutil.copy(LOGO, Path(tmp) / LOGO.name)
        return KernelSpecManager().install_kernel_spec(
            tmp, kernel_name=name, user=user, prefix=prefix
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m nbcampus.ckernel install", description="Install the C kernelspec."
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="install for the current user")
    where.add_argument("--sys-prefix", action="store_true", help="install into sys.prefix")
    where.add_argument("--prefix", help="install under this prefix")
    parser.add_argument("--name", default=KERNEL_NAME, help="kernelspec name (default: c)")
    args = parser.parse_args(argv)
    prefix = sys.prefix if args.sys_prefix else args.prefix
    path = install(user=args.user, prefix=prefix, name=args.name)
    print(f"Installed the C kernelspec in {path}")
