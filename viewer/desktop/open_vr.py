"""View → Open in VR: the current site, epoch and view in a headset.

VR mode runs as its own process (`python -m viewer.commands.vr`), so whatever the runtime
does, the desktop viewer keeps running and no OpenXR library is ever loaded into it. Whether a
runtime with a headset answers is asked once in the background (`runtime_available`, a child
process); until then, and when none answers, the menu item is disabled and its tooltip says why
and what to do.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QAction, QKeySequence

from viewer.vr.runtime import runtime_available


class OpenInVR(QObject):
    """The menu action, its enabled state and the launch; `install(window)` wires it in."""

    answered = Signal(bool)   # from the probe's thread to the UI thread

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.available: bool | None = None   # None: still asking
        self.process: subprocess.Popen | None = None
        self.action = QAction(window)
        self.action.setObjectName("open-vr")
        self.action.setShortcut(QKeySequence("Ctrl+Shift+V"))
        self.action.triggered.connect(lambda _=False: self.launch())
        window.addAction(self.action)
        self.answered.connect(self._answered)
        model = window.model
        model.events.site.connect(self.update_state)
        model.events.epoch.connect(self.update_state)
        window.installEventFilter(self)   # LanguageChange reaches widgets, not this QObject
        self.retranslate()
        threading.Thread(target=lambda: self.answered.emit(runtime_available()),
                         name="vr-probe", daemon=True).start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if watched is self.window and event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        return False

    def _answered(self, ok: bool) -> None:
        self.available = ok
        self.update_state()

    def update_state(self, *_: object) -> None:
        site_open = self.window.model.site is not None
        self.action.setEnabled(bool(self.available) and site_open)
        if self.available is None:
            tip = self.tr("Looking for a VR headset…")
        elif not self.available:
            tip = self.tr("No VR runtime with a headset answered: start SteamVR or Monado "
                          "(see docs/VR.md), then restart the viewer.")
        elif not site_open:
            tip = self.tr("Open a site first.")
        else:
            tip = self.tr("Show this site, epoch and view in the headset.")
        self.action.setToolTip(tip)
        self.action.setStatusTip(tip)

    def retranslate(self) -> None:
        self.action.setText(self.tr("Open in &VR"))
        self.update_state()

    def command(self) -> list[str]:
        """`stadtzeit vr` for what the window shows now."""
        model = self.window.model
        args = [sys.executable, "-m", "viewer.commands.vr", model.site.id,
                "--archive", str(self.window.controller.store.path),
                "--language", model.language]
        if model.epoch:
            args += ["--epoch", model.epoch]
        cam = model.camera
        if cam is not None:
            view = [*cam.position, *cam.focal_point]
            args.append("--view=" + ",".join(f"{v:.3f}" for v in view))
        return args

    def launch(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.window.model.message("info", self.tr("VR mode is already running."))
            return
        root = str(Path(__file__).resolve().parents[2])
        self.process = subprocess.Popen(self.command(), cwd=root, start_new_session=True)


def install(window) -> OpenInVR:
    """Add View → Open in VR to a desktop main window."""
    item = OpenInVR(window)
    window.actions_by_name["open-vr"] = item.action
    window.menus["view"].addAction(item.action)
    return item
