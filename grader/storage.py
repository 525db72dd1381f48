"""Content-addressed file storage for submissions, releases and feedback.

A file is stored once under `blobs/ab/cdef...` by the SHA-256 of its content and recorded in
`grader_blobs`; submissions refer to their files by hash. Writes go to a temporary file that
is fsynced and renamed, so a crash never leaves a half-written blob under its final name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from sqlalchemy.orm import Session

from .orm import Blob


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:]

    def put(self, data: bytes, session: Session | None = None) -> str:
        """Store bytes durably; returns their SHA-256. Idempotent."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if not target.exists():
            target.parent.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        if session is not None and session.get(Blob, digest) is None:
            session.add(Blob(sha256=digest, size=len(data)))
        return digest

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def materialize(self, files: dict[str, str], dest: Path) -> None:
        """Write {relative path: sha256} under dest (paths were checked when stored)."""
        for rel, digest in files.items():
            target = dest / safe_relpath(rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.get(digest))


class UnsafePath(ValueError):
    """A file name that would escape its folder or is otherwise unusable."""


def safe_relpath(name: str) -> str:
    """A relative path with no `..`, no absolute part and no odd characters, or UnsafePath."""
    if not name or len(name) > 255 or "\x00" in name or "\\" in name:
        raise UnsafePath(f"unusable file name: {name!r}")
    parts = name.split("/")
    if name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise UnsafePath(f"file name must be a plain relative path: {name!r}")
    return name
