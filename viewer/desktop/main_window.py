"""The main window: site list, 3D views with compare modes, timeline, side panels, menus."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QPoint, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from viewer.desktop import open_vr
from viewer.desktop.annotations import AnnotationOverlay
from viewer.desktop.compare import MODES as COMPARE_MODES
from viewer.desktop.compare import CompareBar, SwipeDivider
from viewer.desktop.heatmap import HeatmapPanel
from viewer.desktop.help_overlay import HelpOverlay
from viewer.desktop.info_panel import InfoPanel
from viewer.desktop.measure import MeasurePanel, marker_geometry
from viewer.desktop.regions import RegionsList
from viewer.desktop.site_list import SiteList
from viewer.desktop.stories import install as install_stories
from viewer.desktop.timeline import Player, TimelineBar
from viewer.desktop.viewpoints import ViewpointPanel
from viewer.model.state import CompareMode, MeasureMode, ViewerModel
from viewer.qt.controller import ViewerController
from viewer.qt.i18n import Translations, system_language
from viewer.render.vtk_view import SceneView

MEASURE_COLOUR = "#ff2d55"
FLY_TURN = {Qt.Key.Key_J: (5.0, 0.0), Qt.Key.Key_L: (-5.0, 0.0),  # turn left / right
            Qt.Key.Key_I: (0.0, 5.0), Qt.Key.Key_K: (0.0, -5.0)}  # look up / down
FLY_KEYS = {Qt.Key.Key_W: (1, 0, 0), Qt.Key.Key_S: (-1, 0, 0), Qt.Key.Key_D: (0, 1, 0),
            Qt.Key.Key_A: (0, -1, 0), Qt.Key.Key_E: (0, 0, 1), Qt.Key.Key_Q: (0, 0, -1)}


class MessageBanner(QFrame):
    """A closable line over the views: errors stay until closed, other messages fade."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("message-banner")
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QToolButton(self)
        self.close_button.setText("✕")
        self.close_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button)
        self.level = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def show_message(self, level: str, text: str) -> None:
        colours = {"error": ("#fde2e1", "#a61b1b"), "warning": ("#fff3cd", "#7a5a00"),
                   "info": ("#e3f2fd", "#0b4f8a")}
        bg, fg = colours.get(level, colours["info"])
        self.setStyleSheet(f"#message-banner {{ background: {bg}; border-bottom: 1px solid {fg};"
                           f" }} #message-banner QLabel {{ color: {fg}; }}")
        if self.isVisible() and self.level == "error" and level != "error":
            return  # an error stays readable until closed
        self.level = level
        self.label.setText(text)
        self.show()
        self.raise_()
        self.place()
        if level == "error":
            self._timer.stop()
        else:
            self._timer.start(6000)

    def place(self) -> None:
        width = self.parentWidget().width()
        height = self.layout().totalHeightForWidth(width)
        self.setGeometry(0, 0, width, height if height > 0 else self.sizeHint().height())


class ViewArea(QWidget):
    """The two 3D views (the second only for side by side) and what floats over them."""

    def __init__(self, model: ViewerModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.primary = SceneView(model, "primary", self)
        self.secondary = SceneView(model, "secondary", self)
        self.secondary.link_camera(self.primary)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.primary)
        self.splitter.addWidget(self.secondary)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        self.divider = SwipeDivider(model, self.primary)
        self.captions = {name: self._caption(view) for name, view in
                         (("a", self.primary), ("b", self.secondary), ("swipe-b", self.primary))}
        self.measure_caption = QLabel(self.primary)   # the measured value, in the 3D view too
        self.measure_caption.setObjectName("measure-caption")
        self.measure_caption.setStyleSheet(
            f"background: rgba(0,0,0,170); color: white; border: 2px solid {MEASURE_COLOUR}; "
            "padding: 4px 10px; border-radius: 5px; font-weight: bold;")
        self.measure_caption.hide()
        self.banner = MessageBanner(self)
        self.help = HelpOverlay(self)
        for signal in (model.events.compare, model.events.epoch, model.events.site):
            signal.connect(self.sync)
        self.sync()

    def _caption(self, view: SceneView) -> QLabel:
        label = QLabel(view)
        label.setStyleSheet("background: rgba(0,0,0,150); color: white; padding: 3px 8px; "
                            "border-radius: 4px; font-weight: bold;")
        label.hide()
        return label

    def sync(self) -> None:
        m = self.model
        side = m.compare_mode == CompareMode.SIDE_BY_SIDE
        self.secondary.setVisible(side)
        if side:
            w = self.splitter.width()
            self.splitter.setSizes([w // 2, w - w // 2])
        a, b, swipe_b = self.captions["a"], self.captions["b"], self.captions["swipe-b"]
        comparing = m.compare_mode in (CompareMode.SIDE_BY_SIDE, CompareMode.SWIPE)
        a.setVisible(comparing and m.epoch_a is not None)
        b.setVisible(side)
        swipe_b.setVisible(m.compare_mode == CompareMode.SWIPE)
        a.setText(f"A  {m.epoch_a or ''}")
        b.setText(f"B  {m.epoch or ''}")
        swipe_b.setText(f"B  {m.epoch or ''}")
        for label in (a, b, swipe_b):
            label.adjustSize()
        a.move(10, 10)
        b.move(10, 10)
        swipe_b.move(max(10, self.primary.width() - swipe_b.width() - 10), 10)
        for label in (a, b, swipe_b):
            label.raise_()
        self.divider.place()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self.banner.place()
        QTimer.singleShot(0, self.sync)


class MainWindow(QMainWindow):
    def __init__(self, language: str | None = None, budget: int | None = None):
        super().__init__()
        self.translations = Translations()
        language = language or system_language()
        self.translations.set_language(language)
        self.model = ViewerModel(language)
        self.controller = ViewerController(self.model, parent=self,
                                           **({"budget": budget} if budget else {}))
        m, c = self.model, self.controller

        self.view_area = ViewArea(m, self)
        c.views = {"primary": self.view_area.primary, "secondary": self.view_area.secondary}
        for view in c.views.values():
            view.interaction.connect(c.begin_interaction)
        self.annotations = AnnotationOverlay(m, self.view_area.primary)
        self.annotations_b = AnnotationOverlay(m, self.view_area.secondary)  # side by side: B
        for overlay in (self.annotations, self.annotations_b):
            overlay.moving = lambda: c.interacting
        self.player = Player(m, ready=c.is_ready)
        self.compare_bar = CompareBar(m, self)
        self.timeline = TimelineBar(m, self.player, self)
        central = QWidget(self)
        vbox = QVBoxLayout(central)
        vbox.setContentsMargins(0, 0, 0, 0)
        vbox.setSpacing(0)
        vbox.addWidget(self.view_area, 1)
        vbox.addWidget(self.timeline)
        self.setCentralWidget(central)

        self.toolbar = QToolBar(self)
        self.toolbar.setObjectName("compare-toolbar")
        self.toolbar.setMovable(False)
        self.toolbar.addWidget(self.compare_bar)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)

        self.site_list = SiteList(m, self)
        self.sites_dock = QDockWidget(self)
        self.sites_dock.setObjectName("sites-dock")
        self.sites_dock.setWidget(self.site_list)
        self.sites_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.sites_dock)

        self.info = InfoPanel(m, self)
        self.heatmap = HeatmapPanel(m, self)
        self.regions = RegionsList(m, self)
        change_tab = QWidget(self)
        change_layout = QVBoxLayout(change_tab)
        change_layout.setContentsMargins(0, 0, 0, 0)
        change_layout.addWidget(self.heatmap)
        self.regions_title = QLabel(change_tab)
        change_layout.addWidget(self.regions_title)
        change_layout.addWidget(self.regions, 1)
        self.measure = MeasurePanel(m, self)
        self.viewpoints = ViewpointPanel(m, self)
        self.tabs = QTabWidget(self)
        self.tabs.setUsesScrollButtons(False)  # every tab title whole, in both languages
        for w in (self.info, change_tab, self.measure, self.viewpoints):
            self.tabs.addTab(w, "")
        self.panel_dock = QDockWidget(self)
        self.panel_dock.setObjectName("panel-dock")
        self.panel_dock.setWidget(self.tabs)
        self.panel_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.panel_dock)
        self.resizeDocks([self.sites_dock, self.panel_dock], [190, 330], Qt.Orientation.Horizontal)
        self.stories_dock = install_stories(self, self.panel_dock)

        self.footer = QLabel(self)
        self.footer.setObjectName("licence-footer")
        self.footer.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 100)
        self.progress.setFixedWidth(160)
        self.progress_text = QLabel(self)
        self.cancel = QPushButton(self)
        self.cancel.clicked.connect(c.loader.cancel_all)
        self.statusBar().addPermanentWidget(self.footer, 1)
        for w in (self.progress_text, self.progress, self.cancel):
            self.statusBar().addPermanentWidget(w)
            w.hide()

        self._busy_timer = QTimer(self)
        self._busy_timer.setSingleShot(True)
        self._busy_timer.timeout.connect(self._show_busy)
        self._progress_shown = 0.0
        self._make_actions()
        self._fly_keys: set[int] = set()
        self._fly_last = 0.0
        self._fly_timer = QTimer(self)
        self._fly_timer.setInterval(33)
        self._fly_timer.timeout.connect(self._fly_step)

        # wiring
        self.site_list.site_activated.connect(self.open_site)
        self.regions.region_activated.connect(c.fly_to)
        self.viewpoints.save_requested.connect(c.save_viewpoint)
        c.thumbnail.connect(self.site_list.set_thumbnail)
        c.scene_changed.connect(self.annotations.refresh)
        c.scene_changed.connect(self.annotations_b.refresh)
        c.loader.busy.connect(self._busy)
        c.loader.progress.connect(self._progress)
        for view in (self.view_area.primary, self.view_area.secondary):
            view.clicked.connect(lambda pos, v=view: self._clicked(v, pos))
            view.key.connect(self._view_key)
        m.events.message.connect(self.view_area.banner.show_message)
        m.events.site.connect(self._update_footer)
        m.events.language.connect(self._update_footer)
        m.events.language.connect(self._draw_measurement)
        m.events.measure.connect(self._draw_measurement)
        m.events.compare.connect(self._compare_changed)
        m.events.fly.connect(self._fly_changed)
        m.events.change.connect(self._change_arrived)
        self.resize(1400, 860)
        self.retranslate()
        self.open_vr = open_vr.install(self)

    # ------------------------------------------------------------------ actions
    def _make_actions(self) -> None:
        m, c = self.model, self.controller

        def action(key: str, slot: Callable[[], object], shortcut: str | QKeySequence = "",
                   checkable: bool = False) -> QAction:
            a = QAction(self)
            a.setObjectName(key)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            a.setCheckable(checkable)
            a.triggered.connect(lambda _=False: slot())
            self.addAction(a)
            return a

        self.actions_by_name: dict[str, QAction] = {}
        A = self.actions_by_name  # noqa: N806 - short alias
        A["open"] = action("open", self._choose_archive, QKeySequence.StandardKey.Open)
        A["screenshot"] = action("screenshot", self._save_screenshot, "Ctrl+E")
        A["export"] = action("export", self.open_export_dialog, "Ctrl+Shift+E")
        A["quit"] = action("quit", self.close, QKeySequence.StandardKey.Quit)
        A["reset"] = action("reset", c.reset_view, "R")
        A["fly"] = action("fly", lambda: m.set_fly_mode(not m.fly_mode), "G", checkable=True)
        A["help"] = action("help", self.view_area.help.toggle, "F1")
        A["fullscreen"] = action("fullscreen", self._toggle_fullscreen, "F11")
        A["larger-text"] = action("larger-text", lambda: self.set_larger_text(
            A["larger-text"].isChecked()), "Ctrl++", checkable=True)
        A["prev"] = action("prev", lambda: m.step_epoch(-1), "Left")
        A["next"] = action("next", lambda: m.step_epoch(+1), "Right")
        A["play"] = action("play", lambda: self.timeline.set_playing(not self.player.playing),
                           "Space")
        for i, mode in enumerate(COMPARE_MODES, 1):
            A[f"mode-{mode.value}"] = action(f"mode-{mode.value}",
                                             lambda md=mode: m.set_compare_mode(md), str(i))
        A["distance"] = action("distance", lambda: m.set_measure_mode(MeasureMode.DISTANCE),
                               "Ctrl+M")
        A["height"] = action("height", lambda: m.set_measure_mode(MeasureMode.HEIGHT), "Ctrl+H")
        A["area"] = action("area", lambda: m.set_measure_mode(MeasureMode.AREA), "Ctrl+P")
        A["escape"] = action("escape", self._escape, "Esc")
        A["save-view"] = action("save-view", self._save_view_shortcut, "Ctrl+S")
        A["search"] = action("search", self._focus_search, "Ctrl+F")
        A["toggle-language"] = action("toggle-language", lambda: self.set_language(
            "en" if m.language == "de" else "de"), "Ctrl+L")
        self.language_group = QActionGroup(self)
        for lang, label in (("de", "Deutsch"), ("en", "English")):
            a = action(f"lang-{lang}", lambda lg=lang: self.set_language(lg), checkable=True)
            a.setText(label)
            a.setChecked(lang == m.language)
            self.language_group.addAction(a)
            A[f"lang-{lang}"] = a

        bar = self.menuBar()
        self.menus = {name: bar.addMenu("") for name in ("file", "view", "compare", "measure",
                                                         "language", "help")}
        for name in ("open", "screenshot", "export", "quit"):
            self.menus["file"].addAction(A[name])
        for name in ("reset", "fly", "fullscreen", "larger-text", "prev", "next", "play"):
            self.menus["view"].addAction(A[name])
        self.menus["view"].addAction(self.stories_dock.toggleViewAction())
        for mode in COMPARE_MODES:
            self.menus["compare"].addAction(A[f"mode-{mode.value}"])
        for name in ("distance", "height", "area"):
            self.menus["measure"].addAction(A[name])
        self.menus["language"].addAction(A["lang-de"])
        self.menus["language"].addAction(A["lang-en"])
        self.menus["help"].addAction(A["help"])

    def retranslate(self) -> None:
        A = self.actions_by_name  # noqa: N806
        self.setWindowTitle(self.tr("stadtzeit – places over time"))
        texts = {
            "open": self.tr("&Open archive…"), "screenshot": self.tr("Save &screenshot…"),
            "export": self.tr("&Export…"),
            "quit": self.tr("&Quit"), "reset": self.tr("&Reset view"),
            "fly": self.tr("&Fly mode (WASD)"), "help": self.tr("Keyboard &shortcuts"),
            "fullscreen": self.tr("F&ull screen"), "larger-text": self.tr("&Larger text"),
            "prev": self.tr("&Previous epoch"),
            "next": self.tr("&Next epoch"), "play": self.tr("Play / &pause"),
            "mode-single": self.tr("&Single epoch"), "mode-side": self.tr("Side &by side"),
            "mode-overlay": self.tr("&Overlay"), "mode-swipe": self.tr("S&wipe"),
            "mode-heatmap": self.tr("&Change heatmap"), "distance": self.tr("&Distance"),
            "height": self.tr("&Height difference"), "area": self.tr("&Area"),
            "escape": self.tr("Cancel"), "save-view": self.tr("Save view"),
            "search": self.tr("Search sites"), "toggle-language": self.tr("Switch language"),
        }
        for name, text in texts.items():
            A[name].setText(text)
        titles = {"file": self.tr("&File"), "view": self.tr("&View"),
                  "compare": self.tr("&Compare"), "measure": self.tr("&Measure"),
                  "language": self.tr("&Language"), "help": self.tr("&Help")}
        for name, menu in self.menus.items():
            menu.setTitle(titles[name])
        self.sites_dock.setWindowTitle(self.tr("Sites"))
        self.panel_dock.setWindowTitle(self.tr("Details"))
        for i, text in enumerate((self.tr("Information"), self.tr("Change"),
                                  self.tr("Measure"), self.tr("Views"))):
            self.tabs.setTabText(i, text)
        self.regions_title.setText("<b>" + self.tr("Changed regions") + "</b>")
        self.cancel.setText(self.tr("Cancel"))
        self.view_area.help.set_entries(self.tr("Keyboard shortcuts"), self.shortcut_help(),
                                        self.tr("Click anywhere or press F1 to close"))
        self.annotations.retranslate()
        self.annotations_b.retranslate()
        self._update_footer()

    def shortcut_help(self) -> list[tuple[str, str]]:
        return [
            (self.tr("Left drag"), self.tr("Orbit")),
            (self.tr("Right drag / wheel"), self.tr("Zoom")),
            (self.tr("Middle drag / Shift+left drag"), self.tr("Pan")),
            (self.tr("Click"), self.tr("Pick a point when measuring; open a hotspot")),
            (self.tr("Pinch / two-finger turn / drag"), self.tr("Zoom / turn / move (touch)")),
            ("R", self.tr("Reset view")),
            ("G", self.tr("Fly mode on/off")),
            ("W A S D", self.tr("Fly forward, left, back, right")),
            ("Q / E", self.tr("Fly down / up (Shift: faster)")),
            ("J / L, I / K", self.tr("Fly mode: turn left / right, look up / down")),
            (self.tr("Enter"), self.tr("Measuring: pick the point at the centre of the view")),
            ("Tab / Shift+Tab", self.tr("Move between the controls and the 3D view")),
            ("← / →", self.tr("Previous / next epoch")),
            (self.tr("Space"), self.tr("Play through the epochs")),
            ("1 … 5", self.tr("Single, side by side, overlay, swipe, change heatmap")),
            ("Ctrl+M / Ctrl+H / Ctrl+P", self.tr("Measure distance / height / area")),
            ("Esc", self.tr("Stop measuring, leave fly mode, close help, leave the 3D view")),
            ("Ctrl+S", self.tr("Save the current view in the archive")),
            ("Ctrl+F", self.tr("Search sites")),
            ("Ctrl+L", self.tr("Switch language Deutsch / English")),
            ("Ctrl+E", self.tr("Save a screenshot")),
            ("F11", self.tr("Full screen")),
            ("F1", self.tr("This help")),
        ]

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange and hasattr(self, "actions_by_name"):
            self.retranslate()  # (not while __init__ is still building the window)
        super().changeEvent(event)

    # ------------------------------------------------------------------ operations
    def open_archive(self, path: Path | str) -> None:
        self.controller.open_archive(Path(path))

    def open_site(self, site_id: str, epoch: str | None = None) -> None:
        try:
            self.model.open_site(site_id)
        except KeyError:
            self.model.message("error", self.tr("There is no site “%1” in this archive.")
                               .replace("%1", site_id))
            return
        if epoch:
            if epoch in self.model.site.epoch_ids:
                self.model.set_epoch(epoch)
            else:
                self.model.message("error", self.tr("Site %1 has no epoch %2.")
                                   .replace("%1", site_id).replace("%2", epoch))

    def set_language(self, language: str) -> None:
        self.translations.set_language(language)  # Qt sends LanguageChange to every widget
        self.model.set_language(language)
        self.actions_by_name[f"lang-{language}"].setChecked(True)

    def _update_footer(self) -> None:
        site = self.model.site
        if site is None:
            self.footer.setText(self.tr("No site open"))
            return
        name = site.name.get(self.model.language)
        licence = site.licence or self.tr("licence not stated")
        attribution = site.attribution or self.tr("attribution not stated")
        licence_label, attribution_label = self.tr("Licence"), self.tr("Attribution")
        self.footer.setText(f"{name}  ·  {licence_label}: {licence}  ·  "
                            f"{attribution_label}: {attribution}")

    def _busy(self, busy: bool) -> None:
        # each repaint of a window holding GL views is a full composition (~50-100 ms on
        # llvmpipe): show progress only for work that lasts, and update it sparingly
        if busy and not self.progress.isVisible():
            self._busy_timer.start(400)
        elif not busy:
            self._busy_timer.stop()
            for w in (self.progress, self.progress_text, self.cancel):
                w.hide()
            self.progress.setValue(0)

    def _show_busy(self) -> None:
        if not self.controller.loader.idle:
            for w in (self.progress, self.progress_text, self.cancel):
                w.show()

    def _progress(self, fraction: float, text: str) -> None:
        now = time.perf_counter()
        if not self.progress.isVisible() or now - self._progress_shown < 0.3:
            return
        self._progress_shown = now
        self.progress.setValue(round(fraction * 100))
        self.progress_text.setText(self.tr("Loading %1").replace("%1", Path(text).name)
                                   if text else self.tr("Loading…"))

    def _clicked(self, view: SceneView, pos: QPoint) -> None:
        m = self.model
        if m.measurement.mode != MeasureMode.OFF:
            point = view.pick(pos)
            if point is not None:
                m.add_measure_point(point)
            return
        overlay = self.annotations if view is self.view_area.primary else self.annotations_b
        hit = overlay.hit(pos)
        if hit is not None:
            m.select_annotation(hit)

    def _draw_measurement(self) -> None:
        meas = self.model.measurement
        view = self.view_area.primary
        caption = self.view_area.measure_caption
        text = self.measure.headline() if meas.points else ""
        caption.setText(text)
        caption.adjustSize()
        caption.move(max(0, (view.width() - caption.width()) // 2), 10)
        caption.setVisible(bool(text))
        caption.raise_()
        if not meas.points:
            view.set_overlay_actor("measure-points", None)
            view.set_overlay_actor("measure-line", None)
            return
        pts, line = marker_geometry(meas.array, closed=meas.mode == MeasureMode.AREA)
        view.set_overlay_actor("measure-points", pts, color=MEASURE_COLOUR, point_size=12,
                               spheres=True)
        view.set_overlay_actor("measure-line", line, color=MEASURE_COLOUR, line_width=3)
        self.tabs.setCurrentWidget(self.measure)

    def _compare_changed(self) -> None:
        if self.model.compare_mode == CompareMode.HEATMAP:
            self.tabs.setCurrentIndex(1)
        if self.player.playing and self.model.compare_mode != CompareMode.SINGLE:
            self.timeline.set_playing(False)

    def _change_arrived(self) -> None:
        banner = self.view_area.banner
        if self.model.change is not None and banner.isVisible() and banner.level == "info":
            banner.hide()  # "computing it now" is done

    def measure_at_centre(self) -> bool:
        """Keyboard measuring: the surface point under the centre of the view (the "+")."""
        view = self.view_area.primary
        centre = QPoint(view.plotter.width() // 2, view.plotter.height() // 2)
        point = view.pick(centre)
        if point is None:
            self.model.message("info", self.tr(
                "No surface under the centre of the view: turn or move the view first."))
            return False
        self.model.add_measure_point(point)
        return True

    def _escape(self) -> None:
        views = (self.view_area.primary.plotter, self.view_area.secondary.plotter)
        if self.view_area.help.isVisible():
            self.view_area.help.hide()
        elif self.model.fly_mode:
            self.model.set_fly_mode(False)
        elif self.model.measurement.mode != MeasureMode.OFF:
            self.model.set_measure_mode(MeasureMode.OFF)
        elif self.model.selected_annotation:
            self.model.select_annotation(None)
        elif self.isFullScreen():
            self.showNormal()
        elif any(v.hasFocus() for v in views):
            self.timeline.timeline.setFocus(Qt.FocusReason.OtherFocusReason)  # leave the 3D

    def _save_view_shortcut(self) -> None:
        self.tabs.setCurrentWidget(self.viewpoints)
        self.viewpoints.ask_and_save()

    def _focus_search(self) -> None:
        self.site_list.search.setFocus()
        self.site_list.search.selectAll()

    def set_larger_text(self, on: bool) -> None:
        """Letters ×1.3 in the whole interface (for reading at a distance or low vision)."""
        from PySide6.QtWidgets import QApplication

        from viewer.desktop import set_text_size

        set_text_size(QApplication.instance(), on)
        self.actions_by_name["larger-text"].setChecked(on)

    def _toggle_fullscreen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def _choose_archive(self) -> None:
        path = QFileDialog.getExistingDirectory(self, self.tr("Open archive"))
        if path:
            self.open_archive(path)

    def open_export_dialog(self):
        """File → Export…: the exports of `stadtzeit export`, from the current view."""
        from viewer.desktop.export_dialog import ExportDialog

        store = self.controller.store
        if self.model.site is None or store is None:
            self.model.message("info", self.tr("Open a site first, then export it."))
            return None
        dialog = ExportDialog(self.model, store.path, self)
        dialog.show()
        return dialog

    def _save_screenshot(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Save screenshot"), "stadtzeit.png",
                                              self.tr("PNG images (*.png)"))
        if path:
            self.save_screenshot(path)

    def save_screenshot(self, path: Path | str) -> bool:
        for view in (self.view_area.primary, self.view_area.secondary):
            view.render_now()
            view.plotter.finish()  # the frames drawn and shown before the grab
        return self.grab().save(str(path))

    # ------------------------------------------------------------------ fly mode
    def _fly_changed(self) -> None:
        on = self.model.fly_mode
        self.actions_by_name["fly"].setChecked(on)
        self._fly_keys.clear()
        if on:
            self.view_area.primary.plotter.setFocus()
            self._fly_timer.start()
            self.model.message("info", self.tr(
                "Fly mode: W A S D to move, Q / E down / up, Shift faster, Esc to leave."))
        else:
            self._fly_timer.stop()

    def _view_key(self, event: QKeyEvent) -> None:
        key = event.key()
        pressed = event.type() == QEvent.Type.KeyPress
        if pressed and self.model.fly_mode and key in FLY_TURN and self.model.camera:
            self.controller.begin_interaction()
            self.model.set_camera(self.model.camera.turn(*FLY_TURN[key]))
            return
        if pressed and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and \
                self.model.measurement.mode != MeasureMode.OFF:
            self.measure_at_centre()
            return
        if self.model.fly_mode and key in FLY_KEYS and not event.isAutoRepeat():
            if event.type() == QEvent.Type.KeyPress:
                if not self._fly_keys:
                    self._fly_last = time.perf_counter()
                self._fly_keys.add(key)
            else:
                self._fly_keys.discard(key)
            self._fly_shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        self._view_key(event)
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        self._view_key(event)
        super().keyReleaseEvent(event)

    def _fly_step(self) -> None:
        cam = self.model.camera
        if not self._fly_keys or cam is None:
            return
        mesh = self.controller.mesh(self.model.epoch) if self.model.epoch else None
        size = 100.0
        if mesh is not None:
            b = mesh.bounds
            size = max(b[1] - b[0], b[3] - b[2], 1.0)
        speed = size * 0.15 * (4 if getattr(self, "_fly_shift", False) else 1)  # m/s
        # by elapsed time, not ticks: a slow frame must not slow the flight down
        now = time.perf_counter()
        step = speed * min(now - self._fly_last, 0.25)
        self._fly_last = now
        f = sum(FLY_KEYS[k][0] for k in self._fly_keys)
        r = sum(FLY_KEYS[k][1] for k in self._fly_keys)
        u = sum(FLY_KEYS[k][2] for k in self._fly_keys)
        self.controller.begin_interaction()
        self.model.set_camera(cam.fly(f * step, r * step, u * step))

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        self.player.play(False)
        self.controller.loader.cancel_all()
        self.controller.loader.wait(5000)
        for view in (self.view_area.primary, self.view_area.secondary):
            view.plotter.close()
        super().closeEvent(event)

