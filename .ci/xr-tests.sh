#!/usr/bin/env bash
# The VR tests that need a real OpenXR runtime: inside the Debian 13 root (.ci/xr-root.sh,
# built or updated first, cached in .xr-root/), each pytest run as the client of its own
# headless Monado (.ci/with-monado.sh). The rest of the VR tests run on the host (.ci/test).
#
# usage: bash .ci/xr-tests.sh [pytest args...]       needs root (chroot, mount namespaces)
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/xr-root.sh >/dev/null
# no bytecode or cache written into the shared checkout; conftest.py is the host suite's
pytest="python -m pytest -p no:cacheprovider --noconftest -q tests/test_vr_runtime.py $*"
# first pass: the headset alone (deterministic pixels); second: with simulated controllers
bash .ci/xr-root.sh run ".ci/with-monado.sh $pytest -k 'not controllers'"
bash .ci/xr-root.sh run "MONADO_CONTROLLERS=1 .ci/with-monado.sh $pytest -k controllers"
