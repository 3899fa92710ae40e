"""File → Export… in a real viewer window (Xvfb + Mesa) on a real archive."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from viewer_fixtures import ATTRIBUTION, E1, E2, LICENCE, SITE, build_archive, ensure_display

_no_display = ensure_display()  # before any QApplication exists
pytestmark = [pytest.mark.gui,
              pytest.mark.skipif(_no_display is not None, reason=_no_display or "")]

from PySide6.QtWidgets import QApplication  # noqa: E402

from viewer.desktop.main_window import MainWindow  # noqa: E402
from viewer.model.state import Camera  # noqa: E402

VIEW = Camera((30.0, -120.0, 90.0), (0.0, 0.0, 0.0), (0.0, 0.0, 1.0), 30.0)


@pytest.fixture(scope="module")
def two_epochs(tmp_path_factory):
    return build_archive(tmp_path_factory.mktemp("two"), epochs=(E1, E2))


@pytest.fixture
def window(qtbot, two_epochs):
    if QApplication.platformName() not in ("xcb", "wayland"):
        pytest.skip("needs an X display for the viewer's OpenGL widgets")
    w = MainWindow(language="en")
    qtbot.addWidget(w)
    w.resize(900, 600)
    w.show()
    w.open_archive(two_epochs.root)
    qtbot.waitUntil(lambda: bool(w.model.sites), timeout=15000)
    w.open_site(SITE)
    qtbot.waitUntil(lambda: bool(w.view_area.primary.layers), timeout=15000)
    w.model.set_camera(VIEW)
    return w


def test_export_still_from_the_current_view(qtbot, window, tmp_path):
    from PIL import Image

    dialog = window.open_export_dialog()
    assert dialog is not None and window.actions_by_name["export"].text() == "&Export…"
    assert LICENCE in dialog.licence.text() and ATTRIBUTION in dialog.licence.text()
    preview = dialog.render_preview()
    px = np.array([[preview.pixelColor(x, y).red() for x in range(0, 320, 8)]
                   for y in range(0, 180, 8)])
    assert px.std() > 5                                  # a picture, not a blank
    dialog.kind.setCurrentIndex(dialog.kind.findData("still"))
    dialog.size.setCurrentIndex(0)
    out = tmp_path / "view.png"
    dialog.out.setText(str(out))
    dialog.start()
    qtbot.waitUntil(lambda: not dialog.running, timeout=120000)
    assert dialog.result_text == str(out), dialog.status.text()
    with Image.open(out) as im:
        assert im.size == (1280, 720)
        assert im.text["Licence"] == LICENCE and im.text["Epochs"] == window.model.epoch
        assert im.text["Camera"].startswith("position 30.000 -120.000 90.000")
    dialog.close()


def test_cancel_leaves_nothing_behind(qtbot, window, tmp_path):
    dialog = window.open_export_dialog()
    dialog.kind.setCurrentIndex(dialog.kind.findData("turntable"))
    dialog.size.setCurrentIndex(0)
    dialog.out.setText(str(tmp_path / "turn.mp4"))
    progressed: list[float] = []
    dialog.start()
    dialog._worker.progress.connect(lambda f, _w: progressed.append(f))
    qtbot.waitUntil(lambda: bool(progressed), timeout=60000)
    dialog.cancel()
    qtbot.waitUntil(lambda: not dialog.running, timeout=60000)
    assert "Cancelled" in dialog.status.text()
    assert list(Path(tmp_path).iterdir()) == []
    dialog.close()
