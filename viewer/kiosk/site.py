"""A site on the kiosk: the 3D view fills the screen; over it a Home button and the site's
name, a large timeline of its epochs, the modes (explore, before/after, what changed?,
stories), the before/after swipe handle and the change legend with numbered hotspots.

Every control is a child of the kiosk window placed over the view, so the view keeps every
touch that lands between them (one finger orbits, two fingers pinch and pan).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QRect, Qt, Signal
from PySide6.QtGui import QColor, QLinearGradient, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from viewer.kiosk.style import ACCENT, ACCENT_INK, Metrics
from viewer.model.change_display import legend_ends, region_caption
from viewer.model.scene import diverging_colormap
from viewer.model.state import CompareMode, Region, ViewerModel
from viewer.render.labels import DepthProbe, LabelItem, PlacedLabel, place_labels

MODES = (("explore", CompareMode.SINGLE), ("swipe", CompareMode.SWIPE),
         ("changes", CompareMode.HEATMAP))
MAX_HOTSPOTS = 6
MIN_SHARE = 0.1             # hotspots for regions of at least this share of the largest volume


def epoch_label(model: ViewerModel, epoch_id: str) -> str:
    """The year, or year and month when two epochs share a year."""
    site = model.site
    info = site.epoch(epoch_id) if site else None
    if info is None or info.date is None:
        return epoch_id
    same_year = [e for e in site.epochs if e.date and e.date.year == info.date.year]
    return f"{info.date.month:02d}/{info.date.year}" if len(same_year) > 1 else \
        str(info.date.year)


class Panel(QFrame):
    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("panel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)


class TopBar(Panel):
    home = Signal()

    def __init__(self, model: ViewerModel, m: Metrics, parent: QWidget):
        super().__init__(parent)
        self.model = model
        self.home_button = QPushButton(self)
        self.home_button.setObjectName("home-button")
        self.home_button.clicked.connect(self.home.emit)
        self.title = QLabel(self)
        self.title.setObjectName("title")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(m.px(12), m.px(12), m.gap, m.px(12))
        layout.setSpacing(m.gap)
        layout.addWidget(self.home_button)
        layout.addWidget(self.title, 1)
        model.events.site.connect(self.retranslate)
        model.events.language.connect(self.retranslate)
        self.retranslate()

    def retranslate(self) -> None:
        self.home_button.setText("⌂  " + self.tr("Home"))
        site = self.model.site
        self.title.setText(site.name.get(self.model.language) if site else "")

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)


class ModeBar(Panel):
    """Explore, Before / after, What changed?, Stories: one is always chosen."""

    chosen = Signal(str)

    def __init__(self, model: ViewerModel, m: Metrics, parent: QWidget):
        super().__init__(parent)
        self.model = model
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: dict[str, QPushButton] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(m.px(12), m.px(12), m.px(12), m.px(12))
        layout.setSpacing(m.px(12))
        for name in ("explore", "swipe", "changes", "stories"):
            b = QPushButton(self)
            b.setCheckable(True)
            b.setObjectName(f"mode-{name}")
            b.clicked.connect(lambda _=False, n=name: self.chosen.emit(n))
            self.group.addButton(b)
            layout.addWidget(b)
            self.buttons[name] = b
        self.retranslate()

    def retranslate(self) -> None:
        texts = {"explore": self.tr("Explore"), "swipe": self.tr("Before / after"),
                 "changes": self.tr("What changed?"), "stories": self.tr("Story")}
        for name, b in self.buttons.items():
            b.setText(texts[name])

    def set_current(self, name: str) -> None:
        if name in self.buttons:
            self.buttons[name].setChecked(True)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)


class Timeline(Panel):
    """One big button per epoch; the shown one (B when comparing) is highlighted."""

    picked = Signal(str)

    def __init__(self, model: ViewerModel, m: Metrics, parent: QWidget):
        super().__init__(parent)
        self.model, self.metrics = model, m
        self.caption = QLabel(self)
        self.caption.setObjectName("small")
        self.row = QHBoxLayout()
        self.row.setSpacing(m.px(16))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(m.gap, m.px(12), m.gap, m.px(16))
        layout.setSpacing(m.px(8))
        layout.addWidget(self.caption)
        layout.addLayout(self.row)
        self.buttons: dict[str, QPushButton] = {}
        self.broken: set[str] = set()
        model.events.site.connect(self.rebuild)
        model.events.epoch.connect(self.sync)
        model.events.compare.connect(self.sync)
        model.events.language.connect(self.sync)

    def rebuild(self) -> None:
        for b in self.buttons.values():
            b.deleteLater()
        self.buttons = {}
        self.broken = set()
        site = self.model.site
        for e in site.epochs if site else []:
            b = QPushButton(epoch_label(self.model, e.id), self)
            b.setCheckable(True)
            b.setObjectName(f"epoch-{e.id}")
            b.setMinimumWidth(self.metrics.px(180))
            b.clicked.connect(lambda _=False, eid=e.id: self.picked.emit(eid))
            self.row.addWidget(b)
            self.buttons[e.id] = b
        self.sync()

    def mark_broken(self, epoch: str) -> None:
        self.broken.add(epoch)
        self.sync()

    def sync(self) -> None:
        m = self.model
        comparing = m.compare_mode != CompareMode.SINGLE
        for eid, b in self.buttons.items():
            b.setChecked(eid == m.epoch)
            label = epoch_label(m, eid)
            if comparing and eid == m.epoch_a:
                label = self.tr("%1 (before)").replace("%1", label)
            if eid in self.broken:
                label += "  ⚠"
            b.setText(label)
        self.caption.setText(self.tr("Tap a year") if not comparing else
                             self.tr("Tap a year to compare it with the one before"))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.sync()
        super().changeEvent(event)


class SwipeHandle(QWidget):
    """The before/after divider: a line with a round grip a finger can drag (touch arrives as
    synthesized mouse events, so a mouse works the same)."""

    def __init__(self, model: ViewerModel, m: Metrics, parent: QWidget):
        super().__init__(parent)
        self.model, self.metrics = model, m
        self.setObjectName("swipe-handle")
        self.setCursor(Qt.CursorShape.SizeHorCursor)
        self._drag_dx: float | None = None
        model.events.compare.connect(self.place)

    def area(self) -> QRect:
        """The part of the parent it moves across (set by the window)."""
        return self._area if hasattr(self, "_area") else self.parentWidget().rect()

    def set_area(self, rect: QRect) -> None:
        self._area = rect
        self.place()

    def place(self) -> None:
        a = self.area()
        w = self.metrics.target
        x = a.left() + round(self.model.swipe_position * a.width())
        self.setGeometry(x - w // 2, a.top(), w, a.height())

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        cx = self.width() / 2
        p.setPen(QPen(QColor("white"), max(3, self.metrics.px(4))))
        p.drawLine(round(cx), 0, round(cx), self.height())
        r = self.metrics.target / 2 - 2
        cy = self.height() / 2
        p.setBrush(QColor(ACCENT))
        p.setPen(QPen(QColor(ACCENT_INK), 2))
        p.drawEllipse(QRect(round(cx - r), round(cy - r), round(2 * r), round(2 * r)))
        p.setPen(QColor(ACCENT_INK))
        f = p.font()
        f.setPixelSize(self.metrics.body)
        f.setBold(True)
        p.setFont(f)
        p.drawText(self.rect().adjusted(0, 0, 0, 0), Qt.AlignmentFlag.AlignCenter, "◀ ▶")

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        self._drag_dx = event.position().x() - self.width() / 2
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if self._drag_dx is None:
            return
        a = self.area()
        x = self.mapToParent(event.position().toPoint()).x() - self._drag_dx
        self.model.set_swipe_position((x - a.left()) / max(a.width(), 1))
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        self._drag_dx = None
        event.accept()


class ColourBar(QWidget):
    """The heatmap's colours from -limit to +limit, drawn with the renderer's own mapping."""

    def __init__(self, m: Metrics, parent: QWidget):
        super().__init__(parent)
        self.setFixedHeight(m.px(36))
        self.stops = [QColor(*map(int, c)) for c in diverging_colormap(9)]

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        g = QLinearGradient(0, 0, self.width(), 0)
        for i, c in enumerate(self.stops):
            g.setColorAt(i / (len(self.stops) - 1), c)
        p.fillRect(self.rect(), g)


class ChangeCard(Panel):
    """'What changed?': the legend in plain words and the numbered regions' captions."""

    def __init__(self, model: ViewerModel, m: Metrics, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("legend")
        self.model, self.metrics = model, m
        self.heading = QLabel(self)
        self.heading.setObjectName("title")
        self.heading.setWordWrap(True)
        self.bar = ColourBar(m, self)
        self.low, self.high = QLabel(self), QLabel(self)
        for label in (self.low, self.high):
            label.setObjectName("small")
        self.high.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.words = QLabel(self)
        self.words.setWordWrap(True)
        self.regions = QLabel(self)
        self.regions.setWordWrap(True)
        self.regions.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(m.gap, m.gap, m.gap, m.gap)
        layout.setSpacing(m.px(12))
        layout.addWidget(self.heading)
        layout.addWidget(self.low)
        layout.addWidget(self.bar)
        layout.addWidget(self.high)
        layout.addWidget(self.words)
        layout.addWidget(self.regions)
        for signal in (model.events.change, model.events.language, model.events.epoch):
            signal.connect(self.refresh)
        self.refresh()

    def shown_regions(self) -> list[Region]:
        ch = self.model.change
        if ch is None:
            return []
        regions = [r for r in ch.regions if r.centroid is not None]
        regions.sort(key=lambda r: -abs(r.volume or 0.0))
        # the few that matter: small specks next to a building would crowd the view
        largest = abs(regions[0].volume or 0.0) if regions else 0.0
        regions = [r for r in regions if abs(r.volume or 0.0) >= MIN_SHARE * largest]
        return regions[:MAX_HOTSPOTS]

    def refresh(self) -> None:
        m, lang = self.model, self.model.language
        self.heading.setText(self.tr("What changed?"))
        ch = m.change
        if ch is None:
            self.low.setText("")
            self.high.setText("")
            self.words.setText(self.tr("Looking for changes…"))
            self.regions.setText("")
            return
        scale = ch.scale()
        low, high = legend_ends(scale.limit, lang)
        self.low.setText(low)
        self.high.setText(high)
        a, b = epoch_label(m, ch.a), epoch_label(m, ch.b)
        self.words.setText(self.tr("Red: higher or new since %1. Blue: lower or gone. "
                                   "Grey: no real change.").replace("%1", a))
        lines = []
        for i, r in enumerate(self.shown_regions(), 1):
            caption = region_caption(r.volume, r.sign, a, b, None, lang, partial=r.partial)
            lines.append(f"<b>{i}</b>&nbsp;&nbsp;{caption}")
        self.regions.setText("<br>".join(lines) if lines else
                             self.tr("No larger changed areas between %1 and %2.")
                             .replace("%1", a).replace("%2", b))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.refresh()
        super().changeEvent(event)


class Hotspots:
    """Numbered round badges next to the changed regions, following the 3D view. Placement is
    `viewer.render.labels`': a badge whose region a drawn surface hides is not shown, badges
    never overlap each other or the panels over the view."""

    def __init__(self, parent: QWidget, view, m: Metrics,
                 regions: Callable[[], list[Region]], origin: Callable[[], tuple],
                 on_tap: Callable[[Region], None]):
        self.parent, self.view, self.metrics = parent, view, m
        self.regions, self.origin, self.on_tap = regions, origin, on_tap
        self.avoid: Callable[[], list[QWidget]] = lambda: []
        self.surface: Callable[[], object] = lambda: None   # the mesh now shown (MeshData)
        self._anchors: tuple[object, list] = (None, [])
        self.badges: list[QPushButton] = []
        self.visible = False
        self.placed: list[PlacedLabel] = []
        self.probe = DepthProbe(view.renderer)

    def set_visible(self, on: bool) -> None:
        self.visible = on
        self.update()

    def _anchor(self, r: Region) -> tuple[float, float, float]:
        """On top of the surface now shown at the region's centre: a centroid lies inside an
        added volume (or in the air above a removed one), where a surface would hide it."""
        c = np.asarray(r.centroid, np.float64)
        if np.abs(c[:2]).max() > 1e5:            # stored in CRS coordinates
            c = c - np.asarray(self.origin())
        mesh = self.surface()
        if mesh is not None:
            v = mesh.vertices
            radius = max(r.size / 4, 2.0)
            near = (np.abs(v[:, 0] - c[0]) < radius) & (np.abs(v[:, 1] - c[1]) < radius)
            if near.any():
                c[2] = float(v[near, 2].max()) + 0.5
        return tuple(float(x) for x in c)

    def update(self, *_: object) -> None:
        self.view.when_idle(self._place, "hotspots")  # reads the VTK camera: not mid-frame

    def _place(self) -> None:
        regions = self.regions() if self.visible else []
        size = self.metrics.px(84)               # a touch target: >= 80 px at 1080p
        while len(self.badges) < len(regions):
            b = QPushButton(self.parent)
            b.setObjectName("hotspot")
            b.setFixedSize(size, size)
            b.setStyleSheet(f"min-width: {size}px; min-height: {size}px; padding: 0;"
                            f"border-radius: {size // 2}px; background: {ACCENT};"
                            f"color: {ACCENT_INK}; font-weight: 800;")
            i = len(self.badges)
            b.clicked.connect(lambda _=False, k=i: self._tap(k))
            self.badges.append(b)
        key = (id(self.surface()), tuple(id(r) for r in regions))
        if self._anchors[0] != key:              # once per change and mesh, not per frame
            self._anchors = (key, [self._anchor(r) for r in regions])
        anchors = self._anchors[1]
        self.probe.watch(anchors)
        origin = self.view.mapTo(self.parent, QPoint(0, 0))
        reserved = []
        for w in self.avoid():
            if w.isVisible():
                g = w.geometry().translated(-origin)
                reserved.append((g.x(), g.y(), g.width(), g.height()))
        items = [LabelItem(str(i), a, (size, size), priority=-i)
                 for i, a in enumerate(anchors)]
        self.placed = place_labels(
            self.view.renderer, items, (self.view.width(), self.view.height()),
            occlusion=self.probe, pixel_ratio=self.view.plotter.devicePixelRatioF(),
            reserved=reserved) if items else []
        for i, b in enumerate(self.badges):
            p = self.placed[i] if i < len(self.placed) else None
            if p is None or not p.visible:
                b.hide()
                continue
            x, y, _w, _h = p.rect
            b.setText(str(i + 1))
            b.move(round(x) + origin.x(), round(y) + origin.y())
            b.show()
            b.raise_()

    def _tap(self, index: int) -> None:
        regions = self.regions()
        if index < len(regions):
            self.on_tap(regions[index])


