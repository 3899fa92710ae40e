"""The museum kiosk in a real window (Xvfb + Mesa) over a real archive, driven by touch events
through QTest: every screen, a story to its end, idle -> attract -> touch -> Home, blocked
shortcuts, no dialogs, a damaged product, the archive byte-identical after the session, and the
staff exit."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from viewer_fixtures import E1, E2, E3, SITE, build_archive, ensure_display

from viewer.kiosk.config import KioskConfig, hash_pin

_no_display = ensure_display()  # before any QApplication exists
pytestmark = [pytest.mark.gui,
              pytest.mark.skipif(_no_display is not None, reason=_no_display or "")]

PIN = "2468"


# --------------------------------------------------------------------------- the window

def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    from viewer.model.stories import save_story

    built = build_archive(tmp_path_factory.mktemp("kiosk"), epochs=(E1, E2, E3))
    cam = {"position": [-80.0, -110.0, 90.0], "focal_point": [0.0, 0.0, 0.0]}
    save_story(built.archive, {
        "id": "tour", "site": SITE, "title": {"de": "Rundgang", "en": "Tour"},
        "stops": [
            {"id": "hall", "title": {"de": "Die Halle", "en": "The hall"},
             "text": {"de": "Hier stand eine Halle.", "en": "A hall stood here."},
             "camera": cam, "epoch": E1},
            {"id": "gone", "title": {"de": "Weg", "en": "Gone"},
             "text": {"de": "Abgerissen.", "en": "Demolished."}, "camera": cam,
             "epoch": E2, "epoch_a": E1, "compare": "swipe"},
            {"id": "new", "title": {"de": "Neu", "en": "New"},
             "text": {"de": "Ein Neubau.", "en": "A new building."}, "camera": cam,
             "epoch": E2, "epoch_a": E1, "compare": "heatmap"}]}, user="pytest")
    return built


@pytest.fixture(scope="module")
def kiosk(archive, qapp):
    from PySide6.QtWidgets import QApplication

    from viewer.kiosk.window import KioskWindow

    if QApplication.platformName() not in ("xcb", "wayland"):
        pytest.skip("needs X for OpenGL widgets")
    before = tree_digest(archive.root)
    config = KioskConfig(default_language="de", pin_hash=hash_pin(PIN),
                         admin_hold_seconds=2, idle_seconds=90)
    w = KioskWindow(config, archive.root, size=(1920, 1080), start="home")
    w.show_kiosk()
    deadline = time.monotonic() + 30
    while not w.model.sites and time.monotonic() < deadline:
        qapp.processEvents()
        time.sleep(0.02)
    yield w
    w.exit_allowed = True
    w.close()
    assert tree_digest(archive.root) == before, "the kiosk changed the archive"


def settle(qtbot, w, ms: int = 80) -> None:
    qtbot.waitUntil(lambda: w.controller.loader.idle, timeout=20000)
    qtbot.wait(ms)
    w.view.render_now()
    w.view.plotter.finish()  # the frame drawn (software GL: in its thread)


def touch(w, device, *ops) -> None:
    """One touch event of (op, finger, window point) steps. The sequence commits in its
    destructor: PySide6's `commit()` drops a reference to None each call (a long session
    of them ends in 'none_dealloc')."""
    from PySide6.QtTest import QTest

    seq = QTest.touchEvent(w, device)
    for op, finger, point in ops:
        getattr(seq, op)(finger, point, w)
    del seq


def tap(w, widget, pos=None) -> None:
    """One finger down and up on `widget` (window coordinates through the window)."""
    from PySide6.QtTest import QTest

    device = getattr(tap, "device", None) or QTest.createTouchDevice()
    tap.device = device
    p = widget.mapTo(w, pos if pos is not None else widget.rect().center())
    touch(w, device, ("press", 0, p))
    touch(w, device, ("release", 0, p))


def drag(w, widget, start, end, steps: int = 8) -> None:
    from PySide6.QtTest import QTest

    device = getattr(tap, "device", None) or QTest.createTouchDevice()
    tap.device = device
    a, b = widget.mapTo(w, start), widget.mapTo(w, end)
    touch(w, device, ("press", 0, a))
    for k in range(1, steps + 1):
        touch(w, device, ("move", 0, a + (b - a) * (k / steps)))
    touch(w, device, ("release", 0, b))


def home(qtbot, w) -> None:
    w.show_home()
    w.set_language("de")
    qtbot.wait(30)


def into_site(qtbot, w) -> None:
    home(qtbot, w)
    qtbot.waitUntil(lambda: SITE in w.home.tiles, timeout=20000)
    tap(w, w.home.tiles[SITE])
    qtbot.waitUntil(lambda: w.screen_name == "site", timeout=5000)
    qtbot.waitUntil(lambda: w.model.camera is not None, timeout=20000)
    settle(qtbot, w)


def test_home_tiles_language_and_sizes(qtbot, kiosk):
    w = kiosk
    home(qtbot, w)
    tile = w.home.tiles[SITE]
    assert tile.name.text() == "Testblock Altstadt" and tile.span.text() == "2019 – 2024"
    assert w.home.heading.text() == "Orte im Wandel der Zeit"
    tap(w, w.language.buttons["en"])
    qtbot.waitUntil(lambda: w.model.language == "en", timeout=2000)
    assert tile.name.text() == "Old town test block"
    assert w.home.heading.text() == "Places over time"
    qtbot.waitUntil(lambda: tile.image.pixmap() is not None and not tile.image.pixmap().isNull(),
                    timeout=20000)
    # readable and touchable at 1.5 m: nothing smaller than the metrics allow
    for b in [*w.language.buttons.values(), tile]:
        assert b.height() >= 80 and b.width() >= 80
    assert w.home.subheading.font().pixelSize() >= 24
    assert w.windowFlags() & w.windowFlags().FramelessWindowHint


def test_site_timeline_crossfade_orbit_and_double_tap(qtbot, kiosk):
    from PySide6.QtCore import QPoint

    w = kiosk
    into_site(qtbot, w)
    m = w.model
    assert m.epoch == E3 and w.mode == "explore" and w.view.layers
    fades = []
    m.events.fade.connect(lambda: fades.append(m.fade_t))
    tap(w, w.timeline.buttons[E1])
    assert m.epoch == E1
    qtbot.waitUntil(lambda: bool(fades) and fades[-1] == 1.0, timeout=5000)
    assert any(0 < f < 1 for f in fades)                  # a crossfade, not a cut
    settle(qtbot, w)
    # one finger orbits
    cam = m.camera
    c = w.view.rect().center()
    drag(w, w.view.plotter, c, c + QPoint(200, 0))
    qtbot.wait(50)
    assert m.camera.position != pytest.approx(cam.position, abs=1e-3)
    # a double tap resets the camera to the whole site
    moved = m.camera
    tap(w, w.view.plotter, c)
    tap(w, w.view.plotter, c)
    qtbot.wait(50)
    from viewer.model.state import Camera
    fit = Camera.fit(w.controller.mesh(m.epoch).bounds)
    assert m.camera != moved and m.camera.position == pytest.approx(fit.position)


def test_swipe_handle_follows_a_finger(qtbot, kiosk):
    from PySide6.QtCore import QPoint

    w = kiosk
    into_site(qtbot, w)
    tap(w, w.modes.buttons["swipe"])
    m = w.model
    assert m.compare_mode.value == "swipe" and (m.epoch_a, m.epoch) == (E2, E3)
    assert w.swipe.isVisible() and w.swipe.width() >= 80
    assert "2022" in w.swipe_labels[0].text() and "2024" in w.swipe_labels[1].text()
    h = w.swipe.rect().center()
    drag(w, w.swipe, h, h + QPoint(-480, 0))
    assert m.swipe_position == pytest.approx(0.25, abs=0.03)
    assert w.swipe.geometry().center().x() == pytest.approx(480, abs=4)
    tap(w, w.timeline.buttons[E2])               # compares 2022 with the scan before it
    assert (m.epoch_a, m.epoch) == (E1, E2)


def test_what_changed_plain_words_and_hotspots(qtbot, kiosk):
    w = kiosk
    into_site(qtbot, w)
    tap(w, w.language.buttons["en"])
    tap(w, w.timeline.buttons[E2])
    tap(w, w.modes.buttons["changes"])
    m = w.model
    qtbot.waitUntil(lambda: m.change is not None, timeout=20000)
    settle(qtbot, w, 300)
    text = w.changes.regions.text()
    assert "About 6,000 m³ removed between 2019 and 2022" in text
    assert "About 4,000 m³ built between 2019 and 2022" in text
    assert "lowered / removed" in w.changes.low.text()
    badges = [b for b in w.hotspots.badges if b.isVisible()]
    assert [b.text() for b in badges] == ["1", "2"]
    assert not badges[0].geometry().intersects(badges[1].geometry())
    # seen low from the east, the new building hides where the old hall stood: no badge 1
    from viewer.model.state import Camera
    m.set_camera(Camera((90.0, 0.0, 12.0), (-20.0, 0.0, 0.5)))
    settle(qtbot, w, 200)
    w.view.request_render()
    settle(qtbot, w, 200)
    assert [p.reason for p in w.hotspots.placed] == ["occluded", "shown"]
    assert not w.hotspots.badges[0].isVisible() and w.hotspots.badges[1].isVisible()
    w.controller.reset_view()
    settle(qtbot, w, 200)
    tap(w, w.language.buttons["de"])
    assert "Etwa 6.000 m³ abgetragen zwischen 2019 und 2022" in w.changes.regions.text()
    # tapping a hotspot flies there
    before = m.camera
    tap(w, badges[0])
    qtbot.wait(900)
    assert m.camera != before


def test_story_played_to_its_end(qtbot, kiosk):
    w = kiosk
    into_site(qtbot, w)
    assert w.modes.buttons["stories"].isVisible()
    tap(w, w.modes.buttons["stories"])
    card = w.story_card
    assert card.isVisible() and card.title.text() == "Die Halle"
    assert w.model.epoch == E1
    tap(w, card.next)
    assert card.title.text() == "Weg" and w.model.compare_mode.value == "swipe"
    assert card.counter.text() == "2 / 3"
    tap(w, card.back)
    assert card.title.text() == "Die Halle"
    tap(w, card.next)
    tap(w, card.next)
    assert card.title.text() == "Neu" and card.next.text() == "Fertig"
    assert w.model.compare_mode.value == "heatmap"
    tap(w, card.next)                                # the end: back to exploring
    assert not w.player.playing and w.mode == "explore" and not card.isVisible()


def test_idle_attract_touch_home_with_default_language(qtbot, kiosk):
    w = kiosk
    into_site(qtbot, w)
    tap(w, w.language.buttons["en"])
    assert w.model.language == "en"
    w.idle.setInterval(300)                          # the config's 90 s, shortened
    try:
        qtbot.waitUntil(lambda: w.screen_name == "attract", timeout=3000)
    finally:
        w.idle.setInterval(round(w.config.idle_seconds * 1000))
    assert w.model.language == "de" and w.attract_band.isVisible()
    assert "Berühren zum Entdecken" in w.attract_band.call.text()
    assert "Touch to explore" in w.attract_band.call.text()
    qtbot.waitUntil(lambda: w.player.playing, timeout=10000)    # the site's story plays
    assert w.attract.current.story.id == "tour"
    qtbot.waitUntil(lambda: "Die Halle" in w.attract_band.caption.text(), timeout=5000)
    tap(w, w.view.plotter)                           # the first touch goes Home
    assert w.screen_name == "home" and w.home.isVisible() and not w.player.playing
    qtbot.wait(700)                                  # the touch did not open a tile
    assert w.screen_name == "home"
    # a kiosk day is hundreds of loops: none may add a handler (each would run once more)
    from PySide6.QtCore import SIGNAL

    handlers = w.player.receivers(SIGNAL("stop_changed(int)"))
    for _ in range(3):
        w.start_attract()
        qtbot.waitUntil(lambda: w.player.playing, timeout=10000)
        w.leave_attract()
    assert w.player.receivers(SIGNAL("stop_changed(int)")) == handlers
    qtbot.wait(700)                                  # past the swallowed first touch


def test_blocked_shortcuts_and_no_dialogs(qtbot, kiosk):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    w = kiosk
    into_site(qtbot, w)
    w.activateWindow()
    keys = [(Qt.Key.Key_F4, Qt.KeyboardModifier.AltModifier),
            (Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier),
            (Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier),
            (Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier),
            (Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier),
            (Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier),
            (Qt.Key.Key_F11, Qt.KeyboardModifier.NoModifier),
            (Qt.Key.Key_Tab, Qt.KeyboardModifier.AltModifier)]
    for key, mod in keys:
        QTest.keyClick(w, key, mod)
        QTest.keyClick(w.view.plotter, key, mod)
        qtbot.wait(10)
    assert w.isVisible() and w.screen_name == "site"
    w.close()                                        # what the window manager's Alt+F4 does
    qtbot.wait(50)
    assert w.isVisible()
    # a dialog opened by anything is closed at once
    box = QMessageBox(QMessageBox.Icon.Warning, "x", "y")
    box.show()
    dialog = QFileDialog()
    dialog.show()
    qtbot.waitUntil(lambda: not box.isVisible() and not dialog.isVisible(), timeout=2000)
    assert w.dialogs_closed >= 2


def test_damaged_product_shows_a_friendly_card(qtbot, tmp_path, qapp):
    from viewer.kiosk.window import KioskWindow

    built = build_archive(tmp_path, epochs=(E1, E2), damage=E1)
    w = KioskWindow(KioskConfig(default_language="en"), built.root, size=(1280, 720),
                    start="home")
    qtbot.addWidget(w)
    w.show_kiosk()
    qtbot.waitUntil(lambda: SITE in w.home.tiles, timeout=20000)
    w.open_site(SITE)
    settle(qtbot, w)
    tap(w, w.timeline.buttons[E1])
    qtbot.waitUntil(w.error_card.isVisible, timeout=10000)
    assert w.error_card.heading.text() == "This model is being restored"
    assert "⚠" in w.timeline.buttons[E1].text()
    tap(w, w.error_card.ok)
    tap(w, w.timeline.buttons[E2])                   # the other epoch still works
    settle(qtbot, w)
    assert w.model.epoch == E2 and any(la.epoch == E2 for la in w.view.layers.values())
    w.exit_allowed = True
    w.close()


def test_a_site_with_two_stories_lets_the_visitor_choose_and_shows_stop_pictures(
        qtbot, tmp_path, qapp):
    from PySide6.QtGui import QColor, QImage

    from viewer.kiosk.window import KioskWindow
    from viewer.model.stories import save_story

    built = build_archive(tmp_path, epochs=(E1, E2))
    picture = tmp_path / "hall.png"
    image = QImage(320, 200, QImage.Format.Format_RGB32)
    image.fill(QColor(200, 40, 40))
    assert image.save(str(picture))
    with built.archive.writer(SITE, message="a picture for a story", user="pytest") as wr:
        wr.add_file("stories/media/hall.png", picture)
    cam = {"position": [-80.0, -110.0, 90.0], "focal_point": [0.0, 0.0, 0.0]}
    for sid, title, stop_image in (("short", "Kurz", None),
                                   ("pictures", "Mit Bild", "stories/media/hall.png")):
        save_story(built.archive, {
            "id": sid, "site": SITE, "title": {"de": title, "en": title},
            "stops": [{"id": "one", "title": {"de": "Eins", "en": "One"},
                       "text": {"de": "Text.", "en": "Text."}, "camera": cam, "epoch": E1,
                       **({"image": stop_image} if stop_image else {})},
                      {"id": "two", "title": {"de": "Zwei", "en": "Two"},
                       "text": {"de": "Text.", "en": "Text."}, "camera": cam, "epoch": E2}]},
            user="pytest")
    w = KioskWindow(KioskConfig(default_language="de"), built.root, size=(1920, 1080),
                    start="home")
    qtbot.addWidget(w)
    w.show_kiosk()
    qtbot.waitUntil(lambda: SITE in w.home.tiles, timeout=20000)
    w.open_site(SITE)
    settle(qtbot, w)
    tap(w, w.modes.buttons["stories"])
    chooser = w.story_chooser
    assert chooser.isVisible() and not w.story_card.isVisible() and not w.player.playing
    assert chooser.heading.text() == "Wähle eine Geschichte"
    assert sorted(chooser.buttons) == ["pictures", "short"]
    assert chooser.buttons["pictures"].text() == "Mit Bild  ·  2 Stationen"
    assert chooser.buttons["pictures"].height() >= w.metrics.target  # a finger's size
    tap(w, chooser.buttons["pictures"])
    card = w.story_card
    assert w.player.story.id == "pictures" and card.isVisible() and not chooser.isVisible()
    assert card.image.isVisible() and not card.image.pixmap().isNull()
    assert card.image.pixmap().height() == w.metrics.px(220)
    assert card.geometry().contains(card.image.geometry().translated(card.pos()).center())
    tap(w, card.next)                                 # the second stop has no picture
    assert card.title.text() == "Zwei" and not card.image.isVisible()
    tap(w, card.close_button)
    assert w.mode == "explore" and not card.isVisible() and not chooser.isVisible()
    w.exit_allowed = True
    w.close()


class _StuckFrame:
    """A frame the driver never finishes (until released): the frame thread hangs in it."""

    def __init__(self):
        import threading

        self.release = threading.Event()

    def can_draw(self) -> bool:
        return True

    def before_frame(self) -> None:
        pass

    def draw(self) -> None:
        self.release.wait(30)

    def after_frame(self) -> None:
        pass


def test_a_hung_frame_thread_stops_the_heartbeat(qtbot, kiosk, tmp_path, monkeypatch):
    """The supervisor restarts a kiosk whose heartbeat stops; on software GL the frames have a
    thread of their own, which may hang while the UI thread goes on beating."""
    import viewer.kiosk.window as window
    from viewer.render.frame_worker import frame_worker

    settle(qtbot, kiosk)
    monkeypatch.setattr(kiosk, "heartbeat", tmp_path / "beat")
    monkeypatch.setattr(window, "FRAME_HANG_S", 0.3)
    kiosk.beat()
    assert (tmp_path / "beat").exists()
    (tmp_path / "beat").unlink()
    stuck = _StuckFrame()
    try:
        frame_worker().request(stuck)
        qtbot.waitUntil(lambda: frame_worker().busy, timeout=5000)
        kiosk.beat()
        assert (tmp_path / "beat").exists()          # a frame may take a while
        (tmp_path / "beat").unlink()
        qtbot.wait(400)
        kiosk.beat()
        assert not (tmp_path / "beat").exists()      # not this long
    finally:
        stuck.release.set()
    qtbot.waitUntil(lambda: not frame_worker().busy, timeout=5000)
    kiosk.beat()
    assert (tmp_path / "beat").exists()


def test_staff_exit_needs_the_corner_and_the_pin(qtbot, kiosk):
    from PySide6.QtCore import QPoint
    from PySide6.QtTest import QTest

    w = kiosk
    home(qtbot, w)
    device = QTest.createTouchDevice()
    corner = QPoint(10, 10)
    touch(w, device, ("press", 0, corner))
    qtbot.wait(800)
    touch(w, device, ("release", 0, corner))
    assert not w.pin.isVisible()                     # too short
    touch(w, device, ("press", 0, corner))
    qtbot.waitUntil(w.pin.isVisible, timeout=4000)
    touch(w, device, ("release", 0, corner))
    exits = []
    w.exited.connect(exits.append)
    for k in "1111":
        tap(w, w.pin.keys[k])
    tap(w, w.pin.keys["ok"])
    assert w.pin.isVisible() and w.pin.note.text() == "Falsche PIN." and not exits
    for k in PIN:
        tap(w, w.pin.keys[k])
    tap(w, w.pin.keys["ok"])
    assert exits == [0] and not w.isVisible()
