"""The kiosk settles in once it shows its first frame: the modules a visitor's first "What
changed?" needs are imported, then everything made so far leaves the garbage collector's walk.

Why (docs/PERFORMANCE.md, kiosk): the last UI stalls of the 30-minute soak were the GIL, not
frames. Open3D's first import in a loader thread held it in stretches of up to ~100 ms, and a full
(generation-2) collection walked the ~320,000 objects the imports made (VTK, PySide, Open3D,
SciPy) for 150-180 ms, five times in 30 minutes, on whichever thread it fell. `gc.freeze()` moves
them into the permanent generation, which no collection walks; they live as long as the process
anyway. Objects made later are collected as before.

The imports run in a thread (1-2 s: on the UI thread they would stop the attract loop); the
collection and the freeze run once on the UI thread, after them (~160 ms, in the attract loop).
"""

from __future__ import annotations

import gc
import importlib
import logging
import threading
import time

from PySide6.QtCore import QObject, QTimer, Signal

log = logging.getLogger(__name__)

# what compute_pair_change imports in a loader thread the first time a pair has no product
WARM_MODULES = ("open3d", "processing.compare", "processing.change.c2m",
                "processing.change.regions")
LATEST_S = 5.0   # settle in this long after showing even if no frame was drawn (Home start)


class SettleIn(QObject):
    """`start()` once; `settled` is emitted on the UI thread when the freeze is done."""

    settled = Signal()
    _imported = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.done = False
        self._thread: threading.Thread | None = None
        self._imported.connect(self._freeze)   # queued: emitted from the import thread

    def after_first_frame(self, view) -> None:
        """Start once `view` has drawn its first frame (so the kiosk's own start is not slowed),
        or LATEST_S from now."""
        def first_frame() -> None:
            view.rendered.disconnect(first_frame)
            self.start()
        view.rendered.connect(first_frame)
        QTimer.singleShot(round(LATEST_S * 1000), self, self.start)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._import, name="stadtzeit-settle-in",
                                        daemon=True)
        self._thread.start()

    def _import(self) -> None:
        t0 = time.perf_counter()
        try:
            for name in WARM_MODULES:
                importlib.import_module(name)
        except Exception:   # noqa: BLE001 - a loader job will meet it again and report it
            log.exception("settling in: importing the change modules failed")
        log.info("settling in: change modules imported in %.1f s", time.perf_counter() - t0)
        self._imported.emit()

    def _freeze(self) -> None:
        t0 = time.perf_counter()
        gc.collect()        # the garbage of start-up is collected, not kept forever
        gc.freeze()
        self.done = True
        log.info("settling in: %d objects frozen in %.0f ms", gc.get_freeze_count(),
                 (time.perf_counter() - t0) * 1000)
        self.settled.emit()


__all__ = ["SettleIn", "WARM_MODULES"]
