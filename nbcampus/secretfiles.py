"""Secrets kept as files in the data directory, created 0600 and refused when readable by others."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path


class InsecureSecretError(RuntimeError):
    """A secret file can be read by other users of the machine."""


def check_private(path: Path) -> None:
    """Refuse a file (or directory) that group or others may read or write."""
    mode = path.stat().st_mode
    if stat.S_IMODE(mode) & 0o077:
        raise InsecureSecretError(
            f"{path} has permissions {oct(stat.S_IMODE(mode))}; it must be private "
            f"(run: chmod {'700' if path.is_dir() else '600'} {path})"
        )


def private_dir(path: Path) -> Path:
    """Create a folder (and its missing parents) as 0700 whatever the umask; an existing
    folder is left as it is (`check_private` judges it). Every command that may be the first
    to touch the data directory or `secrets/` creates them through this."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            continue  # made meanwhile by a concurrent command
        os.chmod(folder, 0o700)  # mkdir's mode is masked by the umask; this is not
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write a file that is 0600 from its first byte (no window where it is world-readable),
    in a folder created 0700 when missing."""
    private_dir(path.parent)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def ensure_secret(path: Path, nbytes: int = 32) -> str:
    """Return the hex secret stored at `path`, creating it on first use."""
    if path.exists():
        check_private(path)
        value = path.read_text().strip()
        if value:
            return value
    value = secrets.token_hex(nbytes)
    write_private(path, value.encode() + b"\n")
    return value
