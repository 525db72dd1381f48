"""The environment nbcampus reads, in one place.

Every part (the CLI, `jupyterhub_config.py`, the services) derives its paths and URLs from
these variables so that they never disagree about where the data lives.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PROFILES = ("local", "docker", "kubernetes")
DEFAULT_BIND_URL = "http://127.0.0.1:8000"


class SettingsError(ValueError):
    """A setting is unusable; the message is one line meant for the operator."""


def normalize_db_url(url: str) -> str:
    """Pin PostgreSQL URLs to the psycopg 3 driver; leave other URLs alone."""
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True)
class Settings:
    profile: str
    data_dir: Path
    db_url: str | None
    bind_url: str
    demo: bool
    allow_signup: bool
    # Pre-warming student servers before a class's meeting (hub/campus/prewarm.py): the memory
    # all pre-started servers together may take (0: off), how long before the meeting, and
    # how often the campus looks for due meetings (and at the servers' use).
    prewarm_memory: int = 0
    prewarm_lead_minutes: float = 10.0
    prewarm_interval_seconds: float = 60.0
    # How often the campus submits timed-exam attempts past their deadline (hub/campus/app.py).
    exam_sweep_seconds: float = 15.0

    @classmethod
    def from_env(cls, environ: os._Environ[str] | dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        profile = env.get("NBCAMPUS_PROFILE", "local").strip() or "local"
        if profile not in PROFILES:
            raise SettingsError(
                f"NBCAMPUS_PROFILE={profile!r} is not a profile; use one of {', '.join(PROFILES)}"
            )
        data_dir = Path(env.get("NBCAMPUS_DATA_DIR") or Path.cwd() / "nbcampus-data").absolute()
        db_url = env.get("NBCAMPUS_DB_URL") or None
        bind_url = env.get("NBCAMPUS_BIND_URL") or DEFAULT_BIND_URL
        parts = urlsplit(bind_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SettingsError(f"NBCAMPUS_BIND_URL={bind_url!r} is not an http(s) URL with a host")
        return cls(
            profile=profile,
            data_dir=data_dir,
            db_url=normalize_db_url(db_url) if db_url else None,
            bind_url=bind_url if bind_url.endswith("/") else bind_url + "/",
            demo=_flag(env.get("NBCAMPUS_DEMO"), default=profile == "local"),
            allow_signup=_flag(env.get("NBCAMPUS_ALLOW_SIGNUP"), default=False),
            prewarm_memory=_memory(env, "NBCAMPUS_PREWARM_MEMORY", "0"),
            prewarm_lead_minutes=_minutes(env, "NBCAMPUS_PREWARM_LEAD", 10.0),
            prewarm_interval_seconds=_seconds(env, "NBCAMPUS_PREWARM_INTERVAL", 60.0),
            exam_sweep_seconds=_seconds(env, "NBCAMPUS_EXAM_SWEEP_SECONDS", 15.0),
        )

    @property
    def secrets_dir(self) -> Path:
        return self.data_dir / "secrets"

    @property
    def homes_dir(self) -> Path:
        return self.data_dir / "homes"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def demo_accounts_file(self) -> Path:
        return self.data_dir / "demo-accounts.json"

    @property
    def base_url(self) -> str:
        """The URL path prefix of the whole campus, e.g. `/` or `/campus/`."""
        path = urlsplit(self.bind_url).path or "/"
        return path if path.endswith("/") else path + "/"

    def database_url(self, part: str) -> str:
        """The database of one part (`jupyterhub`, `campus`, `grader`).

        With NBCAMPUS_DB_URL all parts share that database (their tables never collide);
        without it each part gets its own SQLite file in the data directory.
        """
        if self.db_url:
            return self.db_url
        return f"sqlite:///{self.data_dir / (part + '.sqlite')}"


_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?)B?\s*$", re.IGNORECASE)


def parse_memory(value: str) -> int:
    """Bytes from a spawner-style memory figure: "512M", "2G", "2Gi", "1.5G" or plain bytes
    (K, M, G, T are powers of 1024, as JupyterHub's `mem_limit` reads them)."""
    match = _MEMORY.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a memory size such as 512M or 8G")
    number, unit = float(match.group(1)), match.group(2).upper()
    return int(number * 1024 ** " KMGT".index(unit or " "))


def _memory(env: os._Environ[str] | dict[str, str], name: str, default: str) -> int:
    value = env.get(name) or default
    try:
        return parse_memory(value)
    except ValueError as err:
        raise SettingsError(f"{name}: {err}") from None


def _minutes(env: os._Environ[str] | dict[str, str], name: str, default: float) -> float:
    value = env.get(name)
    if not value or not value.strip():
        return default
    try:
        minutes = float(value)
    except ValueError:
        minutes = -1.0
    if not 0 < minutes <= 24 * 60:
        raise SettingsError(f"{name}={value!r}: minutes between 0 and 1440, e.g. 10")
    return minutes


def _seconds(env: os._Environ[str] | dict[str, str], name: str, default: float) -> float:
    value = env.get(name)
    if not value or not value.strip():
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0.5 <= seconds <= 3600:  # under 0.5 s the checks would keep the database busy
        raise SettingsError(f"{name}={value!r}: seconds between 0.5 and 3600, e.g. 60")
    return seconds


def _flag(value: str | None, *, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")
