"""The managed Hub services of the campus: campus, grader and the idle culler, with their roles."""

from __future__ import annotations

import os
import sys
from typing import Any
from urllib.parse import urlparse

from nbcampus.lifeline import HUB_PID_ENV
from nbcampus.ports import free_port
from nbcampus.settings import Settings


def service_environment(settings: Settings) -> dict[str, str]:
    """What a service must know that the Hub does not pass on by itself."""
    env = {
        "NBCAMPUS_PROFILE": settings.profile,
        "NBCAMPUS_DATA_DIR": str(settings.data_dir),
        "NBCAMPUS_BIND_URL": settings.bind_url,
    }
    if settings.db_url:
        env["NBCAMPUS_DB_URL"] = settings.db_url
    # This config is read by the Hub's own process: the services die with it (nbcampus/lifeline.py).
    env[HUB_PID_ENV] = str(os.getpid())
    # The school's own switches reach the services as they reach the Hub.
    for name in (
        "NBCAMPUS_LTI",
        "NBCAMPUS_TIMEZONE",
        "NBCAMPUS_CURRENCY",
        "NBCAMPUS_GRADER_RESEND_SECONDS",  # the grader's resend rounds (grader/app.py)
        "NBCAMPUS_PREWARM_MEMORY",  # pre-warming from the class schedule (campus/prewarm.py)
        "NBCAMPUS_PREWARM_LEAD",
        "NBCAMPUS_PREWARM_INTERVAL",
        "NBCAMPUS_EXAM_SWEEP_SECONDS",  # the campus's timed-exam sweep (campus/app.py)
    ):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return env


def campus_services(settings: Settings, idle_timeout: int) -> list[dict[str, Any]]:
    env = service_environment(settings)
    services: list[dict[str, Any]] = []
    for name, module in (("campus", "nbcampus.hub.campus"), ("grader", "nbcampus.grader")):
        services.append(
            {
                "name": name,
                "url": f"http://127.0.0.1:{free_port()}",
                "command": [sys.executable, "-m", module],
                "environment": env,
                "cwd": str(settings.data_dir),
                "oauth_no_confirm": True,
                "display": False,
            }
        )
    services.append(dashboards_service(settings, env, services))
    services.append(
        {
            "name": "idle-culler",
            # jupyterhub-idle-culler is not ours: a wrapper sets its death signal and records
            # it for the next `nbcampus run`, then execs it
            "command": [
                sys.executable,
                "-m",
                "nbcampus.lifeline",
                "idle-culler",
                "--",
                sys.executable,
                "-m",
                "jupyterhub_idle_culler",
                f"--timeout={idle_timeout}",
                # servers pre-started for a class and never used are culled as any idle one:
                # checked often enough that none outlives the timeout by much
                f"--cull-every={max(5, min(300, idle_timeout // 2))}",
            ],
            "environment": env,
            "cwd": str(settings.data_dir),
        }
    )
    return services


def dashboards_service(
    settings: Settings, env: dict[str, str], services: list[dict[str, Any]]
) -> dict[str, Any]:
    """Voila dashboards (hub/dashboards) under the Hub's OAuth. The token the Hub gives it for a
    viewer may reach the campus and the grader and read the Hub's users and servers, within
    what that viewer may do: the kernel calls them as the viewer, never with its own token."""
    base = urlparse(settings.bind_url).path.strip("/")
    base = f"/{base}/" if base else "/"
    urls = {s["name"]: f"{s['url']}{base}services/{s['name']}/" for s in services}
    return {
        "name": "dashboards",
        "url": f"http://127.0.0.1:{free_port()}",
        "command": [sys.executable, "-m", "nbcampus.hub.dashboards"],
        "environment": {
            **env,
            "NBCAMPUS_CAMPUS_URL": urls["campus"],
            "NBCAMPUS_GRADER_URL": urls["grader"],
            "NBCAMPUS_PUBLIC_BASE": base,
            # warm kernels per dashboard (hub/dashboards/app.py); 0: none, each view starts one
            "NBCAMPUS_DASHBOARD_POOL": os.environ.get("NBCAMPUS_DASHBOARD_POOL", "1"),
        },
        "cwd": str(settings.data_dir),
        "oauth_no_confirm": True,
        "oauth_client_allowed_scopes": [
            "access:services!service=campus",
            "access:services!service=grader",
            "list:users",
            "read:users:name",
            "read:users:activity",
            "read:servers",
        ],
        "display": False,
    }


def service_roles() -> list[dict[str, Any]]:
    return [
        {
            "name": "campus-services",
            # admin:servers and admin:users also let the campus start students' servers
            # before a class meeting (hub/campus/prewarm_hub.py), as a login would
            "description": "The campus and grader services manage users, groups and each other",
            "scopes": [
                "admin:users",
                "admin:groups",
                "list:users",
                "read:users",
                "admin:servers",
                "access:services",
                "tokens",
            ],
            "services": ["campus", "grader"],
        },
        {
            "name": "idle-culler",
            "description": "Stops servers nobody has used for a while",
            "scopes": [
                "list:users",
                "read:users:activity",
                "read:servers",
                "delete:servers",
            ],
            "services": ["idle-culler"],
        },
    ]
