"""`nbcampus run` refuses bad set-ups with one clear line, and damages nothing."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from nbcampus.ports import free_port

NBCAMPUS = str(Path(sys.executable).parent / "nbcampus")


def run_nbcampus(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess:
    full = {**os.environ, **env}
    full.pop("NBCAMPUS_DB_URL", None) if "NBCAMPUS_DB_URL" not in env else None
    return subprocess.run(
        [NBCAMPUS, *args], env=full, capture_output=True, text=True, timeout=timeout
    )


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_help_explains_itself() -> None:
    result = subprocess.run([NBCAMPUS, "--help"], capture_output=True, text=True, check=True)
    for word in ("run", "upgrade-db", "accounts", "NBCAMPUS_DATA_DIR"):
        assert word in result.stdout
    result = subprocess.run([NBCAMPUS, "run", "--help"], capture_output=True, text=True, check=True)
    assert "Ctrl-C" in result.stdout


def test_broken_database_url(tmp_path: Path) -> None:
    env = {
        "NBCAMPUS_DATA_DIR": str(tmp_path / "data"),
        "NBCAMPUS_DB_URL": f"postgresql://nobody:secret@127.0.0.1:{free_port()}/none",
        "NBCAMPUS_BIND_URL": f"http://127.0.0.1:{free_port()}",
    }
    line = one_line_error(run_nbcampus("run", env=env))
    assert "cannot use the database" in line
    assert "secret" not in line  # the password is not printed
    env["NBCAMPUS_DB_URL"] = "nosuchdriver://x"
    assert "cannot use the database" in one_line_error(run_nbcampus("run", env=env))


def test_occupied_port(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = {"NBCAMPUS_DATA_DIR": str(data), "NBCAMPUS_BIND_URL": f"http://127.0.0.1:{port}"}
        line = one_line_error(run_nbcampus("run", env=env))
    assert f"port {port}" in line and "in use" in line
    # the refused start left no demo accounts whose passwords were never shown
    assert not (data / "demo-accounts.json").exists()


def test_unwritable_data_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = {
        "NBCAMPUS_DATA_DIR": str(blocker / "data"),
        "NBCAMPUS_BIND_URL": f"http://127.0.0.1:{free_port()}",
    }
    line = one_line_error(run_nbcampus("run", env=env))
    assert "not writable" in line
    assert blocker.read_text() == "not a directory"


def test_unknown_profile(tmp_path: Path) -> None:
    env = {"NBCAMPUS_DATA_DIR": str(tmp_path), "NBCAMPUS_PROFILE": "mainframe"}
    assert "not a profile" in one_line_error(run_nbcampus("run", env=env))


def test_world_readable_secret_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"NBCAMPUS_DATA_DIR": str(data), "NBCAMPUS_BIND_URL": "http://127.0.0.1:1"}
    # a first (refused: port 1 is privileged/in use or not) start creates the secrets
    run_nbcampus("accounts", "list", env=env)
    from nbcampus.secretfiles import ensure_secret

    secret = data / "secrets" / "jupyterhub_cookie_secret"
    ensure_secret(secret)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    secret.chmod(0o644)
    before = snapshot(data)
    env["NBCAMPUS_BIND_URL"] = f"http://127.0.0.1:{free_port()}"
    line = one_line_error(run_nbcampus("run", env=env))
    assert "refusing to start" in line and "jupyterhub_cookie_secret" in line
    assert snapshot(data) == before


def test_unknown_schema_is_refused(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from nbcampus.db import make_engine

    data = tmp_path / "data"
    env = {"NBCAMPUS_DATA_DIR": str(data), "NBCAMPUS_DEMO": "0"}
    assert run_nbcampus("accounts", "add", "zoe", env=env).returncode == 0
    engine = make_engine(f"sqlite:///{data / 'campus.sqlite'}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE campus_alembic_version SET version_num = 'base-0000'"))
    env["NBCAMPUS_BIND_URL"] = f"http://127.0.0.1:{free_port()}"
    line = one_line_error(run_nbcampus("run", env=env))
    assert "campus database" in line


@pytest.mark.parametrize("name", ["Bad Name", "", "x" * 65, "../etc"])
def test_cli_refuses_bad_account_names(tmp_path: Path, name: str) -> None:
    env = {"NBCAMPUS_DATA_DIR": str(tmp_path)}
    line = one_line_error(run_nbcampus("accounts", "add", name, env=env))
    assert "name must be" in line
