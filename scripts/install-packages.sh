#!/usr/bin/env bash
# Installs the Debian packages the workbook needs (Debian 12 / Ubuntu 22.04+ names), only the
# missing ones. Run as root, or it uses sudo.
set -euo pipefail
packages=(cmake ninja-build g++ libtsan2 clang libclang-rt-14-dev libfmt-dev googletest libbenchmark-dev util-linux)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-packages: everything is installed"
  exit 0
fi
echo "install-packages: installing ${missing[*]}"
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# A release that names a package differently (e.g. clang's TSan runtime, libclang-rt-14-dev on
# Debian 12) gets a warning, not a failure: the g++ presets need only the rest.
available=()
for p in "${missing[@]}"; do
  if apt-cache show "$p" >/dev/null 2>&1; then
    available+=("$p")
  else
    echo "install-packages: WARNING: this release has no package $p; skipped" >&2
  fi
done
((${#available[@]} == 0)) || $sudo apt-get install -y -qq --no-install-recommends "${available[@]}"
