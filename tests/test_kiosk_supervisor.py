"""The supervisor brings a killed or hung kiosk UI back into the attract loop (real processes,
real window under Xvfb, real archive)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from viewer_fixtures import E1, E2, build_archive, ensure_display

from viewer.kiosk.supervisor import read_heartbeat

_no_display = ensure_display()
pytestmark = [pytest.mark.gui, pytest.mark.slow,
              pytest.mark.skipif(_no_display is not None, reason=_no_display or "")]

ROOT = Path(__file__).resolve().parents[1]


def heartbeat(path: Path) -> tuple[float, str, int] | None:
    try:
        t, screen, _frames, pid = path.read_text().split()
        return float(t), screen, int(pid)
    except (OSError, ValueError):
        return None


def wait_attract(path: Path, not_pid: int | None = None, timeout: float = 90) -> int:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        beat = heartbeat(path)
        if beat and beat[1] == "attract" and beat[2] != not_pid:
            return beat[2]
        time.sleep(0.05)
    raise AssertionError(f"no kiosk in the attract loop within {timeout} s")


def test_restart_after_sigkill_and_after_a_hang(tmp_path):
    built = build_archive(tmp_path, epochs=(E1, E2))
    beat = tmp_path / "kiosk.heartbeat"
    code = ("import sys; from pathlib import Path; from viewer.kiosk.supervisor import "
            "Supervisor; sys.exit(Supervisor(['--archive', sys.argv[1], '--size', "
            "'1280x720'], hang_seconds=3, heartbeat=Path(sys.argv[2])).run())")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    sup = subprocess.Popen([sys.executable, "-c", code, str(built.root), str(beat)], env=env)
    try:
        first = wait_attract(beat)
        os.kill(first, signal.SIGKILL)                  # a crash
        second = wait_attract(beat, not_pid=first)
        assert second != first
        os.kill(second, signal.SIGSTOP)                 # a hang: no more heartbeats
        third = wait_attract(beat, not_pid=second)
        assert third not in (first, second)
        assert read_heartbeat(beat)[1] == "attract"
    finally:
        sup.send_signal(signal.SIGTERM)                 # systemd stopping the service
        assert sup.wait(30) == 0
