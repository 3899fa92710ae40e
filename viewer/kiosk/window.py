"""The kiosk window: Home, a site, stories and the attract loop over one scene model, one
controller and one VTK view (the desktop viewer's), locked for the public.

Locked means: a frameless full-screen window; every key is swallowed (so Alt+F4, Ctrl+Q,
Esc, F11, Ctrl+S, Ctrl+W … do nothing) except on the staff PIN pad; closing is refused
until the staff PIN was entered; any dialog that something tries to open is closed at once
and logged; the archive is opened read-only and its writer is taken away.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from PySide6.QtCore import (
    QEvent,
    QObject,
    QPoint,
    QRect,
    QSize,
    Qt,
    QTimer,
    QVariantAnimation,
    Signal,
)
from PySide6.QtGui import QCloseEvent, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from assets_manifest.errors import StadtzeitError
from viewer.kiosk.admin import CornerHold, PinPad
from viewer.kiosk.attract import AttractBand, AttractLoop, Item, playlist
from viewer.kiosk.config import KioskConfig
from viewer.kiosk.counts import Counts
from viewer.kiosk.home import HomeScreen
from viewer.kiosk.site import (
    ChangeCard,
    Hotspots,
    ModeBar,
    SwipeHandle,
    Timeline,
    TopBar,
    epoch_label,
)
from viewer.kiosk.story import StoryCard, StoryChooser, StoryPlayer
from viewer.kiosk.style import Metrics, stylesheet
from viewer.model.state import CompareMode, ViewerModel
from viewer.model.stories import Story, read_stories
from viewer.qt.controller import ViewerController
from viewer.qt.i18n import Translations
from viewer.qt.refcount import keep_constants_alive
from viewer.render import frame_worker as frames
from viewer.render.vtk_view import SceneView

log = logging.getLogger(__name__)

FADE_MS = 700
DOUBLE_TAP_MS = 400
TAP_MS = 300
ERROR_CARD_MS = 10_000
SWALLOW_S = 0.6              # after the touch that ends the attract loop
FRAME_HANG_S = 5.0           # a frame drawn this long is a hung frame thread (llvmpipe: < 1 s)
_INPUT = {QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease,
          QEvent.Type.MouseButtonDblClick, QEvent.Type.MouseMove, QEvent.Type.TouchBegin,
          QEvent.Type.TouchUpdate, QEvent.Type.TouchEnd, QEvent.Type.Wheel,
          QEvent.Type.Gesture}
_PRESS = {QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin,
          QEvent.Type.MouseButtonDblClick}
_KEYS = {QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.ShortcutOverride,
         QEvent.Type.Shortcut}
_PIN_KEYS = {getattr(Qt.Key, f"Key_{d}") for d in range(10)} | {
    Qt.Key.Key_Backspace, Qt.Key.Key_Return, Qt.Key.Key_Enter}


class LanguageSwitch(QWidget):
    """Deutsch | English, as words (not flags), always in the top right corner."""

    chosen = Signal(str)

    def __init__(self, m: Metrics, parent: QWidget):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(m.px(8))
        self.buttons = {}
        for lang, text in (("de", "Deutsch"), ("en", "English")):
            b = QPushButton(text, self)
            b.setObjectName(f"lang-{lang}")
            b.setCheckable(True)
            b.clicked.connect(lambda _=False, lg=lang: self.chosen.emit(lg))
            layout.addWidget(b)
            self.buttons[lang] = b

    def set_current(self, language: str) -> None:
        for lang, b in self.buttons.items():
            b.setChecked(lang == language)


class ErrorCard(QWidget):
    """A friendly card instead of an error dialog; the details go to the log."""

    def __init__(self, m: Metrics, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("error-card")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.heading = QLabel(self)
        self.heading.setObjectName("title")
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.ok = QPushButton(self)
        self.ok.setObjectName("error-ok")
        self.ok.setStyleSheet("background: #3b2a00; color: #fff4d6;")
        self.ok.clicked.connect(self.hide)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(m.gap, m.gap, m.gap, m.gap)
        layout.addWidget(self.heading)
        layout.addWidget(self.text)
        layout.addWidget(self.ok, 0, Qt.AlignmentFlag.AlignRight)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.hide)
        self.hide()

    def show_card(self, heading: str, text: str) -> None:
        self.heading.setText(heading)
        self.text.setText(text)
        self.ok.setText(self.tr("OK"))
        self.show()
        self.raise_()
        self.timer.start(ERROR_CARD_MS)
        if self.parentWidget() is not None:
            self.parentWidget().place()


class KioskWindow(QWidget):
    screen_changed = Signal(str)
    exited = Signal(int)          # after the staff PIN: the process may end with this code

    def __init__(self, config: KioskConfig, archive: Path, size: tuple[int, int] | None = None,
                 heartbeat: Path | None = None, start: str = "attract"):
        keep_constants_alive()  # PySide6 6.12 on Python 3.11 leaks None and True: refcount.py
        super().__init__(None, Qt.WindowType.Window | Qt.WindowType.FramelessWindowHint)
        self.setObjectName("kiosk-root")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.config, self.archive_path, self.size_override = config, Path(archive), size
        screen = QGuiApplication.primaryScreen()
        height = size[1] if size else (screen.geometry().height() if screen else 1080)
        self.metrics = m = Metrics(height)
        self.setStyleSheet(stylesheet(m))
        self.translations = Translations()
        self.translations.set_language(config.default_language)
        self.model = ViewerModel(config.default_language)
        self.controller = c = ViewerController(self.model, parent=self)
        self.view = SceneView(self.model, "primary", self)
        c.views = {"primary": self.view}
        self.view.interaction.connect(c.begin_interaction)
        self.counts = Counts(config.counts.path if config.counts.enabled else None)
        self.stories: dict[str, list[Story]] = {}
        self.screen_name = "start"
        self.exit_allowed = False
        self.dialogs_closed = 0
        self._swallow_until = 0.0
        self._last_tap: tuple[float, QPoint] | None = None
        self._touch_down: tuple[float, QPoint] | None = None
        self.start_mode = start

        # the screens' parts (children of the window, placed in `place`)
        self.home = HomeScreen(self.model, m, self)
        self.home.set_order(config.sites)
        self.top = TopBar(self.model, m, self)
        self.modes = ModeBar(self.model, m, self)
        self.timeline = Timeline(self.model, m, self)
        self.swipe = SwipeHandle(self.model, m, self)
        self.changes = ChangeCard(self.model, m, self)
        self.hotspots = Hotspots(self, self.view, m, self.changes.shown_regions,
                                 lambda: self.model.site.origin if self.model.site else (0, 0, 0),
                                 self.controller.fly_to)
        self.hotspots.avoid = lambda: [self.top, self.modes, self.timeline, self.changes,
                                       self.language, self.story_card, self.story_chooser]
        self.hotspots.surface = lambda: (self.controller.mesh(self.model.epoch)
                                         if self.model.epoch else None)
        self.swipe_labels = (QLabel(self), QLabel(self))
        for label in self.swipe_labels:
            label.setObjectName("panel")
            label.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            label.setContentsMargins(m.px(16), m.px(8), m.px(16), m.px(8))
        self.player = StoryPlayer(self.model, c.begin_interaction, self)
        self.story_card = StoryCard(self.player, self.model, m, self._image_path, self)
        self.story_chooser = StoryChooser(self.model, m, self)
        self.attract_band = AttractBand(m, self)
        self.attract = AttractLoop(self.model, self.player, config.attract,
                                   self._open_site_quietly, c.begin_interaction, self)
        self.attract.on_item = self._attract_item
        self.language = LanguageSwitch(m, self)
        self.error_card = ErrorCard(m, self)
        self.pin = PinPad(config.pin_hash, m, self)
        self.corner = CornerHold(config.admin_corner, config.admin_hold_seconds, m.target,
                                 self._admin_gesture, self)
        self.site_parts = [self.top, self.modes, self.timeline, self.swipe, self.changes,
                           self.story_card, self.story_chooser, *self.swipe_labels]
        for w in self.site_parts + [self.attract_band]:
            w.hide()

        self.fade = QVariantAnimation(self)
        self.fade.setStartValue(0.0)
        self.fade.setEndValue(1.0)
        self.fade.setDuration(FADE_MS)
        self.fade.valueChanged.connect(lambda v: self.model.set_fade(float(v)))
        self.idle = QTimer(self)
        self.idle.setSingleShot(True)
        self.idle.setInterval(round(config.idle_seconds * 1000))
        self.idle.timeout.connect(self.start_attract)
        self.heartbeat = Path(heartbeat) if heartbeat else None
        self._beat = QTimer(self)
        self._beat.setInterval(1000)
        self._beat.timeout.connect(self.beat)
        self._beat.start()
        c.thumbnail_size = (704, 440)      # drawn by the controller's loader, off this thread

        # wiring
        self.home.site_chosen.connect(self.open_site)
        self.top.home.connect(self.show_home)
        self.modes.chosen.connect(self.choose_mode)
        self.timeline.picked.connect(self.pick_epoch)
        self.story_card.closed.connect(lambda: self.choose_mode("explore"))
        self.story_chooser.closed.connect(lambda: self.choose_mode("explore"))
        self.story_chooser.chosen.connect(self.play_story)
        self.player.finished.connect(self._story_finished)
        self.player.stop_changed.connect(self._attract_stop)  # it acts in the attract loop only
        self.language.chosen.connect(self.set_language)
        self.pin.accepted.connect(self.admin_exit)
        c.sites_loaded.connect(self._sites_loaded)
        c.thumbnail.connect(self.home.set_thumbnail)
        self.model.events.message.connect(self._message)
        for signal in (self.model.events.change, self.model.events.language,
                       self.model.events.epoch, self.model.events.compare):
            signal.connect(self.place)
        self.model.events.epoch.connect(self._epoch_changed)
        self.model.events.change.connect(self.hotspots.update)
        self.view.rendered.connect(self.hotspots.update)
        QApplication.instance().installEventFilter(self)
        self.language.set_current(self.model.language)
        c.open_archive(self.archive_path)

    # ------------------------------------------------------------------ showing
    def show_kiosk(self) -> None:
        if self.size_override:
            self.resize(*self.size_override)
            self.show()
        else:
            self.showFullScreen()
        if self.start_mode == "home":
            self.show_home()
        else:
            self.start_attract()

    def _set_screen(self, name: str) -> None:
        self.screen_name = name
        self.place()
        self.screen_changed.emit(name)
        self.beat()

    def show_home(self) -> None:
        self.attract.stop()
        self.player.stop()
        self.pin.close_pad()
        if self.model.site is not None:
            self.model.close_site()
        for w in self.site_parts + [self.attract_band]:
            w.hide()
        self.hotspots.set_visible(False)
        self.home.show()
        self.home.raise_()
        self.language.show()
        self.idle.start()
        self._set_screen("home")

    def open_site(self, site_id: str) -> None:
        if not any(s.id == site_id for s in self.model.sites):
            return
        self.counts.site_opened(site_id)
        self._open_site_quietly(site_id)
        self.home.hide()
        f = self.config.features
        self.top.show()
        self.modes.show()
        self.modes.buttons["swipe"].setVisible(f.compare and len(self.model.site.epochs) > 1)
        self.modes.buttons["changes"].setVisible(f.changes and len(self.model.site.epochs) > 1)
        self.modes.buttons["stories"].setVisible(f.stories and bool(self.stories.get(site_id)))
        self.choose_mode("explore")
        self.idle.start()
        self._set_screen("site")

    def _open_site_quietly(self, site_id: str) -> None:
        self.player.stop()
        self.model.set_compare_mode(CompareMode.SINGLE)
        self.model.open_site(site_id)
        if self.model.camera is None:   # meshes already loaded: no load will fit the camera
            self.controller.reset_view()

    def choose_mode(self, name: str) -> None:
        m = self.model
        if name != "stories":
            self.player.stop()
        if name == "explore":
            m.set_compare_mode(CompareMode.SINGLE)
        elif name in ("swipe", "changes"):
            m.set_significant_only(name == "changes")
            m.set_compare_mode(CompareMode.SWIPE if name == "swipe" else CompareMode.HEATMAP)
            self.pick_epoch(m.epoch)
            if name == "swipe":
                m.set_swipe_position(0.5)
        elif name == "stories":
            stories = self.stories.get(m.site.id if m.site else "", [])
            if not stories:
                return
            if len(stories) == 1:
                self.counts.story_started(stories[0].id)
                self.player.play(stories[0], autoplay=False)
            else:                                   # the visitor picks one
                self.player.stop()
                self.story_chooser.set_stories(stories)
        self.modes.set_current(name)
        self.timeline.setVisible(name != "stories" and self.config.features.timeline)
        self.story_card.setVisible(name == "stories" and self.player.playing)
        self.story_chooser.setVisible(name == "stories" and not self.player.playing)
        self.swipe.setVisible(name == "swipe")
        for label in self.swipe_labels:
            label.setVisible(name == "swipe")
        self.changes.setVisible(name == "changes")
        self.hotspots.set_visible(name == "changes")
        self.place()

    def play_story(self, story_id: str) -> None:
        """Play one of the open site's stories (from the chooser)."""
        stories = self.stories.get(self.model.site.id if self.model.site else "", [])
        story = next((s for s in stories if s.id == story_id), None)
        if story is None:
            return
        self.counts.story_started(story.id)
        self.player.play(story, autoplay=False)
        self.story_chooser.hide()
        self.story_card.show()
        self.place()

    @property
    def mode(self) -> str:
        if self.player.playing:
            return "stories"
        return {CompareMode.SWIPE: "swipe", CompareMode.HEATMAP: "changes"}.get(
            self.model.compare_mode, "explore")

    def pick_epoch(self, epoch: str | None) -> None:
        m = self.model
        if m.site is None or epoch is None:
            return
        if m.compare_mode == CompareMode.SINGLE:
            m.set_epoch(epoch, fade=True)
            return
        ids = m.site.epoch_ids
        i = ids.index(epoch)
        if i == 0 and len(ids) > 1:
            i = 1
        m.set_epoch(ids[i])
        if i > 0:
            m.set_epoch_a(ids[i - 1])

    def _story_finished(self) -> None:
        if self.screen_name == "site":
            self.choose_mode("explore")

    def set_language(self, language: str) -> None:
        self.translations.set_language(language)
        self.model.set_language(language)
        self.language.set_current(language)

    # ------------------------------------------------------------------ attract loop
    def start_attract(self) -> None:
        self.counts.session_ended()
        self.pin.close_pad()
        self.error_card.hide()
        self.set_language(self.config.default_language)
        self.player.stop()
        for w in self.site_parts:
            w.hide()
        self.hotspots.set_visible(False)
        self.language.hide()
        self.idle.stop()
        order = [s.id for s in self.home.shown_sites()]
        items = playlist(order, self.stories, self.config.attract)
        self.home.setVisible(not items)
        self.attract_band.show()
        self.attract_band.raise_()
        self._set_screen("attract")
        self.attract.start(items)

    def _attract_item(self, item: Item) -> None:
        site = next((s for s in self.model.sites if s.id == item.site), None)
        name = site.name.get(self.model.language) if site else ""
        self.attract_band.caption.setText(name)

    def _attract_stop(self, index: int) -> None:
        story = self.player.story
        if self.screen_name != "attract" or story is None:
            return
        stop = story.stops[index]
        lang = self.model.language
        self.attract_band.caption.setText(f"{stop.title.get(lang)} — {stop.text.get(lang)}")
        self.place()

    def leave_attract(self) -> None:
        self.attract.stop()
        self._swallow_until = time.monotonic() + SWALLOW_S
        self.counts.session_started()
        self.show_home()

    # ------------------------------------------------------------------ loading
    def _sites_loaded(self) -> None:
        # the kiosk never writes and never runs the pipeline: without a store the controller
        # shows stored change products (C2M on the loaded meshes only where none is stored)
        store, self.controller.store = self.controller.store, None
        if store is not None:
            store.archive.writer = _refuse_write
            store.save_viewpoints = _refuse_write
        for site in self.model.sites:
            version = self.controller.versions.get(site.id)
            if version is None:
                continue
            stories, errors = read_stories(version, site.epoch_ids)
            self.stories[site.id] = stories
            for e in errors:
                log.error("%s", e)
        missing = [s for s in self.config.sites if s not in {x.id for x in self.model.sites}]
        if missing:
            log.error("kiosk.toml lists sites the archive does not hold: %s",
                      ", ".join(missing))
        if self.screen_name == "attract":
            self.start_attract()

    def _image_path(self, logical: str) -> Path | None:
        site = self.model.site
        version = self.controller.versions.get(site.id) if site else None
        return version.files.get(logical) if version is not None else None

    # ------------------------------------------------------------------ errors
    def broken_epochs(self) -> set[str]:
        sid = self.model.site.id if self.model.site else None
        return {k.split(":", 1)[1].split("/")[0] for k in self.controller.failed
                if sid and k.startswith(f"{sid}@")}

    def _message(self, level: str, text: str) -> None:
        getattr(log, {"error": "error", "warning": "warning"}.get(level, "info"))("%s", text)
        if level != "error" or self.screen_name == "attract":
            return
        broken = self.broken_epochs()
        for e in broken:
            self.timeline.mark_broken(e)
        if broken & set(self.model.shown_epochs()):
            self._restoring_card()
        elif not broken:
            self.error_card.show_card(self.tr("Sorry"), self.tr(
                "Something could not be shown here. Please choose another place or year."))

    def _restoring_card(self) -> None:
        self.error_card.show_card(self.tr("This model is being restored"), self.tr(
            "Please choose another year on the timeline."))

    def _epoch_changed(self) -> None:
        if self.model.fade_from:
            self.fade.stop()
            self.fade.start()
        if self.screen_name == "site" and set(self.model.shown_epochs()) & self.broken_epochs():
            self._restoring_card()

    # ------------------------------------------------------------------ layout
    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self.place()

    def place(self) -> None:
        m, r = self.metrics, self.rect()
        g = m.gap
        self.view.setGeometry(r)
        self.home.setGeometry(r)
        lang = self.language.sizeHint()
        self.language.setGeometry(r.right() - lang.width() - g, g, lang.width(), lang.height())
        top_h = self.top.sizeHint().height()
        self.top.setGeometry(g, g, min(r.width() - lang.width() - 3 * g, m.px(1100)), top_h)
        modes = self.modes.sizeHint()
        mw = max(modes.width(), m.px(300))
        self.modes.setGeometry(r.right() - mw - g, (r.height() - modes.height()) // 2, mw,
                               modes.height())
        tl = self.timeline.sizeHint()
        tw = min(max(tl.width(), m.px(700)), r.width() - 2 * g)
        self.timeline.setGeometry((r.width() - tw) // 2, r.bottom() - tl.height() - g, tw,
                                  tl.height())
        sw = min(m.px(1300), r.width() - mw - 3 * g)
        sh = self.story_card.heightForWidth(sw)
        sh = max(sh if sh > 0 else self.story_card.sizeHint().height(), m.px(260))
        self.story_card.setGeometry(g, r.bottom() - sh - g, sw, sh)
        ch_h = self.story_chooser.sizeHint().height()
        self.story_chooser.setGeometry(g, r.bottom() - ch_h - g, min(sw, m.px(900)), ch_h)
        cw = m.px(620)
        ch = self.changes.heightForWidth(cw)
        ch = ch if ch > 0 else self.changes.sizeHint().height()
        self.changes.setGeometry(g, g + top_h + g, cw, ch)
        top = g + top_h + g
        bottom = self.timeline.geometry().top() - g if self.timeline.isVisible() else r.bottom()
        self.swipe.set_area(QRect(0, top, r.width(), max(bottom - top, m.target)))
        before, after = self.swipe_labels
        if self.model.epoch_a and self.model.epoch:
            before.setText("◀  " + self.tr("Before: %1").replace(
                "%1", epoch_label(self.model, self.model.epoch_a)))
            after.setText(self.tr("After: %1").replace(
                "%1", epoch_label(self.model, self.model.epoch)) + "  ▶")
        hx = self.swipe.geometry().center().x()
        for label in (before, after):
            label.adjustSize()
        before.move(hx - before.width() - m.target // 2 - m.px(8), top)
        after.move(hx + m.target // 2 + m.px(8), top)
        bh = self.attract_band.heightForWidth(r.width())
        bh = bh if bh > 0 else self.attract_band.sizeHint().height()
        self.attract_band.setGeometry(0, r.bottom() - bh, r.width(), bh + 1)
        ew = min(m.px(900), r.width() - 2 * g)
        eh = self.error_card.heightForWidth(ew)
        eh = eh if eh > 0 else self.error_card.sizeHint().height()
        self.error_card.setGeometry((r.width() - ew) // 2, top, ew, eh)
        pin = self.pin.sizeHint().expandedTo(QSize(m.px(480), 0))
        self.pin.setGeometry((r.width() - pin.width()) // 2, (r.height() - pin.height()) // 2,
                             pin.width(), pin.height())
        for w in (self.top, self.modes, self.timeline, self.story_card, self.story_chooser,
                  self.changes,
                  self.swipe, *self.swipe_labels, self.attract_band, self.language,
                  self.error_card, self.pin):
            if w.isVisible():
                w.raise_()

    # ------------------------------------------------------------------ locking
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        t = event.type()
        if t in _KEYS:
            return self._key(event)
        if t == QEvent.Type.Show and isinstance(obj, QDialog):
            log.error("a dialog (%s) tried to open on the kiosk; closed it",
                      type(obj).__name__)
            self.dialogs_closed += 1
            QTimer.singleShot(0, obj.reject)
            return True
        if t not in _INPUT:
            return False
        if time.monotonic() < self._swallow_until:
            return True
        if t in _PRESS and self.screen_name == "attract" and self.isVisible():
            self.leave_attract()
            return True
        if self.screen_name != "attract":
            self.idle.start()
        self._corner(event, t)
        if obj is self.view.plotter and t in (QEvent.Type.TouchBegin, QEvent.Type.TouchEnd,
                                              QEvent.Type.MouseButtonDblClick):
            self._double_tap(event, t)
        return False

    def _key(self, event: QEvent) -> bool:
        """Swallow every key, except digits/Delete/Enter while the PIN pad is open."""
        key = getattr(event, "key", lambda: None)()
        if self.pin.isVisible() and key in _PIN_KEYS:
            if event.type() == QEvent.Type.KeyPress:
                k = {Qt.Key.Key_Backspace: "del", Qt.Key.Key_Return: "ok",
                     Qt.Key.Key_Enter: "ok"}.get(key, chr(int(key)) if key in _PIN_KEYS
                                                  else None)
                if k:
                    self.pin.press(k)
            return True
        if event.type() == QEvent.Type.KeyPress:
            log.debug("key blocked: %s", key)
        if event.type() == QEvent.Type.ShortcutOverride:
            event.accept()  # claim it, so no QAction/QShortcut fires
        return True

    def _event_pos(self, event: QEvent) -> QPoint | None:
        if hasattr(event, "points"):
            pts = event.points()
            return pts[0].globalPosition().toPoint() if pts else None
        if hasattr(event, "globalPosition"):
            return event.globalPosition().toPoint()
        return None

    def _corner(self, event: QEvent, t: QEvent.Type) -> None:
        pos = self._event_pos(event)
        window = QRect(self.mapToGlobal(QPoint(0, 0)), self.size())
        if t in (QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin) and pos is not None:
            self.corner.pressed(pos, window)
        elif t in (QEvent.Type.MouseMove, QEvent.Type.TouchUpdate) and pos is not None:
            self.corner.moved(pos, window)
        elif t in (QEvent.Type.MouseButtonRelease, QEvent.Type.TouchEnd):
            self.corner.released()

    def _double_tap(self, event: QEvent, t: QEvent.Type) -> None:
        if t == QEvent.Type.MouseButtonDblClick:
            self.reset_view()
            return
        pos = self._event_pos(event)
        now = time.monotonic()
        if t == QEvent.Type.TouchBegin:
            self._touch_down = (now, pos) if len(event.points()) == 1 else None
            return
        if self._touch_down is None or pos is None:
            return
        t0, p0 = self._touch_down
        slop = self.metrics.px(40)
        if now - t0 > TAP_MS / 1000 or (pos - p0).manhattanLength() > slop:
            self._last_tap = None
            return
        if self._last_tap and now - self._last_tap[0] < DOUBLE_TAP_MS / 1000 and \
                (pos - self._last_tap[1]).manhattanLength() < 2 * slop:
            self._last_tap = None
            self.reset_view()
        else:
            self._last_tap = (now, pos)

    def reset_view(self) -> None:
        self.controller.reset_view()

    def _admin_gesture(self) -> None:
        log.info("staff corner held: PIN pad open")
        self.pin.open_pad()
        self.place()

    def admin_exit(self) -> None:
        log.info("staff exit with the PIN")
        self.exit_allowed = True
        self.close()
        self.exited.emit(0)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if not self.exit_allowed:
            log.info("close refused: the kiosk closes only with the staff PIN")
            event.ignore()
            return
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        QApplication.instance().removeEventFilter(self)
        self.attract.stop()
        self._beat.stop()
        self.counts.session_ended()
        self.controller.loader.cancel_all()
        self.controller.loader.wait(5000)
        self.view.plotter.close()

    # ------------------------------------------------------------------ heartbeat
    def beat(self) -> None:
        """The supervisor's sign of life: written from the event loop, so a hung UI stops it;
        not written either while one frame has been drawn for FRAME_HANG_S (on software GL the
        frames have a thread of their own, which can hang while the UI goes on)."""
        if self.heartbeat is None:
            return
        stuck = frames.drawing_for()
        if stuck > FRAME_HANG_S:
            log.error("a frame has been drawn for %.0f s: no heartbeat", stuck)
            return
        try:
            self.heartbeat.write_text(f"{time.time():.3f} {self.screen_name} "
                                      f"{self.view.renders} {os.getpid()}\n")
        except OSError as exc:
            log.warning("heartbeat %s: %s", self.heartbeat, exc)


def _refuse_write(*_args, **_kwargs):
    raise StadtzeitError("the kiosk never writes to the archive")

