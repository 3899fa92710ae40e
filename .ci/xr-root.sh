#!/usr/bin/env bash
# A cached Debian 13 root for the VR tests: Monado (OpenXR runtime with a simulated HMD), Mesa
# (llvmpipe for OpenGL, lavapipe for Monado's Vulkan side), Xvfb, and a small venv with the
# project. Debian 12 has no Monado, and Monado's client library needs glibc >= 2.38, so on a
# Debian 12 host the test process itself runs inside this root.
#
# usage: .ci/xr-root.sh                 build or update the root, print its path
#        .ci/xr-root.sh run 'command'   run a bash command inside it (repository bound at /project)
#
# The root lives in .xr-root/ (gitignored; override with STADTZEIT_XR_ROOT). Each part is rebuilt
# only when its inputs change: the system when the package list does, the venv when the VR
# dependencies in pyproject.toml do. Needs root (debootstrap, chroot, mount namespaces) and, for
# a build, Debian's package mirror and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
PROJECT=$PWD
ROOT=${STADTZEIT_XR_ROOT:-$PROJECT/.xr-root/trixie}
VENV=/opt/venv   # inside the root

SYSTEM_PACKAGES=(
  monado-service libopenxr1-monado libopenxr-loader1 mesa-vulkan-drivers
  libgl1-mesa-dri libegl-mesa0 libegl1 libgl1 libglx-mesa0
  python3 python3-venv xvfb xauth ca-certificates
)
# What the VR path imports: the archive (ocfl-py, pydantic), GLB reading (numpy, pillow),
# OpenXR and OpenGL; versions come from pyproject.toml so the root tests what users install.
VR_DEPENDENCIES="numpy pillow pydantic ocfl-py pyopenxr PyOpenGL"
TEST_DEPENDENCIES="pytest"

# Run a bash command in the root, in a private mount namespace (nothing stays mounted), with a
# clean environment; STADTZEIT_XR_ENV may name extra variables to pass ("A=1 B=2").
in_root() {
  unshare --mount --propagation private --fork -- /bin/bash -euc '
    R=$1 P=$2 CMD=$3
    mount -t proc proc "$R/proc"
    mount -t sysfs sysfs "$R/sys"
    mount --rbind /dev "$R/dev"
    mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
    mkdir -p "$R/project"
    mount --bind "$P" "$R/project"
    # shellcheck disable=SC2086
    exec chroot "$R" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
      PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      PYTHONDONTWRITEBYTECODE=1 ${STADTZEIT_XR_ENV:-} /bin/bash -c "cd /project && $CMD"
  ' _ "$ROOT" "$PROJECT" "$*"
}

if [ "${1:-}" = run ]; then
  shift
  [ -x "$ROOT/$VENV/bin/python" ] || { echo "xr-root: no root at $ROOT; build it: .ci/xr-root.sh" >&2; exit 2; }
  in_root "$@"
  exit
fi

[ "$(id -u)" = 0 ] || { echo "xr-root: building the root needs root (debootstrap, chroot)" >&2; exit 2; }
mkdir -p "$(dirname "$ROOT")"
exec 9>"$(dirname "$ROOT")/.lock"
flock 9   # one build at a time; a second caller waits and then finds it done

system_key=$(printf '%s\n' trixie "${SYSTEM_PACKAGES[@]}" | sha256sum | cut -c1-16)
if [ "$(cat "$ROOT/.stadtzeit-system" 2>/dev/null)" != "$system_key" ]; then
  command -v debootstrap >/dev/null || { apt-get update -q >/dev/null; apt-get install -y -q debootstrap >/dev/null; }
  if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
    # the host's own mirror, so a machine behind a mirror or proxy builds the same way
    mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null \
             | grep -v -- -security | head -n1 || true)
    [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    echo "xr-root: debootstrap trixie into $ROOT (${mirror:-deb.debian.org})" >&2
    rm -rf "$ROOT"
    debootstrap --variant=minbase trixie "$ROOT" "${mirror:-http://deb.debian.org/debian}" >/dev/null
  fi
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
  echo "xr-root: apt-get install ${SYSTEM_PACKAGES[*]}" >&2
  in_root "apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends ${SYSTEM_PACKAGES[*]} >/dev/null && apt-get clean"
  echo "$system_key" >"$ROOT/.stadtzeit-system"
fi

# Requirement lines for the VR dependencies, as pyproject.toml spells them.
requirements=$(in_root "python3 - $VR_DEPENDENCIES" <<'EOF'
import re, sys, tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
norm = lambda s: re.sub(r"[-_.]+", "-", s).lower()
by_name = {norm(re.split(r"[\s\[<>=!~;]", d, maxsplit=1)[0]): d for d in deps}
print("\n".join(by_name.get(norm(n), n) for n in sys.argv[1:]))
EOF
)
venv_key=$(printf '%s\n' "$requirements" $TEST_DEPENDENCIES | sha256sum | cut -c1-16)
if [ "$(cat "$ROOT/$VENV/.stadtzeit-venv" 2>/dev/null)" != "$venv_key" ]; then
  echo "xr-root: venv with $(echo $requirements) $TEST_DEPENDENCIES" >&2
  printf '%s\n' "$requirements" $TEST_DEPENDENCIES >"$ROOT/tmp-requirements.txt"
  cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/host-ca.crt"  # pip trusts what the host trusts
  in_root "rm -rf $VENV && python3 -m venv $VENV && export PIP_CERT=/etc/host-ca.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1 && $VENV/bin/pip install -q -r /tmp-requirements.txt \
    && $VENV/bin/pip install -q --no-deps -e /project"
  rm -f "$ROOT/tmp-requirements.txt"
  echo "$venv_key" >"$ROOT/$VENV/.stadtzeit-venv"
fi
echo "$ROOT"
