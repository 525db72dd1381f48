#!/usr/bin/env bash
# Debian packages nbcampus and its tests need; installs only what is missing (run as root).
set -euo pipefail
packages=(
  chromium          # browser tests (headless)
  bubblewrap        # grading sandbox (namespaces)
  podman            # docker profile: containers through the Docker-compatible API
  runc              # podman's runtime here (crun fails on hybrid cgroup hierarchies)
  debootstrap       # building the base image without a registry
  gcc libc6-dev     # C kernel
  tcc libtcc-dev    # C kernel: in-memory compiler of the cell runner
  fonts-dejavu-core # readable screenshots; the certificate PDF's Unicode font
  poppler-utils     # tests: a certificate PDF turned into an image (pdftoppm) and text
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# PostgreSQL 15 server binaries (the tests start a private cluster).
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
