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


#: The UI's smallest point size: Qt scales points with the screen's DPI (so 4K screens get more
#: pixels per letter), but a platform default of 9 pt reads small at a desk.
BASE_POINT_SIZE = 10.0
LARGER = 1.3


_platform_font: list = []   # the platform's font, before the first change


def set_text_size(app, larger: bool) -> None:
    """The application font: the platform's, at least BASE_POINT_SIZE, ×LARGER on request."""
    from PySide6.QtGui import QFont

    if not _platform_font:
        _platform_font.append(QFont(app.font()))
    font = QFont(_platform_font[0])
    font.setPointSizeF(max(font.pointSizeF(), BASE_POINT_SIZE) * (LARGER if larger else 1.0))
    app.setFont(font)


def quiet_vtk() -> None:
    """VTK's own error lines ("ERROR: In vtkGLTFDocumentLoader.cxx, line 686") stay off the
    console: the viewer reports what went wrong, and what to do, in its banner."""
    from vtkmodules.vtkCommonCore import vtkOutputWindow, vtkStringOutputWindow

    vtkOutputWindow.SetInstance(vtkStringOutputWindow())


def _splash(archive: Path, size: tuple[int, int] | None):
    """A plain Qt window saying what is opening, shown before the heavy imports."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QLabel

    label = QLabel(f"stadtzeit\n\n{archive}")
    label.setWindowTitle("stadtzeit")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet("background: #1f2327; color: #e8e8e8; font-size: 16pt;")
    label.resize(*(size or (1280, 800)))
    label.show()
    for _ in range(3):  # mapped and painted before the imports start
        QApplication.processEvents()
    return label


def run(archive: Path, site: str | None = None, epoch: str | None = None,
        screenshot: Path | None = None, language: str | None = None,
        compare: str | None = None, size: tuple[int, int] | None = None,
        timeout_s: float = 300.0, larger_text: bool = False) -> int:
    """Open the viewer; with `screenshot`, save one PNG once everything is drawn and exit."""
    check_display()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from viewer.allocator import return_freed_memory
    from viewer.qt.refcount import keep_constants_alive

    return_freed_memory()  # a long session reads and drops meshes: see allocator.py
    keep_constants_alive()  # PySide6 6.12 on Python 3.11 leaks None and True: see refcount.py
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("stadtzeit")
    quiet_vtk()
    set_text_size(app, larger_text)
    # a window at once: the 3D libraries (VTK, pyvista and what it pulls in) take seconds to
    # import on a cold start, and a user should see that the viewer is on its way
    splash = _splash(archive, size)
    from viewer.desktop.main_window import MainWindow

    window = MainWindow(language=language)
    if size:
        window.resize(*size)
    window.show()
    splash.close()
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
