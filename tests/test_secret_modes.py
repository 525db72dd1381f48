"""Issue 20, item 5: every command that may be the first to touch the data directory creates
it, and `secrets/`, private, so `nbcampus run` does not refuse afterwards."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from nbcampus.cli import check_data_dir, check_secrets
from nbcampus.secretfiles import private_dir, write_private
from nbcampus.settings import Settings

NBCAMPUS = str(Path(sys.executable).with_name("nbcampus"))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_lti_urls_first_then_run_checks_pass(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "data dir"
    env = {**os.environ, "NBCAMPUS_DATA_DIR": str(data), "NBCAMPUS_LTI": "1"}
    env.pop("NBCAMPUS_DB_URL", None)
    out = subprocess.run(
        [NBCAMPUS, "lti", "urls"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.umask(0o022),  # the usual umask, which gave 0755 before
    )
    assert out.returncode == 0, out.stderr
    assert "public_keyset_url" in out.stdout
    settings = Settings.from_env({"NBCAMPUS_DATA_DIR": str(data)})
    assert mode(data) == 0o700
    assert mode(settings.secrets_dir) == 0o700
    assert mode(settings.secrets_dir / "lti_tool_key.pem") == 0o600
    # what `nbcampus run` checks before starting the Hub: no refusal
    check_data_dir(settings)
    check_secrets(settings)
    for name in ("jupyterhub_cookie_secret", "proxy_auth_token"):
        assert mode(settings.secrets_dir / name) == 0o600


def test_private_dir_ignores_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        write_private(tmp_path / "a" / "b" / "secret", b"x")
        assert mode(tmp_path / "a") == 0o700
        assert mode(tmp_path / "a" / "b") == 0o700
        assert mode(tmp_path / "a" / "b" / "secret") == 0o600
        existing = tmp_path / "existing"
        existing.mkdir(mode=0o755)
        os.chmod(existing, 0o755)  # noqa: S103 - a folder someone else left open, on purpose
        private_dir(existing)  # an existing folder is judged by check_private, not changed
        assert mode(existing) == 0o755
    finally:
        os.umask(old)
