#!/usr/bin/env bash
# All set-up on a fresh machine: system packages (when root), the Python virtualenv with
# nbcampus in editable mode, configurable-http-proxy from npm, kernels and the lab extension.
# Idempotent: a second run only checks.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

if [ "$(id -u)" = 0 ]; then
  bash scripts/install-system-deps.sh
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# pip prints a warning per missing local mirror on some machines; keep the log readable,
# but never hide a failed install.
if ! .venv/bin/pip install -q --disable-pip-version-check -e '.[dev]' > .venv/pip-install.log 2>&1; then
  grep -v '^WARNING: Location' .venv/pip-install.log >&2
  echo "setup: pip install failed (log: .venv/pip-install.log)" >&2
  exit 1
fi
# jsonschema imports rfc3987_syntax whenever it is installed (Jupyter's events ask for it), and
# that import builds Earley parsers for "iri" formats no schema here uses: ~1 s of CPU in every
# process that touches jsonschema, the `nbgrader` command an instructor types included.
# The campus's own entry points skip it (nbcampus/imports.py); without it installed, so does
# every other command of the environment.
.venv/bin/pip uninstall -q -y --disable-pip-version-check rfc3987-syntax >/dev/null 2>&1 || true

# configurable-http-proxy, the Hub's default proxy, lives in .tools/ (not global).
if [ ! -x .tools/node_modules/.bin/configurable-http-proxy ]; then
  mkdir -p .tools
  npm install --silent --no-audit --no-fund --prefix .tools configurable-http-proxy@^4.6 >/dev/null
fi

# JupyterLab defaults for every student: no news or update checks (the campus has no use for
# them, and they reach out to the internet); nbgrader's student side over HTTP to the grader;
# terminals that keep the environment's PATH (bin/nbgrader, bin/jupyter).
mkdir -p .venv/share/jupyter/lab/settings .venv/etc/jupyter
cp hub/lab-settings/overrides.json .venv/share/jupyter/lab/settings/overrides.json
cp hub/lab-settings/nbgrader_config.py .venv/etc/jupyter/nbgrader_config.py
cp hub/lab-settings/jupyter_server_config.py .venv/etc/jupyter/jupyter_server_config.py

# --- post-install steps of the parts (kernels, lab extension) go below ---

# The C kernel (extensions/ckernel): its kernelspec "C" in the venv, and its runner built
# against libtcc now rather than on a student's first cell.
.venv/bin/python -m nbcampus.ckernel install --sys-prefix >/dev/null

# The JupyterLab extension (extensions/lab): built from source when it changed (node and npm
# are here; students' servers need neither), linked where the venv's JupyterLab finds
# prebuilt extensions, and its server part enabled for every Jupyter server of this venv.
lab=extensions/lab
built="$lab/nbcampus_lab/labextension/package.json"
if [ ! -f "$built" ] || [ -n "$(find "$lab/src" "$lab/style" "$lab/schema" "$lab/package.json" -newer "$built" -print -quit)" ]; then
  (cd "$lab" && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build >/dev/null)
fi
mkdir -p .venv/share/jupyter/labextensions/@nbcampus .venv/etc/jupyter/jupyter_server_config.d
ln -sfn "$here/$lab/nbcampus_lab/labextension" .venv/share/jupyter/labextensions/@nbcampus/lab
cp "$lab/jupyter-config/server-config/nbcampus-lab.json" .venv/etc/jupyter/jupyter_server_config.d/

# nbgrader's own instructor tools (formgrader, course list, create-assignment) are not for
# students' servers: the campus panel and the grader service take their place, and the
# formgrader alone adds ~3 s to every server start. Students keep Validate and the
# assignment list (the nbgrader exchange, over HTTP): nbcampus.lab serves their routes and
# imports nbgrader on their first use (extensions/lab/nbcampus_lab/nbgrader_lazy.py).
# jupyter_lsp looks for some forty language servers at every start, and none is installed.
.venv/bin/jupyter server extension disable --sys-prefix \
  nbgrader.server_extensions.formgrader nbgrader.server_extensions.course_list \
  nbgrader.server_extensions.assignment_list nbgrader.server_extensions.validate_assignment \
  jupyter_lsp >/dev/null 2>&1
.venv/bin/jupyter labextension disable --level=sys_prefix \
  @jupyter/nbgrader:formgrader @jupyter/nbgrader:course-list @jupyter/nbgrader:create-assignment \
  >/dev/null 2>&1
