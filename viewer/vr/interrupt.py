"""Ctrl+C in VR mode: a request to end the session at the next frame, never an exception
inside the runtime's calls."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class StopFlag:
    """Set by the SIGINT handler, read once a frame.

    A plain attribute on purpose: a handler that takes a lock (`threading.Event.set`) deadlocks
    when a second SIGINT arrives while the first handler still holds that lock."""

    def __init__(self) -> None:
        self.requested = False

    def set(self, *_: object) -> None:
        self.requested = True

    def is_set(self) -> bool:
        return self.requested


@contextmanager
def stop_on_sigint() -> Iterator[StopFlag]:
    """Ctrl+C (any number of times) ends the session cleanly instead of raising mid-call."""
    stop = StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.signal(signal.SIGINT, stop.set)
    # restart interrupted system calls: an EINTR inside the runtime's own IPC (Monado's
    # recvmsg in xrWaitSwapchainImage) would otherwise lose the instance mid-frame
    signal.siginterrupt(signal.SIGINT, False)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)
