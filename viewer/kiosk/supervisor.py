"""The kiosk's supervisor (no Qt): runs the UI as a child process and starts it again, into
the attract loop, when it crashes, is killed, or hangs (no heartbeat for `hang_seconds`);
restarts it every night at `nightly_restart` if asked; stops only when the child exits with
0 (the staff PIN) or when it is itself told to stop (SIGTERM/SIGINT, e.g. by systemd).

The child writes a heartbeat file from its event loop once a second (and on every screen
change): ``<unix time> <screen> <frames drawn>``. A hung UI thread stops writing it.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

log = logging.getLogger(__name__)

POLL_S = 0.2
START_GRACE_S = 30.0        # a fresh child may take this long for its first heartbeat
RESTART_BACKOFF_S = (0.0, 0.0, 1.0, 2.0, 5.0)   # after quick successive crashes


def next_nightly(hhmm: str | None, now: datetime) -> datetime | None:
    if not hhmm:
        return None
    h, m = (int(v) for v in hhmm.split(":"))
    at = now.replace(hour=h, minute=m, second=0, microsecond=0)
    return at if at > now else at + timedelta(days=1)


def read_heartbeat(path: Path) -> tuple[float, str] | None:
    """(time, screen) of the last heartbeat, or None."""
    try:
        parts = path.read_text().split()
        return float(parts[0]), parts[1]
    except (OSError, ValueError, IndexError):
        return None


class Supervisor:
    def __init__(self, child_args: Sequence[str], hang_seconds: float = 10.0,
                 nightly_restart: str | None = None, heartbeat: Path | None = None,
                 env: dict[str, str] | None = None):
        self.child_args = list(child_args)
        self.hang_seconds = hang_seconds
        self.nightly = nightly_restart
        self.heartbeat = heartbeat or Path(tempfile.gettempdir()) / \
            f"stadtzeit-kiosk-{os.getpid()}.heartbeat"
        self.env = env
        self.child: subprocess.Popen | None = None
        self.restarts = 0
        self.stopping = False
        self._recent: list[float] = []

    def command(self) -> list[str]:
        return [sys.executable, "-m", "viewer.kiosk.app", *self.child_args,
                "--heartbeat", str(self.heartbeat), "--start", "attract"]

    def start_child(self) -> None:
        try:
            self.heartbeat.unlink()
        except FileNotFoundError:
            pass
        self.child = subprocess.Popen(self.command(), env=self.env)
        self._started = time.monotonic()
        log.info("kiosk UI started (pid %d)", self.child.pid)

    def _stop_child(self, sig: int = signal.SIGTERM, wait: float = 5.0) -> None:
        if self.child is None or self.child.poll() is not None:
            return
        self.child.send_signal(sig)
        try:
            self.child.wait(wait)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait()

    def hung(self) -> bool:
        beat = read_heartbeat(self.heartbeat)
        age_since_start = time.monotonic() - self._started
        if beat is None:
            return age_since_start > START_GRACE_S
        return time.time() - beat[0] > self.hang_seconds

    def run(self) -> int:
        """Until the child exits with 0 or we are told to stop; returns the exit code."""
        def stop(*_args) -> None:
            self.stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        nightly_at = next_nightly(self.nightly, datetime.now())
        self.start_child()
        while True:
            time.sleep(POLL_S)
            if self.stopping:
                self._stop_child()
                return 0
            code = self.child.poll()
            if code == 0:
                log.info("kiosk closed by staff")
                return 0
            if code is not None:
                log.error("kiosk UI ended with exit code %s: restarting it", code)
                self._restart()
                continue
            if self.hung():
                log.error("kiosk UI shows no heartbeat for %.0f s: killing and restarting it",
                          self.hang_seconds)
                self._stop_child(signal.SIGKILL)
                self._restart()
                continue
            if nightly_at is not None and datetime.now() >= nightly_at:
                log.info("nightly restart")
                self._stop_child()
                nightly_at = next_nightly(self.nightly, datetime.now() + timedelta(minutes=1))
                self._restart(planned=True)

    def _restart(self, planned: bool = False) -> None:
        now = time.monotonic()
        if not planned:
            self._recent = [t for t in self._recent if now - t < 60] + [now]
            pause = RESTART_BACKOFF_S[min(len(self._recent) - 1, len(RESTART_BACKOFF_S) - 1)]
            time.sleep(pause)  # a crash loop must not spin the CPU
        self.restarts += 1
        self.start_child()
