"""A private PostgreSQL 15 cluster for the tests, run as the `postgres` user on a free port.

Its superuser password needs URL escaping on purpose (`@`, `:`, `/`, `%`), so every part that
builds a URL from it is tested for escaping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from nbcampus.ports import free_port

PG_BIN = Path(os.environ.get("NBCAMPUS_PG_BIN", "/usr/lib/postgresql/15/bin"))
PASSWORD = "p@ss:w/rd%20&x"
USER = "nbcampus"


class PostgresUnavailable(RuntimeError):
    pass


@dataclass
class PostgresCluster:
    port: int
    root: Path
    process: subprocess.Popen

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg

        name = name or "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=USER,
            password=PASSWORD,
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def start_cluster() -> PostgresCluster:
    if not (PG_BIN / "initdb").exists():
        raise PostgresUnavailable(f"no PostgreSQL server binaries in {PG_BIN}")
    root = Path(tempfile.mkdtemp(prefix="nbcampus-pg-"))
    data = root / "data"
    pwfile = root / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(pwfile, "postgres", "postgres")
    subprocess.run(
        _as_postgres(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(data),
                "-U",
                USER,
                "--pwfile",
                str(pwfile),
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
    )
    port = free_port()
    proc = subprocess.Popen(
        _as_postgres(
            [
                str(PG_BIN / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-k",
                str(root),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=300",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        ),
        stdout=subprocess.DEVNULL,
        stderr=open(root / "postgres.log", "wb"),
    )
    cluster = PostgresCluster(port=port, root=root, process=proc)
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(
                host="127.0.0.1",
                port=port,
                user=USER,
                password=PASSWORD,
                dbname="postgres",
                connect_timeout=1,
            ).close()
            return cluster
        except psycopg.OperationalError:
            if proc.poll() is not None or time.monotonic() > deadline:
                log = (root / "postgres.log").read_text(errors="replace")[-2000:]
                cluster.stop()
                raise PostgresUnavailable(f"PostgreSQL did not start:\n{log}") from None
            time.sleep(0.1)
