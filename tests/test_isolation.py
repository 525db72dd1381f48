"""Student servers of the local profile are isolated: a student, in a kernel of their own real
running server, can reach their home and nothing else — not the data directory, the secrets,
the databases, `demo-accounts.json`, another student's home, nor the Hub's or another
student's processes."""

from __future__ import annotations

import json
import os
import pwd
import stat
import time
from pathlib import Path

import pytest
from harness.ci import unavailable
from harness.containers import run_cell
from harness.hub import CampusHub

from nbcampus.hub import isolation
from nbcampus.hub.isolation import IsolationError, system_username

# Isolation does not depend on the database: one Hub, on SQLite.
on_hub = pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)

# Runs as the student; every attempt on what is not theirs must end in an OSError.
PROBE = r"""
import json, os, signal
attempts = {ATTEMPTS}
results = {{}}
for name, (kind, arg) in attempts.items():
    try:
        if kind == "read":
            with open(arg, "rb") as f:
                f.read(1)
        elif kind == "list":
            os.listdir(arg)
        elif kind == "write":
            with open(arg, "w") as f:
                f.write("x")
        elif kind == "kill":
            os.kill(arg, signal.SIGTERM)
        results[name] = "ALLOWED"
    except OSError as err:
        results[name] = type(err).__name__
print(json.dumps(results))
"""

OWN_HOME = r"""
import json, os, subprocess
with open("mine.txt", "w") as f:
    f.write("ok")
old = open("old.txt").read() if os.path.exists("old.txt") else None
if old is not None:
    with open("old.txt", "a") as f:
        f.write("+more")
print(json.dumps({
    "uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "groups": os.getgroups(),
    "home": os.environ["HOME"], "cwd": os.getcwd(), "mine": open("mine.txt").read(),
    "old": old, "id": subprocess.run(["id", "-u"], capture_output=True, text=True).stdout.strip(),
    "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
}))
"""


@pytest.fixture(scope="module")
def root_only() -> None:
    if os.geteuid() != 0:
        unavailable("isolated student servers need the tests to run as root")


def _run(hub: CampusHub, name: str, code: str) -> dict:
    out = run_cell(hub, name, "python3", code)
    assert out["status"] == "ok", out
    return json.loads(out["stdout"].strip().splitlines()[-1])


def _uid_pids(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


@pytest.mark.slow
@on_hub
def test_a_student_reaches_only_their_home(campus_hub: CampusHub, root_only: None) -> None:
    students = [a["name"] for a in campus_hub.demo_accounts if a["role"] == "student"]
    me, other = students[0], students[1]
    for name in (me, other):
        campus_hub.start_server(name)
    data = Path(os.path.realpath(campus_hub.data_dir))
    other_home = data / "homes" / other
    _run(campus_hub, other, "open('diary.txt', 'w').write('private')\nprint('{}')")
    other_uid = pwd.getpwnam(system_username(other)).pw_uid
    other_pids = _uid_pids(other_uid)
    assert other_pids, "the other student's server runs under its own user"
    hub_pid = campus_hub.process.pid

    attempts = {
        "list data dir": ("list", str(data)),
        "list homes": ("list", str(data / "homes")),
        "campus database": ("read", str(data / "campus.sqlite")),
        "hub database": ("read", str(data / "jupyterhub.sqlite")),
        "grader database": ("read", str(data / "grader.sqlite")),
        "cookie secret": ("read", str(data / "secrets" / "jupyterhub_cookie_secret")),
        "proxy token": ("read", str(data / "secrets" / "proxy_auth_token")),
        "list secrets": ("list", str(data / "secrets")),
        "demo accounts": ("read", str(data / "demo-accounts.json")),
        "hub config": ("read", str(data / "jupyterhub_config_extra.py")),
        "write data dir": ("write", str(data / "planted.txt")),
        "list other home": ("list", str(other_home)),
        "read other home": ("read", str(other_home / "diary.txt")),
        "write other home": ("write", str(other_home / "planted.txt")),
        "hub environ": ("read", f"/proc/{hub_pid}/environ"),
        "other's environ": ("read", f"/proc/{other_pids[0]}/environ"),
        "kill the hub": ("kill", hub_pid),
        "kill the other server": ("kill", other_pids[0]),
        "shadow": ("read", "/etc/shadow"),
        "write the code": ("write", str(Path(__file__).resolve().parent / "planted.txt")),
    }
    code = PROBE.format(ATTEMPTS=repr(attempts))
    results = _run(campus_hub, me, code)
    allowed = {k: v for k, v in results.items() if v == "ALLOWED"}
    assert not allowed, f"a student reached what is not theirs: {allowed}"
    assert set(results) == set(attempts)

    # The Hub and the other student's server are alive and untouched.
    assert campus_hub.process.poll() is None
    assert campus_hub.admin_client().get("hub/api/").status_code == 200
    assert all(Path(f"/proc/{pid}").exists() for pid in other_pids[:1])
    assert (other_home / "diary.txt").read_text() == "private"
    assert not (other_home / "planted.txt").exists() and not (data / "planted.txt").exists()


@pytest.mark.slow
@on_hub
def test_own_home_works_under_own_user(campus_hub: CampusHub, root_only: None) -> None:
    me = campus_hub.demo("student")["name"]
    campus_hub.start_server(me)
    account = pwd.getpwnam(system_username(me))
    home = Path(os.path.realpath(campus_hub.data_dir)) / "homes" / me
    got = _run(campus_hub, me, OWN_HOME)
    assert got["uid"] == got["euid"] == account.pw_uid != 0
    assert got["gid"] == account.pw_gid and got["groups"] == []
    assert got["id"] == str(account.pw_uid)
    assert got["home"] == got["cwd"] == str(home)
    assert got["mine"] == "ok"
    # Its own PID namespace: the server sees only its own processes (no Hub, no classmates).
    assert len(got["pids"]) < 20 and campus_hub.process.pid not in got["pids"]
    st = home.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (account.pw_uid, 0o700)
    assert stat.S_IMODE(campus_hub.data_dir.stat().st_mode) & 0o077 == 0
    assert stat.S_IMODE((campus_hub.data_dir / "demo-accounts.json").stat().st_mode) == 0o600
    # The C kernel works for the student too.
    out = run_cell(campus_hub, me, "c", 'printf("%d\\n", 6 * 7);')
    assert out["status"] == "ok" and "42" in out["stdout"], out


@pytest.mark.slow
@on_hub
def test_a_home_made_by_root_is_handed_over(
    campus_hub: CampusHub, make_user, root_only: None
) -> None:
    name = make_user("student")["name"]
    home = Path(os.path.realpath(campus_hub.data_dir)) / "homes" / name
    (home / "sub").mkdir(parents=True)
    (home / "old.txt").write_text("from before")
    (home / "sub" / "deep.txt").write_text("deep")
    os.chmod(home, 0o755)  # noqa: S103 - as an older version left it
    campus_hub.start_server(name)
    uid = pwd.getpwnam(system_username(name)).pw_uid
    assert all(p.lstat().st_uid == uid for p in [home, *home.rglob("*")])
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    got = _run(campus_hub, name, OWN_HOME)
    assert got["old"] == "from before"
    assert (home / "old.txt").read_text() == "from before+more"


@pytest.mark.slow
@on_hub
def test_stopping_a_server_stops_its_whole_sandbox(
    campus_hub: CampusHub, make_user, root_only: None
) -> None:
    name = make_user("student")["name"]
    campus_hub.start_server(name)
    _run(campus_hub, name, "import subprocess\nsubprocess.Popen(['sleep', '600'])\nprint('{}')")
    uid = pwd.getpwnam(system_username(name)).pw_uid
    assert _uid_pids(uid)
    resp = campus_hub.admin_client().request("DELETE", f"hub/api/users/{name}/server")
    assert resp.status_code in (202, 204), resp.text
    deadline = time.monotonic() + 60
    while _uid_pids(uid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _uid_pids(uid), "processes of the student outlived their server"
    log = campus_hub.log_tail(20000)
    assert f"Starting {name}'s server as system user" in log


# --- without a Hub -------------------------------------------------------------------------------
def test_account_names_are_safe_and_distinct() -> None:
    assert system_username("alice") == "nbc-alice"
    names = {system_username(n) for n in ("a.b", "a_b", "a-b", "x" * 64, "x" * 63)}
    assert len(names) == 5
    assert all(len(n) <= 32 and n.startswith("nbc-") and "." not in n for n in names)


def test_without_root_the_profile_refuses_unless_trusted(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(isolation.os, "geteuid", lambda: 1000)
    with pytest.raises(IsolationError, match="needs root.*NBCAMPUS_LOCAL_TRUSTED=1"):
        isolation.check_isolation(tmp_path / "data")
    assert isolation.trusted_mode_requested({"NBCAMPUS_LOCAL_TRUSTED": "1"})
    assert not isolation.trusted_mode_requested({})


def test_the_data_dir_is_locked_down(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "logs").mkdir(parents=True)
    (data / "campus.sqlite").write_text("")
    os.chmod(data, 0o755)  # noqa: S103
    os.chmod(data / "campus.sqlite", 0o644)
    isolation.lock_down_data_dir(data, data / "homes")
    for path in (data, data / "homes", data / "logs", data / "campus.sqlite"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_the_sandbox_holds_the_home_and_not_the_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    home = str(data / "homes" / "alice")
    argv = isolation.sandbox_argv(20001, 20001, home, str(data), ro_dirs=[str(tmp_path)])
    binds = [argv[i + 1] for i, a in enumerate(argv) if a in ("--bind", "--ro-bind")]
    assert home in binds and str(data) not in binds
    # the data dir inside a read-only folder is covered by an empty tmpfs, before the home
    assert argv.index(str(data)) < argv.index(home)
    assert argv[argv.index("--tmpfs", argv.index("/etc")) + 1] == str(data)
