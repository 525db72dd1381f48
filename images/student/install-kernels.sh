#!/bin/sh
# Install the kernelspecs into the image's environment ($1, the venv prefix): Python's
# ipykernel, and the nbcampus C kernel (which also compiles its runner against libtcc now,
# not on a student's first cell).
set -eu
prefix="$1"
"$prefix/bin/python" -m ipykernel install --prefix "$prefix" --name python3 >/dev/null
"$prefix/bin/python" -m nbcampus.ckernel install --prefix "$prefix"
# Installed as root from private temporary folders: make them readable by the image's user.
chmod -R a+rX "$prefix/share/jupyter" "$prefix"/lib/python3*/site-packages/nbcampus
"$prefix/bin/jupyter" kernelspec list
