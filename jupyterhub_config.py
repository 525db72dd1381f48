"""nbcampus: the one JupyterHub configuration.

Run it with `nbcampus run` (which prepares the data directory, secrets and database first).
Everything an operator may change is an environment variable or a `c.*` line below; add your
own `c.*` lines in `$NBCAMPUS_DATA_DIR/jupyterhub_config_extra.py` rather than editing this
file, so that upgrades stay painless.

Environment:
  NBCAMPUS_PROFILE       local (default) | docker | kubernetes: how student servers run
  NBCAMPUS_DATA_DIR      where the local profile keeps everything: databases, homes, secrets
  NBCAMPUS_DB_URL        one database for the Hub and the services (postgresql://...);
                         unset: a SQLite file per part in the data directory
  NBCAMPUS_BIND_URL      public URL of the campus, path included (default http://127.0.0.1:8000)
  NBCAMPUS_DEMO          1/0: create the demo accounts on first start (default: 1 with local)
  NBCAMPUS_ALLOW_SIGNUP  1/0: let visitors create student accounts (default 0)
  NBCAMPUS_IDLE_TIMEOUT  seconds before an unused student server is stopped (default 3600)
  NBCAMPUS_PREWARM_MEMORY memory the servers started before class meetings may take
                         together (e.g. 8G; unset: no pre-warming; docs/prewarm.md)
  NBCAMPUS_PREWARM_LEAD  minutes before a meeting that its students' servers start (default 10)
  NBCAMPUS_PREWARM_INTERVAL seconds between the campus's pre-warm checks (default 60)
  NBCAMPUS_EXAM_SWEEP_SECONDS seconds between the campus's sweeps that submit timed-exam
                         attempts past their deadline (default 15)
  NBCAMPUS_LTI           1/0: accept LTI 1.3 / 1.1 launches from an LMS (default 0; docs/lti.md)
  NBCAMPUS_LOCAL_TRUSTED 1/0: local profile: run every student server as the Hub's own user
                         instead of a sandboxed system user per student (default 0; needs root)
"""

import os
from pathlib import Path
from urllib.parse import urlparse

from nbcampus.headers import hub_tornado_settings
from nbcampus.hub.admin.pages import nav_role, sign_in_destination
from nbcampus.hub.authoring import authoring_env
from nbcampus.hub.dashboards.nav import nav_dashboards
from nbcampus.hub.office.access import nav_flag as office_nav_flag
from nbcampus.hub.profiles import configure_profile, student_server_memory
from nbcampus.hub.roles import campus_role_groups, hub_roles
from nbcampus.hub.services import campus_services, service_roles
from nbcampus.ports import free_port, taken
from nbcampus.secretfiles import ensure_secret
from nbcampus.settings import Settings

c = get_config()  # noqa: F821 - provided by JupyterHub
settings = Settings.from_env()
here = Path(__file__).parent

# --- where the Hub listens, and where it keeps its state ---------------------------------
c.JupyterHub.bind_url = settings.bind_url
# No internal port may be the public one: it is free until the proxy binds it.
taken(urlparse(settings.bind_url).port or 80)
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{free_port()}"
c.JupyterHub.db_url = settings.database_url("jupyterhub")
c.JupyterHub.cookie_secret_file = str(settings.secrets_dir / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.auth_token = ensure_secret(settings.secrets_dir / "proxy_auth_token")
c.ConfigurableHTTPProxy.pid_file = str(settings.data_dir / "jupyterhub-proxy.pid")
chp = here / ".tools" / "node_modules" / ".bin" / "configurable-http-proxy"
if chp.exists():
    c.ConfigurableHTTPProxy.command = [str(chp)]
c.JupyterHub.template_paths = [str(here / "hub" / "templates")]
# The school's front door (landing page, catalog): name, welcome text and colour are
# c.CampusSite.school_name / .welcome_text / .primary_color (hub/site.py); its logo is a file
# `logo.png` or `logo.svg` in the data directory (or c.JupyterHub.logo_file).
c.CampusSite.db_url = settings.database_url("campus")
c.CampusSite.public_url = settings.bind_url  # the address in mailed links
# Self-service accounts (hub/selfservice.py): c.SelfService.verify_email, .reset_link_minutes,
# .min_password_length; their mail goes through c.CampusMailer.smtp_host, .smtp_port,
# .smtp_tls, .smtp_user, .smtp_password_file, .sender (hub/mail.py). Without smtp_host the
# links are written to the Hub's log.
for _logo in ("logo.png", "logo.svg"):
    if (settings.data_dir / _logo).is_file():
        c.JupyterHub.logo_file = str(settings.data_dir / _logo)
        break
# nosniff on every response; no JupyterHub or Tornado version for anonymous visitors
# (nbcampus/headers.py). Extend it rather than replace it: c.JupyterHub.tornado_settings[...] = ...
c.JupyterHub.tornado_settings = hub_tornado_settings()

# --- who may log in ------------------------------------------------------------------------
c.JupyterHub.authenticator_class = "nbcampus.hub.auth.CampusAuthenticator"
c.CampusAuthenticator.db_url = settings.database_url("campus")
c.CampusAuthenticator.allow_signup = settings.allow_signup
lti_on = os.environ.get("NBCAMPUS_LTI", "").strip().lower() in ("1", "true", "yes", "on")
c.JupyterHub.template_vars = {
    "nbcampus_allow_signup": settings.allow_signup,
    "nbcampus_lti": lti_on,  # the navigation's "LMS courses" (roster sync) page
    # the navigation's "Dashboards" menu (hub/dashboards): the ones for this person
    "nbcampus_dashboards": nav_dashboards(settings.database_url("campus")),
    # the navigation's "Office" (staff's pages), for staff, admins and instructors
    "nbcampus_office": office_nav_flag(settings.database_url("campus")),
    # the navigation's "Admin" (accounts, course review, settings): admins and staff
    "nbcampus_admin_role": nav_role(settings.database_url("campus")),
}
# After signing in: staff to the Office, admins to the admin pages, everyone else to their Lab.
c.JupyterHub.default_url = sign_in_destination(settings.database_url("campus"))
# NBCAMPUS_LTI=1: launches from Moodle/Canvas (LTI 1.3 and 1.1) next to local passwords.
# Register platforms with `nbcampus lti add-platform`; the URLs for the LMS: `nbcampus lti urls`.
if lti_on:
    c.JupyterHub.authenticator_class = "nbcampus.hub.lti.auth.LtiCampusAuthenticator"
    c.LtiCampusAuthenticator.db_url = settings.database_url("campus")
    c.LtiCampusAuthenticator.allow_signup = settings.allow_signup

# Campus roles are Hub groups (visible on the admin page) carrying Hub RBAC roles. The
# campus service keeps them in sync when accounts change while the Hub runs.
c.JupyterHub.load_groups = campus_role_groups(settings.database_url("campus"))
c.Authenticator.admin_users = set(c.JupyterHub.load_groups["campus-admin"]["users"])
c.JupyterHub.load_roles = hub_roles() + service_roles()
c.JupyterHub.extra_user_scopes = {"access:services"}

# --- the campus services -------------------------------------------------------------------
idle_timeout = int(os.environ.get("NBCAMPUS_IDLE_TIMEOUT", "3600"))
c.JupyterHub.services = campus_services(settings, idle_timeout)

# --- student servers ------------------------------------------------------------------------
c.Spawner.default_url = "/lab"
c.Spawner.environment = {"NBCAMPUS_PROFILE": settings.profile}
# The Lab's server part (extensions/lab) calls the campus and grader services for the student
# with the server's own Hub token: it needs `access:services`, and each service's address.
c.Spawner.server_token_scopes = [
    "users:activity!user",
    "access:servers!server",
    "access:services",
    "read:users:name!user",
]
_hub_path = urlparse(settings.bind_url).path.strip("/")
_hub_base = f"/{_hub_path}/" if _hub_path else "/"
for _service in c.JupyterHub.services:
    if _service.get("url"):  # the proxy keeps the prefix: the service serves under it
        _name = _service["name"]
        _prefix = f"{_hub_base}services/{_name}/"
        c.Spawner.environment[f"NBCAMPUS_{_name.upper()}_URL"] = _service["url"] + _prefix
# nbgrader's Create Assignment panel in the Labs of those the campus's records name as course
# authors (hub/authoring.py; JupyterHub calls it with the spawner at each start).
c.Spawner.environment["NBCAMPUS_AUTHORING"] = authoring_env
configure_profile(c, settings)

# --- the operator's own additions -----------------------------------------------------------
extra = settings.data_dir / "jupyterhub_config_extra.py"
if extra.exists():
    load_subconfig(str(extra))  # noqa: F821 - provided by traitlets

# The memory a pre-warmed student server is counted at against NBCAMPUS_PREWARM_MEMORY: the
# profile's memory limit for a student, as configured above or in the extra config.
for _service in c.JupyterHub.services:
    if _service.get("name") == "campus":
        _service["environment"] = {
            **_service.get("environment", {}),
            "NBCAMPUS_SERVER_MEMORY": str(student_server_memory(c, settings)),
        }
