#!/bin/sh
# Install into the image's environment ($1, the venv prefix): the kernelspecs of Python's
# ipykernel and of the nbcampus C kernel (which also compiles its runner against libtcc now,
# not on a student's first cell), and the nbcampus lab extension.
set -eu
prefix="$1"
"$prefix/bin/python" -m ipykernel install --prefix "$prefix" --name python3 >/dev/null
"$prefix/bin/python" -m nbcampus.ckernel install --prefix "$prefix"
# The campus lab extension: its prebuilt labextension (built by scripts/setup.sh, npm) and
# the server extension that forwards to the campus and grader services.
lab=/tmp/nbcampus/src/extensions/lab
if [ -f "$lab/nbcampus_lab/labextension/package.json" ]; then
  mkdir -p "$prefix/share/jupyter/labextensions/@nbcampus" "$prefix/etc/jupyter/jupyter_server_config.d"
  cp -r "$lab/nbcampus_lab/labextension" "$prefix/share/jupyter/labextensions/@nbcampus/lab"
  cp "$lab/jupyter-config/server-config/nbcampus-lab.json" "$prefix/etc/jupyter/jupyter_server_config.d/"
else
  echo "the lab extension is not built in this checkout (scripts/setup.sh builds it)" >&2
  exit 1
fi
# Students' nbgrader talks to the grader service over HTTP (no shared exchange folder), their
# terminals keep the environment's PATH, and the Lab's defaults: the same files scripts/setup.sh installs into the venv.
settings=/tmp/nbcampus/src/hub/lab-settings
mkdir -p "$prefix/etc/jupyter" "$prefix/share/jupyter/lab/settings"
cp "$settings/nbgrader_config.py" "$prefix/etc/jupyter/nbgrader_config.py"
cp "$settings/jupyter_server_config.py" "$prefix/etc/jupyter/jupyter_server_config.py"
cp "$settings/overrides.json" "$prefix/share/jupyter/lab/settings/overrides.json"
# nbgrader's instructor tools (formgrader, course list, create-assignment) are not for
# students' servers: the campus panel and the grader service take their place, and the
# formgrader alone adds seconds to every server start (as scripts/setup.sh does for the venv).
# Validate and the assignment list stay, served by nbcampus.lab, which imports nbgrader on
# their first use (nbgrader_lazy.py). jupyter_lsp serves language servers; none is installed.
"$prefix/bin/jupyter" server extension disable --sys-prefix \
  nbgrader.server_extensions.formgrader nbgrader.server_extensions.course_list \
  nbgrader.server_extensions.assignment_list nbgrader.server_extensions.validate_assignment jupyter_lsp \
  >/dev/null
"$prefix/bin/jupyter" labextension disable --level=sys_prefix \
  @jupyter/nbgrader:formgrader @jupyter/nbgrader:course-list @jupyter/nbgrader:create-assignment \
  >/dev/null
# Installed as root from private temporary folders: make them readable by the image's user.
chmod -R a+rX "$prefix/share/jupyter" "$prefix"/lib/python3*/site-packages/nbcampus
"$prefix/bin/jupyter" kernelspec list
