"""Background work for the viewer: every file read and every computation runs off the UI thread.

A `Job` wraps a plain function `fn(progress, cancelled) -> result`; its signals arrive on the UI
thread (queued connections), so slots may touch widgets. Cancelling sets a flag the function
checks between steps; a cancelled job's result is dropped. VTK's readers release the GIL, so a
GLB read in a worker leaves the event loop responsive.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot

from assets_manifest.errors import StadtzeitError
from viewer.model.scene import Cancelled

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
JobFn = Callable[[Progress, Callable[[], bool]], Any]


class _JobSignals(QObject):
    # the job travels with each signal so the Loader's slots (UI thread) know whose it is
    progress = Signal(object, float, str)
    done = Signal(object, object)
    failed = Signal(object, str)


class Job(QRunnable):
    """One unit of background work with progress, cancel and a user-readable failure."""

    def __init__(self, name: str, fn: JobFn):
        super().__init__()
        self.setAutoDelete(False)  # the Loader keeps it until its signals are delivered
        self.name = name
        self.fn = fn
        self.signals = _JobSignals()
        self._cancel = threading.Event()
        self.on_done: Callable[[Any], None] | None = None
        self.on_failed: Callable[[str], None] | None = None

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:
        def progress(fraction: float, text: str = "") -> None:
            if not self._cancel.is_set():
                self.signals.progress.emit(self, float(fraction), text)
        try:
            result = self.fn(progress, self._cancel.is_set)
        except Cancelled:
            self.signals.done.emit(self, None)  # lets the Loader forget it
            return
        except StadtzeitError as exc:
            self.signals.failed.emit(self, str(exc))
        except MemoryError:
            self.signals.failed.emit(self, f"{self.name}: not enough memory")
        except Exception as exc:  # noqa: BLE001 - shown as a message, never as a crash
            log.error("job %s failed:\n%s", self.name, traceback.format_exc())
            self.signals.failed.emit(self, f"{self.name}: {type(exc).__name__}: {exc}")
        else:
            self.signals.done.emit(self, result)


class Loader(QObject):
    """Runs jobs on its own thread pool and reports overall activity for the status bar."""

    busy = Signal(bool)
    progress = Signal(float, str)   # of the most recent reporting job

    def __init__(self, parent: QObject | None = None, threads: int = 2):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self.jobs: dict[str, Job] = {}
        self._running: set[Job] = set()

    def submit(self, name: str, fn: JobFn, on_done: Callable[[Any], None] | None = None,
               on_failed: Callable[[str], None] | None = None, priority: int = 0) -> Job:
        """Start `fn` in the background (higher priority first); a running job of the same
        name is cancelled first."""
        old = self.jobs.get(name)
        if old is not None:
            old.cancel()
        job = Job(name, fn)
        job.on_done, job.on_failed = on_done, on_failed
        q = Qt.ConnectionType.QueuedConnection
        job.signals.done.connect(self._done, q)
        job.signals.failed.connect(self._failed, q)
        job.signals.progress.connect(self._progress, q)
        self.jobs[name] = job
        self._running.add(job)
        self.busy.emit(True)
        self.pool.start(job, priority)
        return job

    def _finish(self, job: Job) -> None:
        self._running.discard(job)
        if self.jobs.get(job.name) is job:
            del self.jobs[job.name]
        self.busy.emit(bool(self.jobs))

    @Slot(object, object)
    def _done(self, job: Job, result: Any) -> None:
        self._finish(job)
        if job.on_done and not job.cancelled:
            job.on_done(result)

    @Slot(object, str)
    def _failed(self, job: Job, message: str) -> None:
        self._finish(job)
        if job.on_failed and not job.cancelled:
            job.on_failed(message)

    @Slot(object, float, str)
    def _progress(self, job: Job, fraction: float, text: str) -> None:
        if not job.cancelled:
            self.progress.emit(fraction, text)

    def cancel_all(self) -> None:
        for job in list(self.jobs.values()):
            job.cancel()
        self.jobs.clear()
        self.busy.emit(False)

    def wait(self, msecs: int = 30000) -> bool:
        return self.pool.waitForDone(msecs)

    @property
    def idle(self) -> bool:
        return not self._running


class MeshCache:
    """Loaded meshes by key, least recently used dropped beyond a byte budget."""

    def __init__(self, max_bytes: int = 1_500_000_000):
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, Any] = OrderedDict()

    def get(self, key: str) -> Any | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: str, mesh: Any, keep: set[str] | None = None) -> None:
        self._items[key] = mesh
        self._items.move_to_end(key)
        keep = keep or set()
        while self.nbytes > self.max_bytes and len(self._items) > 1:
            victim = next((k for k in self._items if k not in keep and k != key), None)
            if victim is None:
                break
            del self._items[victim]

    def __contains__(self, key: str) -> bool:
        return key in self._items

    @property
    def nbytes(self) -> int:
        return sum(getattr(m, "nbytes", 0) for m in self._items.values())

    def as_dict(self) -> dict[str, Any]:
        return dict(self._items)

    def clear(self) -> None:
        self._items.clear()
