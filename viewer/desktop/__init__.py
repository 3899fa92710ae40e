"""The desktop viewer: Qt widgets over the model (`viewer/model/`), drawn by the VTK
renderer (`viewer/render/vtk_view.py`); `viewer/qt/controller.py` decides what to load (in
`viewer/qt/loader.py`'s worker threads) and what each view draws. See docs/VIEWER.md.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from assets_manifest.errors import StadtzeitError


class NoDisplayError(StadtzeitError):
    """The viewer needs a screen (or Xvfb)."""


def check_display() -> None:
    if sys.platform.startswith("linux") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
            or os.environ.get("QT_QPA_PLATFORM")):
        raise NoDisplayError(
            "no screen found (DISPLAY is not set): run the viewer on a desktop, or without one "
            "through Xvfb: xvfb-run -a -s '-screen 0 1920x1080x24' stadtzeit view ...")


def run(archive: Path, site: str | None = None, epoch: str | None = None,
        screenshot: Path | None = None, language: str | None = None,
        compare: str | None = None, size: tuple[int, int] | None = None,
        timeout_s: float = 300.0) -> int:
    """Open the viewer; with `screenshot`, save one PNG once everything is drawn and exit."""
    check_display()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from viewer.desktop.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("stadtzeit")
    window = MainWindow(language=language)
    if size:
        window.resize(*size)
    window.show()
    result = {"rc": 0}

    def sites_loaded() -> None:
        model = window.model
        target = site or (model.sites[0].id if len(model.sites) == 1 else None)
        if target:
            window.open_site(target, epoch)
            if compare:
                model.set_compare_mode(compare)
        elif screenshot and site is None and model.sites:
            window.open_site(model.sites[0].id, epoch)

    window.controller.sites_loaded.connect(sites_loaded)
    window.open_archive(archive)

    if screenshot:
        waited = {"ms": 0}

        def poll() -> None:
            waited["ms"] += 200
            c = window.controller
            if waited["ms"] > timeout_s * 1000:
                print(f"error: nothing to show after {timeout_s:.0f} s", file=sys.stderr)
                result["rc"] = 1
                window.close()
                return
            if not c.loader.idle or (site and not window.model.site):
                QTimer.singleShot(200, poll)
                return
            QTimer.singleShot(300, save)  # one more frame after the last mesh arrived

        def save() -> None:
            ok = window.save_screenshot(screenshot)
            if not ok:
                print(f"error: could not write {screenshot}", file=sys.stderr)
            result["rc"] = 0 if ok else 1
            window.close()

        QTimer.singleShot(200, poll)
    app.exec()
    return result["rc"]
