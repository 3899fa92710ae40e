"""One thread that draws the frames of the raster views, so the UI thread never waits for one.

On software OpenGL a full-resolution frame of a two-mesh scene (a swipe, a crossfade) costs
250-400 ms; drawn on the UI thread, every touch in that time waits for it. VTK's Python wrapping
releases the GIL while it renders, so a frame drawn here leaves the UI thread free.

The rule that keeps it safe, as in Qt Quick's threaded render loop: **while a frame is being
drawn, the UI thread does not touch VTK** (scene, camera, actors, the render window). What it
wants to change then waits in `when_idle` and runs, on the UI thread, right after the frame,
before the next one starts. Frames start only from the event loop (never inside an input
handler that is still changing the camera), one at a time for all views: views may share a
camera (the desktop's side-by-side compare). The OpenGL context of a view is current in this
thread while its frame is drawn and in the UI thread otherwise, where releasing resources
(removed actors, textures) needs it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal

log = logging.getLogger(__name__)


class Drawable(Protocol):
    def can_draw(self) -> bool: ...          # UI thread: still open and shown
    def before_frame(self) -> None: ...      # UI thread: hand the GL context over
    def draw(self) -> None: ...              # frame thread: render and read the pixels back
    def after_frame(self) -> None: ...       # UI thread: take the context and the frame back


class FrameWorker(QObject):
    """The frame thread and its queue of views waiting for a frame (see the module's notes)."""

    _drawn = Signal(int)  # emitted on the frame thread, delivered on the UI thread (queued)

    def __init__(self) -> None:
        super().__init__()
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._waiting: dict[int, Drawable] = {}   # views wanting a frame, in order of asking
        self._current: Drawable | None = None
        self._frame = 0                            # number of the frame in flight
        self._started = 0.0                        # when it started (monotonic seconds)
        self._done = threading.Event()
        self._done.set()
        self._idle_calls: list[Callable[[], None]] = []
        self._kick_queued = False
        self._drawn.connect(self._on_drawn)
        threading.Thread(target=self._run, name="stadtzeit-frames", daemon=True).start()

    @property
    def busy(self) -> bool:
        """A frame is being drawn: the UI thread must not touch VTK now."""
        return self._current is not None

    def drawing_for(self) -> float:
        """Seconds the frame in flight has been drawn (0 when none): a frame thread stuck in
        the driver shows here, while the UI thread itself goes on."""
        return time.monotonic() - self._started if self.busy else 0.0

    def when_idle(self, call: Callable[[], None]) -> None:
        """Run `call` on the UI thread now, or right after the frame being drawn."""
        if self.busy:
            self._idle_calls.append(call)
        else:
            call()

    def request(self, view: Drawable) -> None:
        """Draw a frame of `view` soon (once, however often it is asked before it starts)."""
        self._waiting.setdefault(id(view), view)
        if not self.busy and not self._kick_queued:
            self._kick_queued = True
            QTimer.singleShot(0, self, self._kick)

    def finish(self) -> None:
        """Block until no frame is drawn or waiting (for a caller that needs the picture or
        the scene as it is now: an export, a pick, a test)."""
        while self.busy or self._waiting:
            if not self.busy:
                self._kick()
                continue
            self._done.wait()
            self._on_drawn(self._frame)

    def _kick(self) -> None:
        self._kick_queued = False
        while not self.busy and self._waiting:
            view = self._waiting.pop(next(iter(self._waiting)))
            try:
                if not view.can_draw():
                    continue
            except RuntimeError:  # its widget was deleted while it waited
                continue
            view.before_frame()
            self._current, self._frame = view, self._frame + 1
            self._started = time.monotonic()
            self._done.clear()
            self._jobs.put((self._frame, view))

    def _run(self) -> None:  # the frame thread
        while True:
            frame, view = self._jobs.get()
            try:
                view.draw()
            except Exception:  # a failed frame must not end the thread: log it, go on
                log.exception("drawing a frame failed")
            self._done.set()
            self._drawn.emit(frame)

    def _on_drawn(self, frame: int) -> None:
        if self._current is None or frame != self._frame:
            return  # already taken over by `finish`
        view, self._current = self._current, None
        try:
            view.after_frame()
        except RuntimeError:  # its widget was deleted while the frame was drawn
            log.debug("a view went while its frame was drawn")
        calls, self._idle_calls = self._idle_calls, []
        for call in calls:
            call()
        self._kick()


_worker: FrameWorker | None = None


def frame_worker() -> FrameWorker:
    """The process's frame thread (started with the first raster view)."""
    global _worker
    if _worker is None:
        _worker = FrameWorker()
    return _worker


def drawing_for() -> float:
    """Seconds the frame in flight has been drawn; 0 when none, or with no frame thread."""
    return _worker.drawing_for() if _worker is not None else 0.0
