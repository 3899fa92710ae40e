"""Is there an OpenXR runtime with a headset? Asked without loading OpenXR into the caller:
the desktop viewer offers "Open in VR" from this, and `stadtzeit vr` refuses early."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_PROBE = "from viewer.vr.session import probe; probe()"


def runtime_available(timeout: float = 15.0) -> bool:
    """True when an OpenXR runtime with a headset answers: for offering "Open in VR".

    Asked in a child process, so no runtime library ever loads into the caller (a desktop
    viewer keeps running whatever the runtime does); a few hundred milliseconds, so call it off
    the UI thread. False at once when no runtime is configured at all (Linux).
    """
    if sys.platform.startswith("linux") and not runtime_configured():
        return False
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True,
                              timeout=timeout, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def runtime_configured() -> bool:
    """An OpenXR runtime manifest where the loader looks for one on Linux."""
    if os.environ.get("XR_RUNTIME_JSON"):
        return Path(os.environ["XR_RUNTIME_JSON"]).is_file()
    dirs = [os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")]
    dirs += (os.environ.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":")
    dirs += ["/etc"]
    return any(Path(d, "openxr", "1", "active_runtime.json").is_file() for d in dirs if d)
