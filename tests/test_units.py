"""Small pure parts: settings, passwords, secret files, accounts."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from nbcampus.db import make_engine, prepare_database, session_factory
from nbcampus.hub.campus.accounts import AccountError, AccountStore
from nbcampus.hub.campus.orm import MIGRATIONS
from nbcampus.hub.passwords import hash_password, verify_password
from nbcampus.ports import free_port, taken
from nbcampus.secretfiles import InsecureSecretError, check_private, ensure_secret
from nbcampus.settings import Settings, SettingsError, normalize_db_url
from nbcampus.web import attachment


def test_settings_defaults_and_parts(tmp_path: Path) -> None:
    s = Settings.from_env({"NBCAMPUS_DATA_DIR": str(tmp_path)})
    assert s.profile == "local" and s.bind_url == "http://127.0.0.1:8000/" and s.demo
    assert s.database_url("campus") == f"sqlite:///{tmp_path / 'campus.sqlite'}"
    pg = Settings.from_env({"NBCAMPUS_DB_URL": "postgresql://u:p%40@h/db"})
    assert pg.database_url("campus") == pg.database_url("jupyterhub")
    assert pg.database_url("grader").startswith("postgresql+psycopg://u:p%40@h/db")
    assert Settings.from_env({"NBCAMPUS_BIND_URL": "http://h:1/a%20b"}).base_url == "/a%20b/"
    with pytest.raises(SettingsError):
        Settings.from_env({"NBCAMPUS_BIND_URL": "ftp://x"})
    assert normalize_db_url("postgres://x/y") == "postgresql+psycopg://x/y"


def test_exam_sweep_interval_setting() -> None:
    assert Settings.from_env({}).exam_sweep_seconds == 15.0
    assert Settings.from_env({"NBCAMPUS_EXAM_SWEEP_SECONDS": "1"}).exam_sweep_seconds == 1.0
    for bad in ("0", "-1", "soon", "9999"):
        with pytest.raises(SettingsError, match="NBCAMPUS_EXAM_SWEEP_SECONDS"):
            Settings.from_env({"NBCAMPUS_EXAM_SWEEP_SECONDS": bad})


def test_password_hashes_are_salted_and_verified() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second and first.startswith("scrypt$")
    assert verify_password("correct horse", first)
    assert not verify_password("correct hors", first)
    assert not verify_password("anything", "garbage$hash")
    assert not verify_password("anything", None)


def test_secret_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "s" / "token"
    value = ensure_secret(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_secret(path) == value
    path.chmod(0o640)
    with pytest.raises(InsecureSecretError, match="chmod 600"):
        ensure_secret(path)
    with pytest.raises(InsecureSecretError):
        check_private(path)


def test_account_store(db_url: str) -> None:
    engine = make_engine(db_url)
    prepare_database(engine, db_url, MIGRATIONS)
    store = AccountStore(session_factory(engine))
    info, password = store.create("Dana", "instructor")
    assert info.name == "dana" and info.role == "instructor" and len(password) >= 12
    assert store.check_password("DANA", password) == info
    assert store.check_password("dana", password + "!") is None
    assert store.check_password("nobody", password) is None
    with pytest.raises(AccountError) as err:
        store.create("dana")
    assert err.value.code == "CONFLICT"
    with pytest.raises(AccountError):
        store.create("eve", "emperor")
    with pytest.raises(AccountError):
        store.create("eve", password="short")
    assert [a.name for a in store.all()] == ["dana"]
    engine.dispose()


def test_download_names_from_any_user_name_fit_a_header() -> None:
    from urllib.parse import unquote

    from tornado.httputil import HTTPHeaders

    for name in ("bob", "zoë", "日本", 'a"b;c', "x\u2028y"):
        value = attachment(f"{name}-data.json")
        value.encode("latin-1")  # what a response header can carry
        HTTPHeaders({"Content-Disposition": value})
        fallback = value.split('filename="', 1)[1].split('"', 1)[0]
        assert fallback.isascii() and '"' not in fallback
        assert unquote(value.split("UTF-8''", 1)[1]) == f"{name}-data.json"


def test_free_port_never_repeats_nor_gives_a_taken_port() -> None:
    # The kernel hands the same free port to consecutive binds often enough that a Hub once
    # got its proxy's API port equal to its public port; a pick must skip both.
    public = free_port()
    taken(public)
    picks = [free_port() for _ in range(200)]
    assert public not in picks
    assert len(set(picks)) == len(picks)
