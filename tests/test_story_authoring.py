"""Authoring a story in the desktop viewer's dock, in a real window, saved to a real archive."""

from __future__ import annotations

import pytest
from viewer_fixtures import E1, E2, SITE, build_archive, ensure_display

_no_display = ensure_display()
pytestmark = [pytest.mark.gui,
              pytest.mark.skipif(_no_display is not None, reason=_no_display or "")]

from PySide6.QtWidgets import QApplication  # noqa: E402

from viewer.desktop.main_window import MainWindow  # noqa: E402
from viewer.model.state import Camera, CompareMode  # noqa: E402
from viewer.model.stories import read_stories  # noqa: E402


def test_add_reorder_edit_preview_save(qtbot, tmp_path):
    if QApplication.platformName() not in ("xcb", "wayland"):
        pytest.skip("needs X for OpenGL widgets")
    built = build_archive(tmp_path, epochs=(E1, E2))
    w = MainWindow(language="en")
    qtbot.addWidget(w)
    w.resize(1100, 700)
    w.show()
    w.open_archive(built.root)
    qtbot.waitUntil(lambda: bool(w.model.sites), timeout=15000)
    w.open_site(SITE)
    qtbot.waitUntil(lambda: w.model.camera is not None, timeout=15000)
    panel = w.stories
    assert not panel.dock.isVisible()              # closed until View → Stories opens it
    panel.dock.toggleViewAction().trigger()
    assert panel.dock.isVisible()
    assert panel.isEnabled() and panel.picker.currentData() == "__new__"
    m = w.model

    # stop 1: epoch 1 alone; stop 2: swipe 1 -> 2 from elsewhere
    m.set_epoch(E1)
    panel.add_current_view()
    m.set_compare_mode(CompareMode.SWIPE)
    m.set_epoch(E2)
    far = Camera((90.0, -90.0, 80.0), (0.0, 0.0, 0.0))
    m.set_camera(far)
    panel.add_current_view()
    assert [s["compare"] for s in panel.doc["stops"]] == ["single", "swipe"]
    panel.move(-1)                                       # reorder: the swipe first
    assert [s["compare"] for s in panel.doc["stops"]] == ["swipe", "single"]
    panel.stops.setCurrentRow(0)
    qtbot.keyClicks(panel.stop_title_de, "Halle weg")
    qtbot.keyClicks(panel.stop_title_en, "Hall gone")
    panel.stop_text_en.setPlainText("The old hall was demolished.")
    qtbot.keyClicks(panel.story_id, "hall")
    qtbot.keyClicks(panel.title_en, "The hall")

    # preview puts the stop on the model
    m.set_compare_mode(CompareMode.SINGLE)
    m.set_camera(Camera((1.0, 1.0, 200.0), (0.0, 0.0, 0.0)))
    panel.preview_stop()
    assert m.compare_mode == CompareMode.SWIPE and (m.epoch_a, m.epoch) == (E1, E2)
    assert m.camera.position == pytest.approx(far.position, abs=1e-3)

    # an invalid story is refused with the field named, nothing written
    before = built.archive.read(SITE).number
    panel.stop_title_en.clear()
    panel.stop_title_de.clear()
    panel._edited()
    assert not panel.save_to_archive(confirm=False)
    assert "stops[0] (stop-2).title" in panel.status.text()
    assert built.archive.read(SITE).number == before

    qtbot.keyClicks(panel.stop_title_en, "Hall gone")
    assert panel.save_to_archive(confirm=False)
    qtbot.waitUntil(lambda: "archive version" in panel.status.text(), timeout=15000)
    v = built.archive.read(SITE)
    assert v.number == before + 1
    stories, errors = read_stories(v)
    assert not errors and stories[0].id == "hall"
    assert stories[0].stops[0].title.en == "Hall gone"
    assert stories[0].stops[0].text.en == "The old hall was demolished."
    assert panel.picker.currentData() == "hall"
    w.close()
