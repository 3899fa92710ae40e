"""Bursts of Ctrl+C end VR mode cleanly: no deadlock in the handler, no KeyboardInterrupt."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The frame loop's shape: poll the flag between "frames" that wait on a lock, as
# xrWaitFrame does; then keep running while more signals arrive (the session's teardown).
CHILD = """
import sys, threading, time
from viewer.vr.interrupt import stop_on_sigint
lock = threading.Lock()
with stop_on_sigint() as stop:
    print("ready", flush=True)
    while not stop.is_set():
        with lock:
            time.sleep(0.0005)
    end = time.monotonic() + 2.0      # longer than the burst: the session's teardown
    while time.monotonic() < end:
        with lock:
            pass
print("clean", flush=True)
"""


@pytest.mark.parametrize("run", range(3))
def test_sigint_burst_ends_cleanly(run: int) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    assert proc.stdout.readline().strip() == "ready"
    # a one-second barrage (tens of thousands of signals): with a lock-taking handler
    # (threading.Event.set) about one run in three deadlocks
    end = time.monotonic() + 1.0
    while time.monotonic() < end and proc.poll() is None:
        os.kill(proc.pid, signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the process hung after a burst of SIGINT (handler deadlock)")
    assert proc.returncode == 0, err
    assert out.strip() == "clean" and "KeyboardInterrupt" not in err


def test_previous_handler_restored() -> None:
    from viewer.vr.interrupt import stop_on_sigint

    before = signal.getsignal(signal.SIGINT)
    with stop_on_sigint() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)
        assert stop.is_set()
    assert signal.getsignal(signal.SIGINT) is before
