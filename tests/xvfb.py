"""Start a private Xvfb for tests: Xvfb picks a free display itself (-displayfd).

Choosing a number by looking for lock files collides when two runs start at once, or when one
runs in a root with a private /tmp: the lock files are hidden there, but X's abstract socket is
shared by the whole network namespace. With -displayfd the server tries numbers until it can
listen, then writes the one it got to our pipe.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time


class XvfbError(RuntimeError):
    pass


def start_xvfb(screen: str = "1920x1080x24", timeout: float = 30.0
               ) -> tuple[subprocess.Popen, str]:
    """A running Xvfb and its DISPLAY (":N"). The caller terminates the process."""
    exe = shutil.which("Xvfb")
    if exe is None:
        raise XvfbError("Xvfb is not installed (apt-get install xvfb)")
    read_fd, write_fd = os.pipe()
    try:
        proc = subprocess.Popen([exe, "-displayfd", str(write_fd), "-screen", "0", screen,
                                 "-nolisten", "tcp"], pass_fds=(write_fd,),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        os.close(write_fd)
    text, deadline = b"", time.monotonic() + timeout   # a fresh root compiles its keymap first
    try:
        while not text.endswith(b"\n") and time.monotonic() < deadline:
            ready, _, _ = select.select([read_fd], [], [], 0.1)
            if ready:
                chunk = os.read(read_fd, 64)
                if not chunk:
                    break
                text += chunk
    finally:
        os.close(read_fd)
    if not text.strip().isdigit():
        proc.kill()
        raise XvfbError(f"Xvfb did not start within {timeout:.0f} s "
                        f"(exit code {proc.poll()})")
    return proc, f":{text.strip().decode()}"
