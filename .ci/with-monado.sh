#!/usr/bin/env bash
# Run a command as the OpenXR client of a private, headless Monado: simulated HMD, null
# compositor (no display, no GPU: Vulkan through lavapipe). Inside the XR root
# (.ci/xr-root.sh run '.ci/with-monado.sh ...') or on Debian 13 with monado-service installed.
#
# usage: .ci/with-monado.sh command [args...]     exits with the command's exit code
#   MONADO_CONTROLLERS=1   adds two simulated controllers (simple_controller profile)
#   XRT_COMPOSITOR_NULL=0  Monado's real compositor instead (needs a display, e.g. Xvfb)
set -uo pipefail
command -v monado-service >/dev/null || {
  echo "with-monado: monado-service not found (Debian 13: apt install monado-service" \
       "libopenxr1-monado; on Debian 12 use .ci/xr-root.sh)" >&2
  exit 2
}
# A runtime folder of our own: one service per client, nothing shared with other runs.
XDG_RUNTIME_DIR=$(mktemp -d -t monado.XXXXXX)
export XDG_RUNTIME_DIR
chmod 700 "$XDG_RUNTIME_DIR"
log=$XDG_RUNTIME_DIR/monado.log
controllers=()
[ "${MONADO_CONTROLLERS:-0}" = 1 ] && controllers=(SIMULATED_LEFT=simple SIMULATED_RIGHT=simple)

# XRT_NO_STDIN: without it the service quits when stdin is not a terminal.
env XRT_COMPOSITOR_NULL="${XRT_COMPOSITOR_NULL:-1}" SIMULATED_ENABLE=1 XRT_NO_STDIN=1 \
  VK_DRIVER_FILES="${VK_DRIVER_FILES:-/usr/share/vulkan/icd.d/lvp_icd.json}" \
  "${controllers[@]}" monado-service </dev/null >"$log" 2>&1 &
service=$!
echo "$service" >"$XDG_RUNTIME_DIR/monado.pid"   # for tests that take the runtime away
stop() {
  kill "$service" 2>/dev/null
  wait "$service" 2>/dev/null
  rm -rf "$XDG_RUNTIME_DIR"
}
trap stop EXIT

for _ in $(seq 1 500); do   # ready within a second on a quiet machine; allow 10 s under load
  grep -q "The Monado service has started" "$log" 2>/dev/null && break
  if ! kill -0 "$service" 2>/dev/null; then
    echo "with-monado: monado-service exited during start-up:" >&2
    cat "$log" >&2
    exit 2
  fi
  sleep 0.02
done
grep -q "The Monado service has started" "$log" || { echo "with-monado: service not ready after 10 s" >&2; cat "$log" >&2; exit 2; }

export XR_RUNTIME_JSON=/usr/share/openxr/1/openxr_monado.json
# the client library logs every instance at info level; keep test output to what matters
export XRT_LOG=${XRT_LOG:-warning} OXR_LOG=${OXR_LOG:-warning}
export STADTZEIT_MONADO_LOG=$log
"$@"
